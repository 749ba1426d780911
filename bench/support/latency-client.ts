/**
 * Latency samples of two HTTP targets taken alternately (A, B, A, B…), so that the load of a shared
 * machine hits both sides equally: run inside a fake pod (`ip netns exec NS node latency-client.js`)
 * by bench/network.ts case (c). Each sample is one GET; `close` opens a new TCP connection per
 * sample (the kernel path's DNAT is decided at a connection's first packet), `keepalive` reuses one
 * connection per target. Prints one JSON line: `{ a: ms[], b: ms[] }`.
 * Usage: node latency-client.js URL_A URL_B SAMPLES close|keepalive
 */
import { Agent, get } from 'node:http';

function once(url: string, agent: Agent | false): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const req = get(url, { agent, timeout: 5000 }, (res) => {
      res.resume();
      res.once('end', () => resolve(Number(process.hrtime.bigint() - started) / 1e6));
    });
    req.once('timeout', () => req.destroy(new Error(`${url}: no answer in 5 s`)));
    req.once('error', reject);
  });
}

async function main(): Promise<void> {
  const [a = '', b = '', count = '1000', mode = 'close'] = process.argv.slice(2);
  const keep = mode === 'keepalive';
  const agents = keep
    ? [new Agent({ keepAlive: true, maxSockets: 1 }), new Agent({ keepAlive: true, maxSockets: 1 })]
    : [false as const, false as const];
  const out: { a: number[]; b: number[] } = { a: [], b: [] };
  // Warm-up: the first requests pay for connection set-up and the JIT, not the path.
  for (let i = 0; i < 20; i++) {
    await once(a, agents[0] ?? false);
    await once(b, agents[1] ?? false);
  }
  for (let i = 0; i < Number(count); i++) {
    // Which goes first alternates too, so neither side always follows the other.
    const first = i % 2 === 0;
    const x = await once(first ? a : b, (first ? agents[0] : agents[1]) ?? false);
    const y = await once(first ? b : a, (first ? agents[1] : agents[0]) ?? false);
    out.a.push(first ? x : y);
    out.b.push(first ? y : x);
  }
  for (const ag of agents) if (ag !== false) ag.destroy();
  process.stdout.write(`${JSON.stringify(out)}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
