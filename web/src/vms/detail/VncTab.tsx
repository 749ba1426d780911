/**
 * The guest's screen: noVNC over KubeVirt's vnc WebSocket. noVNC takes the WebSocket we open (with
 * the token subprotocol) rather than a URL. A lazy chunk: noVNC loads only when this tab opens.
 */
import {
  Button,
  EmptyState,
  EmptyStateBody,
  Label,
  Toolbar,
  ToolbarContent,
  ToolbarItem,
} from '@patternfly/react-core';
import RFB from '@novnc/novnc';
import { useEffect, useRef, useState } from 'react';
import { openVmiSocket } from '../../api/socket';
import { isRunning, nameOf, namespaceOf, type VmView } from '../selectors';

type State = { kind: 'connecting' } | { kind: 'connected' } | { kind: 'closed'; reason: string };

export default function VncTab({ view }: { view: VmView }) {
  if (!isRunning(view.vmi)) {
    return (
      <EmptyState titleText="The VM is not running" headingLevel="h2" variant="sm">
        <EmptyStateBody>Start it: its screen shows here once its guest runs.</EmptyStateBody>
      </EmptyState>
    );
  }
  return <Screen key={view.vmi?.metadata.uid} namespace={namespaceOf(view.vm)} name={nameOf(view.vm)} />;
}

function Screen({ namespace, name }: { namespace: string; name: string }) {
  const host = useRef<HTMLDivElement>(null);
  const rfb = useRef<RFB | undefined>(undefined);
  const [state, setState] = useState<State>({ kind: 'connecting' });
  const [attempt, setAttempt] = useState(0);
  useEffect(() => {
    const element = host.current;
    if (element === null) return undefined;
    setState({ kind: 'connecting' });
    const client = new RFB(element, openVmiSocket(namespace, name, 'vnc'));
    client.scaleViewport = true;
    client.background = '#151515';
    client.focusOnClick = true;
    const connected = () => setState({ kind: 'connected' });
    const disconnected = (e: CustomEvent<{ clean: boolean }>) =>
      setState({
        kind: 'closed',
        reason: e.detail.clean ? 'the guest went away' : 'the connection was refused or lost',
      });
    client.addEventListener('connect', connected);
    client.addEventListener('disconnect', disconnected);
    rfb.current = client;
    return () => {
      client.removeEventListener('connect', connected);
      client.removeEventListener('disconnect', disconnected);
      client.disconnect();
      rfb.current = undefined;
    };
  }, [namespace, name, attempt]);
  return (
    <>
      <Toolbar>
        <ToolbarContent>
          <ToolbarItem>
            {state.kind === 'connected' ? (
              <Label color="green" status="success" data-testid="vnc-state">
                Connected
              </Label>
            ) : state.kind === 'connecting' ? (
              <Label color="blue" data-testid="vnc-state">
                Connecting…
              </Label>
            ) : (
              <Label color="grey" data-testid="vnc-state">
                Disconnected: {state.reason}
              </Label>
            )}
          </ToolbarItem>
          <ToolbarItem>
            <Button
              variant="secondary"
              isDisabled={state.kind !== 'connected'}
              onClick={() => rfb.current?.sendCtrlAltDel()}
            >
              Send Ctrl+Alt+Del
            </Button>
          </ToolbarItem>
          {state.kind === 'closed' && (
            <ToolbarItem>
              <Button variant="secondary" onClick={() => setAttempt((a) => a + 1)}>
                Reconnect
              </Button>
            </ToolbarItem>
          )}
        </ToolbarContent>
      </Toolbar>
      <div
        className="hk-vnc"
        ref={host}
        data-testid="vnc-screen"
        aria-label={`Screen of ${name}`}
        role="application"
      />
    </>
  );
}
