/**
 * Query parameters read the way kube-apiserver reads them, so every client's spelling means the
 * same here: a boolean is false only when absent, `false` (any case) or `0`; anything else, the
 * empty string included, is true (`?watch=True` from the Python client is a watch).
 */

export function queryBool(query: URLSearchParams, name: string): boolean {
  const value = query.get(name);
  if (value === null) return false;
  return !(value === '0' || value.toLowerCase() === 'false');
}
