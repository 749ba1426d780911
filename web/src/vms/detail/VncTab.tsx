/**
 * The guest's screen: noVNC over KubeVirt's vnc WebSocket. noVNC takes the WebSocket we open (with
 * the token subprotocol) rather than a URL. A lazy chunk: noVNC loads only when this tab opens.
 */
import { Button, ToolbarItem } from '@patternfly/react-core';
import RFB from '@novnc/novnc';
import { useEffect, useRef, useState } from 'react';
import { openVmiSocket } from '../../api/socket';
import { isRunning, nameOf, namespaceOf, type VmView } from '../selectors';
import { closedReason, NotRunning, StreamToolbar, type StreamState } from './stream';

export default function VncTab({ view }: { view: VmView }) {
  if (!isRunning(view.vmi)) {
    return <NotRunning>Start it: its screen shows here once its guest runs.</NotRunning>;
  }
  return <Screen key={view.vmi?.metadata.uid} namespace={namespaceOf(view.vm)} name={nameOf(view.vm)} />;
}

function Screen({ namespace, name }: { namespace: string; name: string }) {
  const host = useRef<HTMLDivElement>(null);
  const rfb = useRef<RFB | undefined>(undefined);
  const [state, setState] = useState<StreamState>({ kind: 'connecting' });
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
      setState({ kind: 'closed', reason: closedReason('', e.detail.clean) });
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
      <StreamToolbar testid="vnc-state" state={state} onReconnect={() => setAttempt((a) => a + 1)}>
        <ToolbarItem>
          <Button
            variant="secondary"
            isDisabled={state.kind !== 'connected'}
            onClick={() => rfb.current?.sendCtrlAltDel()}
          >
            Send Ctrl+Alt+Del
          </Button>
        </ToolbarItem>
      </StreamToolbar>
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
