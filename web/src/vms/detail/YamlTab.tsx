/**
 * The VM as YAML, editable. Saving PUTs the object back with its resourceVersion and
 * fieldValidation=Strict, so the server's validation speaks for itself: its message and one line per
 * cause. A lazy chunk: CodeMirror loads only when this tab opens.
 */
import { Alert, Button, Flex, FlexItem } from '@patternfly/react-core';
import { yaml as yamlLanguage } from '@codemirror/lang-yaml';
import { basicSetup, EditorView } from 'codemirror';
import { useEffect, useRef, useState } from 'react';
import { parse, stringify } from 'yaml';
import { api, ApiStatusError, causeText, errorMessage } from '../../api/client';
import { resourcePath, VMS } from '../../api/resources';
import type { VirtualMachine } from '../../api/types';
import { nameOf, namespaceOf } from '../selectors';

const toYaml = (vm: VirtualMachine): string => {
  const { managedFields: _managed, ...metadata } = vm.metadata;
  return stringify({ ...vm, metadata });
};

type Outcome = { kind: 'saved' } | { kind: 'error'; title: string; lines: string[] } | undefined;

export default function YamlTab({ vm }: { vm: VirtualMachine }) {
  const host = useRef<HTMLDivElement>(null);
  const editor = useRef<EditorView | undefined>(undefined);
  const [dirty, setDirty] = useState(false);
  const [outcome, setOutcome] = useState<Outcome>(undefined);
  const [busy, setBusy] = useState(false);
  const serverYaml = toYaml(vm);
  const shown = useRef(serverYaml);

  useEffect(() => {
    if (host.current === null) return undefined;
    const view = new EditorView({
      doc: shown.current,
      parent: host.current,
      extensions: [
        basicSetup,
        yamlLanguage(),
        // An explicit tabindex: accessibility checkers count the editable area as focusable then.
        EditorView.contentAttributes.of({ 'aria-label': 'VM YAML', tabindex: '0' }),
        EditorView.updateListener.of((u) => {
          if (u.docChanged) setDirty(u.state.doc.toString() !== shown.current);
        }),
      ],
    });
    editor.current = view;
    return () => view.destroy();
  }, []);

  const load = (text: string) => {
    const view = editor.current;
    if (view === undefined) return;
    shown.current = text;
    view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: text } });
    setDirty(false);
  };
  // Follow the server while the user has not edited.
  useEffect(() => {
    if (!dirty && serverYaml !== shown.current) load(serverYaml);
  }, [serverYaml, dirty]);

  const save = async () => {
    const text = editor.current?.state.doc.toString() ?? '';
    let body: unknown;
    try {
      body = parse(text);
    } catch (err) {
      setOutcome({ kind: 'error', title: 'This is not valid YAML', lines: [errorMessage(err)] });
      return;
    }
    setBusy(true);
    try {
      const saved = await api.replace<VirtualMachine>(resourcePath(VMS, namespaceOf(vm), nameOf(vm)), body, {
        fieldValidation: 'Strict',
      });
      load(toYaml(saved));
      setOutcome({ kind: 'saved' });
    } catch (err) {
      setOutcome(
        err instanceof ApiStatusError
          ? { kind: 'error', title: err.message, lines: err.causes.map(causeText) }
          : { kind: 'error', title: errorMessage(err), lines: [] },
      );
    } finally {
      setBusy(false);
    }
  };

  return (
    <>
      <Flex className="hk-gap-below">
        <FlexItem>
          <Button variant="primary" onClick={() => void save()} isDisabled={!dirty || busy} isLoading={busy}>
            Save
          </Button>
        </FlexItem>
        <FlexItem>
          <Button
            variant="secondary"
            onClick={() => {
              load(serverYaml);
              setOutcome(undefined);
            }}
          >
            Reload
          </Button>
        </FlexItem>
      </Flex>
      {outcome?.kind === 'saved' && (
        <Alert variant="success" isInline title="Saved" data-testid="yaml-saved" />
      )}
      {outcome?.kind === 'error' && (
        <Alert variant="danger" isInline title={outcome.title} data-testid="yaml-error">
          {outcome.lines.length > 0 && (
            <ul>
              {outcome.lines.map((l) => (
                <li key={l}>{l}</li>
              ))}
            </ul>
          )}
        </Alert>
      )}
      {dirty && serverYaml !== shown.current && (
        <Alert
          variant="info"
          isInline
          isPlain
          title="The VM changed on the server since you started editing; saving will be refused. Reload to see it."
        />
      )}
      <div className="hk-yaml" ref={host} data-testid="yaml-editor" />
    </>
  );
}
