import { decodeJwt } from "jose";

/** A token this close to expiry is replaced before use, so that no request carries an expired one. */
const REFRESH_MARGIN_MS = 60_000;

export interface ApiTokenSource {
  /** A token that is valid for a while yet, or null when signed out. */
  get(): Promise<string | null>;
  /** Drops the current token (e.g. the API refused it): the next `get` fetches a new one. */
  expire(): void;
}

/**
 * The signed-in user's API token: Better Auth's short-lived JWT, fetched when
 * needed and reused until shortly before it expires. Concurrent callers share
 * one fetch.
 */
export function createApiTokenSource(
  fetchToken: () => Promise<string | null>,
  now: () => number = Date.now,
): ApiTokenSource {
  let current: { token: string; expiresAt: number } | null = null;
  let pending: Promise<string | null> | null = null;

  function refresh(): Promise<string | null> {
    pending ??= fetchToken()
      .then((token) => {
        const exp = token ? decodeJwt(token).exp : undefined;
        current = token && exp ? { token, expiresAt: exp * 1000 } : null;
        return token;
      })
      .finally(() => {
        pending = null;
      });
    return pending;
  }

  return {
    get() {
      if (current && current.expiresAt - REFRESH_MARGIN_MS > now()) {
        return Promise.resolve(current.token);
      }
      return refresh();
    },
    expire() {
      current = null;
    },
  };
}

/** Asks Better Auth for a JWT for the session in this browser's cookie. */
export async function fetchBetterAuthToken(): Promise<string | null> {
  const response = await fetch("/api/auth/token", { credentials: "same-origin" });
  if (response.status === 401) return null;
  if (!response.ok) throw new Error(`Could not get an API token (HTTP ${response.status}).`);
  return ((await response.json()) as { token: string }).token;
}
