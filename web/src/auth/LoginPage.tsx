/**
 * Sign in with a bearer token: the one `hikube up` wrote to DATA_DIR/pki/admin.token, the token of a
 * user's kubeconfig, or the whole kubeconfig pasted or uploaded (its current user's token is taken,
 * and its context's namespace is a candidate for the namespace picker). The token is
 * checked against the API before it is kept.
 */
import {
  ActionGroup,
  Alert,
  Button,
  Form,
  FormGroup,
  FormHelperText,
  HelperText,
  HelperTextItem,
  LoginPage as PfLoginPage,
  TextArea,
} from '@patternfly/react-core';
import { useState, type FormEvent } from 'react';
import { authHeaders } from '../api/client';
import { rememberNamespaceHint } from './access';
import { credentialsFromPaste } from './kubeconfig';
import { signIn } from './session';

export function LoginPage({ reason }: { reason: string | undefined }) {
  const [text, setText] = useState('');
  const [error, setError] = useState<string | undefined>(undefined);
  const [busy, setBusy] = useState(false);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      const { token, namespace } = await credentialsFromPaste(text);
      if (token === undefined || token === '') {
        setError('This kubeconfig has no token for its current user; paste a token instead.');
        return;
      }
      const res = await fetch('/apis/kubevirt.io/v1', { headers: authHeaders(token) });
      if (res.status === 401) setError('The API server rejected this token.');
      else if (!res.ok)
        setError(`The API server answered HTTP ${res.status}; is KubeVirt's API served here?`);
      else {
        rememberNamespaceHint(namespace);
        signIn(token);
      }
    } catch (err) {
      setError(`Cannot read this: ${err instanceof Error ? err.message : String(err)}`);
    } finally {
      setBusy(false);
    }
  };

  return (
    <PfLoginPage
      loginTitle="Log in to Hikube VMs"
      loginSubtitle="Use the token of your kubeconfig"
      textContent="Hikube VMs runs KubeVirt virtual machines. This console talks to the Kubernetes API with your token only: what you can do here, kubectl can do too."
    >
      <Form onSubmit={(e) => void submit(e)} aria-label="Log in">
        {reason !== undefined && <Alert variant="warning" isInline isPlain title={reason} />}
        {error !== undefined && <Alert variant="danger" isInline title={error} data-testid="login-error" />}
        <FormGroup label="Token or kubeconfig" isRequired fieldId="token">
          <TextArea
            id="token"
            name="token"
            value={text}
            onChange={(_e, v) => setText(v)}
            isRequired
            rows={4}
            resizeOrientation="vertical"
            autoComplete="off"
            spellCheck={false}
            validated={error === undefined ? 'default' : 'error'}
          />
          <label className="hk-upload">
            Or upload a kubeconfig file:{' '}
            <input
              id="kubeconfig-file"
              type="file"
              onChange={(e) => {
                const file = e.currentTarget.files?.[0];
                if (file !== undefined) void file.text().then(setText);
              }}
            />
          </label>
          <FormHelperText>
            <HelperText>
              <HelperTextItem>
                <code>hikube up</code> writes it to <code>DATA_DIR/pki/admin.token</code>; a kubeconfig pasted
                whole works too. It is kept in this browser tab only.
              </HelperTextItem>
            </HelperText>
          </FormHelperText>
        </FormGroup>
        <ActionGroup>
          <Button
            type="submit"
            variant="primary"
            isBlock
            isLoading={busy}
            isDisabled={busy || text.trim() === ''}
          >
            Log in
          </Button>
        </ActionGroup>
      </Form>
    </PfLoginPage>
  );
}
