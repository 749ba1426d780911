/**
 * The real side of the policy firewall: hands the rendered script to `nft -f -`, which applies it
 * in one transaction (the old table and the new one never coexist, no packet sees half a ruleset).
 * `netns` runs it inside a network namespace (`ip netns exec`), which is how tests use it.
 */
import { spawn } from 'node:child_process';

/** The port at the side-effect boundary: a whole ruleset in, applied atomically or rejected. */
export interface PolicyFirewall {
  apply(script: string): Promise<void>;
}

export function nftFirewall(netns?: string): PolicyFirewall {
  const [command, args] =
    netns === undefined ? ['nft', ['-f', '-']] : ['ip', ['netns', 'exec', netns, 'nft', '-f', '-']];
  return {
    apply: (script) =>
      new Promise((resolve, reject) => {
        const child = spawn(command, args, { stdio: ['pipe', 'ignore', 'pipe'] });
        let stderr = '';
        child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
        child.once('error', (err) => reject(new Error(`failed applying network policies: ${err.message}`)));
        child.once('close', (code) =>
          code === 0
            ? resolve()
            : reject(
                new Error(
                  `failed applying network policies: nft exited ${code ?? 'by signal'}: ${stderr.trim()}`,
                ),
              ),
        );
        child.stdin.end(script);
      }),
  };
}
