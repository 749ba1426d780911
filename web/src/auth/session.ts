/**
 * The bearer token of this browser tab, kept in sessionStorage: it survives a reload, not the tab.
 * A 401 from the API ends the session and brings the login page back with a reason.
 */
const KEY = 'hikube.token';

type Listener = (reason: string | undefined) => void;
const listeners = new Set<Listener>();

export function getToken(): string | undefined {
  return sessionStorage.getItem(KEY) ?? undefined;
}

export function signIn(token: string): void {
  sessionStorage.setItem(KEY, token);
  for (const l of listeners) l(undefined);
}

export function signOut(reason?: string): void {
  sessionStorage.removeItem(KEY);
  for (const l of listeners) l(reason);
}

export function onSessionChange(listener: Listener): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}
