/**
 * What a login form's text holds: a bare token, or a kubeconfig (pasted or uploaded) whose current
 * context names the user with the token and, maybe, a namespace. No DOM here: the table tests run it.
 */
/** What a login brings: the token, and the namespace of the kubeconfig's current context if any. */
export interface Credentials {
  token: string | undefined;
  namespace?: string;
}

/**
 * The token from what the user pasted or uploaded: a bare token, or a kubeconfig whose current
 * context's user has one (token undefined when it has none: client certificates cannot be used
 * here), with that context's namespace.
 */
export async function credentialsFromPaste(text: string): Promise<Credentials> {
  const trimmed = text.trim();
  if (!/^\s*(apiVersion|kind|clusters|users|contexts|current-context)\s*:/m.test(trimmed))
    return { token: trimmed };
  const { parse } = await import('yaml');
  const doc = parse(trimmed) as {
    'current-context'?: string;
    contexts?: { name?: string; context?: { user?: string; namespace?: string } }[];
    users?: { name?: string; user?: { token?: string } }[];
  } | null;
  const users = doc?.users ?? [];
  const context = doc?.contexts?.find((c) => c.name === doc['current-context']);
  const user = users.find((u) => u.name === context?.context?.user) ?? users[0];
  const token = user?.user?.token;
  const namespace = context?.context?.namespace;
  return {
    token: typeof token === 'string' && token !== '' ? token : undefined,
    ...(typeof namespace === 'string' && namespace !== '' ? { namespace } : {}),
  };
}
