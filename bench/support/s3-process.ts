/**
 * The S3 test server (test/support/s3server.ts) in a process of its own, so that serving costs the
 * benchmarked process nothing. Prints its address as one JSON line, then answers one line per
 * command read on stdin: "count" (bytes received), "reset" (zero the count), "stop".
 */
import { createInterface } from 'node:readline';
import { startS3Server } from '../../test/support/s3server.js';

const server = await startS3Server();
const { endpoint, region, bucket, accessKeyId, secretAccessKey } = server;
process.stdout.write(`${JSON.stringify({ endpoint, region, bucket, accessKeyId, secretAccessKey })}\n`);
for await (const line of createInterface({ input: process.stdin })) {
  if (line === 'count') process.stdout.write(`${server.bytesReceived()}\n`);
  else if (line === 'reset') {
    server.resetCount();
    process.stdout.write('ok\n');
  } else if (line === 'stop') break;
}
await server.stop();
process.exit(0);
