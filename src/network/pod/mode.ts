/**
 * Which default network a node runs, decided once at `hikube up`: the routed pod network when it
 * is asked for or, when nothing is asked, when the host allows it (root, /dev/net/tun, ip, nft,
 * dnsmasq); QEMU user networking otherwise. Returns the one start-up line that says which runs.
 */
import type { NetworkMode } from '../options.js';

export interface ModeChoice {
  mode: NetworkMode;
  line: string;
}

/**
 * @param requested `--network` or $HIKUBE_NETWORK (undefined: choose).
 * @param unavailable why the pod network cannot run here, or undefined when it can.
 * @throws Error when the pod network is asked for and cannot run, or the value is unknown.
 */
export async function chooseNetworkMode(
  requested: string | undefined,
  unavailable: () => Promise<string | undefined>,
  podCidr: string,
): Promise<ModeChoice> {
  if (requested !== undefined && requested !== 'pod' && requested !== 'user')
    throw new Error(`${JSON.stringify(requested)} is not "pod" or "user"`);
  const user = (why: string): ModeChoice => ({
    mode: 'user',
    line: `network: QEMU user networking (${why}); guests are reached through host forwards`,
  });
  if (requested === 'user') return user('asked for');
  const reason = await unavailable();
  if (reason !== undefined) {
    if (requested === 'pod') throw new Error(`the pod network cannot run here: ${reason}`);
    return user(`the pod network cannot run here: ${reason}`);
  }
  return {
    mode: 'pod',
    line: `network: routed pod network ${podCidr} (each VM gets a pod IP; masquerade binding)`,
  };
}
