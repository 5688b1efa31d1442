import { useSyncExternalStore } from "react";

/** The token lives in sessionStorage: it survives a reload, and closing the tab signs out. */
const KEY = "tasks.token";
const listeners = new Set<() => void>();

function subscribe(listener: () => void) {
  listeners.add(listener);
  return () => {
    listeners.delete(listener);
  };
}

export function setSessionToken(token: string | null): void {
  if (token === null) sessionStorage.removeItem(KEY);
  else sessionStorage.setItem(KEY, token);
  for (const listener of listeners) listener();
}

/** The stored token, `null` when signed out, `undefined` while unknown (rendering on the server). */
export function useSessionToken(): string | null | undefined {
  return useSyncExternalStore(
    subscribe,
    () => sessionStorage.getItem(KEY),
    () => undefined,
  );
}
