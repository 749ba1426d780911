/**
 * The serial console in the page: xterm.js over KubeVirt's console WebSocket (plain.kubevirt.io,
 * raw bytes in binary frames both ways). A lazy chunk: xterm.js loads only when this tab opens.
 */
import '@xterm/xterm/css/xterm.css';
import { Content, ToolbarItem } from '@patternfly/react-core';
import { FitAddon } from '@xterm/addon-fit';
import { Terminal } from '@xterm/xterm';
import { useEffect, useRef, useState } from 'react';
import { openVmiSocket } from '../../api/socket';
import { isRunning, nameOf, namespaceOf, type VmView } from '../selectors';
import { closedReason, NotRunning, StreamToolbar, type StreamState } from './stream';

export default function ConsoleTab({ view }: { view: VmView }) {
  if (!isRunning(view.vmi)) {
    return <NotRunning>Start it: the serial console connects once its guest runs.</NotRunning>;
  }
  // A new instance (after a restart) is a new console: key on its uid.
  return (
    <SerialConsole key={view.vmi?.metadata.uid} namespace={namespaceOf(view.vm)} name={nameOf(view.vm)} />
  );
}

function SerialConsole({ namespace, name }: { namespace: string; name: string }) {
  const host = useRef<HTMLDivElement>(null);
  const [state, setState] = useState<StreamState>({ kind: 'connecting' });
  const [attempt, setAttempt] = useState(0);
  useEffect(() => {
    const element = host.current;
    if (element === null) return undefined;
    setState({ kind: 'connecting' });
    const term = new Terminal({
      fontFamily: '"Red Hat Mono", "RedHatMono", monospace',
      fontSize: 14,
      cursorBlink: true,
      scrollback: 5000,
      screenReaderMode: false,
      theme: { background: '#151515' },
    });
    const fit = new FitAddon();
    term.loadAddon(fit);
    term.open(element);
    term.textarea?.setAttribute('aria-label', `Serial console of ${name}`);
    fit.fit();
    const ws = openVmiSocket(namespace, name, 'console');
    const encoder = new TextEncoder();
    ws.onopen = () => {
      setState({ kind: 'connected' });
      term.focus();
    };
    ws.onmessage = (e: MessageEvent<ArrayBuffer | string>) =>
      term.write(typeof e.data === 'string' ? e.data : new Uint8Array(e.data));
    ws.onclose = (e) => setState({ kind: 'closed', reason: closedReason(e.reason, e.code !== 1006) });
    const data = term.onData((d) => {
      if (ws.readyState === WebSocket.OPEN) ws.send(encoder.encode(d));
    });
    const binary = term.onBinary((d) => {
      if (ws.readyState === WebSocket.OPEN) ws.send(Uint8Array.from(d, (c) => c.charCodeAt(0)));
    });
    const resize = () => fit.fit();
    window.addEventListener('resize', resize);
    return () => {
      window.removeEventListener('resize', resize);
      data.dispose();
      binary.dispose();
      ws.onclose = null;
      ws.close();
      term.dispose();
    };
  }, [namespace, name, attempt]);
  return (
    <>
      <StreamToolbar testid="console-state" state={state} onReconnect={() => setAttempt((a) => a + 1)}>
        <ToolbarItem>
          <Content component="small">Serial port ttyS0. Press Enter for a prompt.</Content>
        </ToolbarItem>
      </StreamToolbar>
      <div className="hk-terminal" ref={host} data-testid="serial-console" />
    </>
  );
}
