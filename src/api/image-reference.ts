/**
 * One reading of a container image reference, for every place an image name is taken
 * (containerDisk.image, kernelBoot's container image, `hikube image import`, a DataVolume's
 * `docker://` URL): `[host[:port]/]path[:tag][@algorithm:hex]`, as the distribution grammar reads it.
 * The first path component is a registry host when it has a dot or a port, or is `localhost`;
 * otherwise the reference is a short name (`debian:12`, `hikube/tiny`) for the local store.
 */
export interface ImageReference {
  /** `registry:5000`, `quay.io`; absent for a short name. */
  host?: string;
  /** `kubevirt/cirros`. */
  path: string;
  tag?: string;
  /** `sha256:…`. */
  digest?: string;
}

const HOST =
  /^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*|\[[0-9a-fA-F:.]+\])(?::[0-9]{1,5})?$/;
const COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const DIGEST = /^[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}$/;

/** The parsed reference, or a message saying what is wrong with it. */
export function parseImageReference(text: string): ImageReference | string {
  const ref = text.replace(/^docker:\/\//, '');
  if (ref === '') return 'an image reference may not be empty';
  if (ref.length > 255 + 128 + 140) return 'the image reference is too long';
  const at = ref.indexOf('@');
  const digest = at < 0 ? undefined : ref.slice(at + 1);
  const named = at < 0 ? ref : ref.slice(0, at);
  if (digest !== undefined && !DIGEST.test(digest))
    return `${JSON.stringify(digest)} is not a digest (algorithm:hex, e.g. sha256:…)`;
  const slash = named.indexOf('/');
  const first = slash < 0 ? '' : named.slice(0, slash);
  const hasHost = first.includes('.') || first.includes(':') || first === 'localhost';
  if (hasHost && !HOST.test(first)) return `${JSON.stringify(first)} is not a registry host[:port]`;
  const rest = hasHost ? named.slice(slash + 1) : named;
  const colon = rest.lastIndexOf(':');
  const tag = colon > rest.lastIndexOf('/') ? rest.slice(colon + 1) : undefined;
  const path = tag === undefined ? rest : rest.slice(0, colon);
  if (tag !== undefined && !TAG.test(tag))
    return `${JSON.stringify(tag)} is not a tag (letters, digits, '_', '.', '-'; at most 128)`;
  if (path === '' || !path.split('/').every((c) => COMPONENT.test(c)))
    return `${JSON.stringify(path)} is not a repository path (lower-case letters, digits and separators '.', '_', '-', '/')`;
  return {
    ...(hasHost ? { host: first } : {}),
    path,
    ...(tag !== undefined ? { tag } : {}),
    ...(digest !== undefined ? { digest } : {}),
  };
}

/** The reference as text again (without `docker://`). */
export function formatImageReference(r: ImageReference): string {
  return `${r.host !== undefined ? `${r.host}/` : ''}${r.path}${r.tag !== undefined ? `:${r.tag}` : ''}${r.digest !== undefined ? `@${r.digest}` : ''}`;
}
