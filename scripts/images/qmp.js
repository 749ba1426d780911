// Sends one command to a QMP socket (or, with --agent, to a QEMU guest agent socket) and prints
// the answer as JSON (an agent that does not answer within 3 s counts as absent). Used by boot-check.sh, which has no other way to speak to a unix socket.
// Usage: node qmp.js [--agent] SOCKET COMMAND [ARGUMENTS_JSON]
import console from 'node:console';
import { createConnection } from 'node:net';
import process from 'node:process';
import { clearTimeout, setTimeout } from 'node:timers';

const args = process.argv.slice(2);
const agent = args[0] === '--agent';
if (agent) args.shift();
const [socketPath, command, argJson] = args;
if (socketPath === undefined || command === undefined) {
  console.error('usage: node qmp.js [--agent] SOCKET COMMAND [ARGUMENTS_JSON]');
  process.exit(2);
}
const request = { execute: command, ...(argJson !== undefined ? { arguments: JSON.parse(argJson) } : {}) };

const sock = createConnection(socketPath);
const timer = setTimeout(
  () => {
    console.error(`no answer to ${command} from ${socketPath}`);
    process.exit(1);
  },
  agent ? 3_000 : 10_000,
);
let buffered = '';
let sent = false;
const send = () => {
  sent = true;
  sock.write(JSON.stringify(request) + '\n');
};
if (agent) sock.on('connect', send);
sock.on('data', (chunk) => {
  buffered += chunk.toString();
  let nl;
  while ((nl = buffered.indexOf('\n')) >= 0) {
    const line = buffered.slice(0, nl).trim();
    buffered = buffered.slice(nl + 1);
    if (line === '') continue;
    const msg = JSON.parse(line);
    if ('QMP' in msg) sock.write('{"execute":"qmp_capabilities"}\n');
    else if ('event' in msg) continue;
    else if (!agent && !sent) send();
    else {
      clearTimeout(timer);
      console.log(JSON.stringify(msg.return ?? msg));
      sock.end();
      process.exit('error' in msg ? 1 : 0);
    }
  }
});
sock.on('error', (err) => {
  console.error(`failed talking to ${socketPath}: ${err.message}`);
  process.exit(1);
});
