"use client";

import { useCallback, useState } from "react";
import { setSessionToken, useSessionToken } from "../lib/session-token.ts";
import { Session } from "./session.tsx";
import { SignInForm } from "./sign-in-form.tsx";

/** The whole app: the sign-in box, or the signed-in user's tasks. */
export function TasksApp({ apiUrl }: { apiUrl: string }) {
  const token = useSessionToken();
  const [notice, setNotice] = useState<string | null>(null);

  const signIn = useCallback((newToken: string) => {
    setNotice(null);
    setSessionToken(newToken);
  }, []);
  const signOut = useCallback((reason?: string) => {
    setNotice(reason ?? null);
    setSessionToken(null);
  }, []);

  // Unknown until hydrated: rendering the sign-in box first would flash it at signed-in users.
  if (token === undefined) return null;
  if (token === null) return <SignInForm notice={notice} onSignIn={signIn} />;
  // A new token is a new session: a fresh client and cache, nothing of the previous user kept.
  return <Session key={token} apiUrl={apiUrl} token={token} onSignOut={signOut} />;
}
