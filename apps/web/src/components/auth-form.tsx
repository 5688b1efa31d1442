"use client";

import Link from "next/link";
import { type FormEvent, useEffect, useRef, useState } from "react";
import { authClient, authErrorMessage } from "../auth/client.ts";
import { Alert } from "./alert.tsx";

/** The `minPasswordLength` of the server's Better Auth (packages/auth). */
export const PASSWORD_MIN_LENGTH = 8;

/** Sign-in and sign-up: on success a full page load, so that nothing of a previous user stays in memory. */
export function AuthForm({ mode, notice }: { mode: "sign-in" | "sign-up"; notice?: string }) {
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const signUp = mode === "sign-up";
  const errorRef = useRef<HTMLDivElement>(null);
  // The error is where the keyboard goes next, and what a screen reader reads.
  useEffect(() => {
    if (error) errorRef.current?.focus();
  }, [error]);

  async function handleSubmit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const data = new FormData(event.currentTarget);
    const email = String(data.get("email"));
    const password = String(data.get("password"));
    setBusy(true);
    setError(null);
    const result = signUp
      ? await authClient.signUp.email({ email, password, name: String(data.get("name")).trim() })
      : await authClient.signIn.email({ email, password });
    if (result.error) {
      setError(authErrorMessage(result.error));
      setBusy(false);
      return;
    }
    window.location.assign("/");
  }

  const title = signUp ? "Create an account" : "Sign in";
  return (
    <form className="card narrow" aria-labelledby="auth-heading" onSubmit={handleSubmit}>
      <h1 id="auth-heading">{title}</h1>
      <p className="muted">Tasks keeps your to-do list, the same on every device you sign in on.</p>
      {notice && <p className="notice">{notice}</p>}
      {error && <Alert ref={errorRef}>{error}</Alert>}
      {signUp && (
        <div className="field">
          <label htmlFor="name">Name</label>
          <input id="name" name="name" required maxLength={200} autoComplete="name" />
        </div>
      )}
      <div className="field">
        <label htmlFor="email">Email</label>
        <input id="email" name="email" type="email" required autoComplete="email" />
      </div>
      <div className="field">
        <label htmlFor="password">Password</label>
        <input
          id="password"
          name="password"
          type="password"
          required
          minLength={signUp ? PASSWORD_MIN_LENGTH : undefined}
          maxLength={128}
          autoComplete={signUp ? "new-password" : "current-password"}
          aria-describedby={signUp ? "password-rule" : undefined}
        />
        {signUp && (
          <p id="password-rule" className="muted">
            At least {PASSWORD_MIN_LENGTH} characters.
          </p>
        )}
      </div>
      <button type="submit" disabled={busy}>
        {busy ? "Please wait…" : signUp ? "Sign up" : "Sign in"}
      </button>
      <p className="muted">
        {signUp ? (
          <>
            Have an account? <Link href="/sign-in">Sign in</Link>
          </>
        ) : (
          <>
            New here? <Link href="/sign-up">Create an account</Link>
          </>
        )}
      </p>
    </form>
  );
}
