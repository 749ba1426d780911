/**
 * `hikube console NAME`: the guest's serial console, like `virtctl console`. On a terminal the
 * keyboard goes raw to the guest and Ctrl+] leaves; with piped input the bytes are sent and the
 * session ends once input is over and the guest has been quiet for `--linger` seconds, so scripts
 * and tests can drive a console.
 */
import { finished } from 'node:stream';
import { parseArgs } from 'node:util';
import { createWebSocketStream, type WebSocket } from 'ws';
import { openVmiStream } from '../client/websocket.js';
import { connectionOptions, loadClient } from './context.js';
import { UsageError } from './errors.js';

/** Ctrl+], as in virtctl and telnet. */
const ESCAPE = 0x1d;

export async function runConsole(args: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { ...connectionOptions, linger: { type: 'string', default: '1' } },
  });
  const [name] = positionals;
  if (name === undefined) throw new UsageError('console needs a VMI name, e.g. `hikube console dev-vm`');
  const linger = Number(values.linger);
  if (!Number.isFinite(linger) || linger < 0)
    throw new UsageError(`--linger takes a number of seconds, not ${JSON.stringify(values.linger)}`);
  const client = loadClient(values);
  const ws = await openVmiStream(client, values.namespace ?? client.namespace, name, 'console');
  process.stderr.write(`Successfully connected to ${name} console. The escape sequence is ^]\n`);
  await attach(ws, process.stdin, process.stdout, linger * 1000);
}

/** Keyboard → guest, guest → screen, until the escape key, the end of input, or the server leaves. */
function attach(
  ws: WebSocket,
  input: NodeJS.ReadStream,
  output: NodeJS.WritableStream,
  lingerMs: number,
): Promise<void> {
  const remote = createWebSocketStream(ws);
  const raw = input.isTTY;
  if (raw) input.setRawMode(true);
  let leaving = false;
  let inputEnded = false;
  let linger: NodeJS.Timeout | undefined;
  let closeCode = 1005;
  let closeReason = '';

  const leave = (): void => {
    leaving = true;
    clearTimeout(linger);
    input.pause();
    if (ws.readyState === ws.OPEN) remote.end(); // flushes what was typed, then closes
  };
  const lingerThenLeave = (): void => {
    clearTimeout(linger);
    linger = setTimeout(leave, lingerMs);
  };
  const onInput = (chunk: Buffer): void => {
    const at = chunk.indexOf(ESCAPE);
    const bytes = at === -1 ? chunk : chunk.subarray(0, at);
    if (bytes.length > 0 && !remote.write(bytes)) {
      input.pause();
      remote.once('drain', () => {
        if (!leaving) input.resume();
      });
    }
    if (at !== -1) leave();
  };
  const onInputEnd = (): void => {
    inputEnded = true;
    lingerThenLeave();
  };

  const onStreamError = (): void => leave(); // a closed terminal or pipe: nothing left to relay
  input.on('data', onInput);
  input.once('end', onInputEnd);
  input.on('error', onStreamError);
  output.on('error', onStreamError);
  remote.on('data', () => {
    if (inputEnded && !leaving) lingerThenLeave();
  });
  remote.pipe(output, { end: false });
  remote.on('error', () => undefined); // the close code below tells what happened
  ws.once('close', (code, reason) => {
    closeCode = code;
    closeReason = reason.toString('utf8');
  });

  return new Promise<void>((resolve, reject) => {
    // Settles once everything the guest printed has been passed on to the screen.
    finished(remote, { writable: false }, () => {
      clearTimeout(linger);
      input.off('data', onInput);
      input.off('end', onInputEnd);
      input.off('error', onStreamError);
      output.off('error', onStreamError);
      input.pause();
      if (raw) input.setRawMode(false);
      if (leaving || closeCode === 1000 || closeCode === 1005) resolve();
      else
        reject(
          new Error(
            `the console connection closed: ${closeCode}${closeReason === '' ? '' : ` ${closeReason}`}`,
          ),
        );
    });
  });
}
