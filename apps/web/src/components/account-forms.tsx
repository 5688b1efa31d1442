"use client";

import { useRouter } from "next/navigation";
import { type FormEvent, useEffect, useRef, useState } from "react";
import { authClient, authErrorMessage } from "../auth/client.ts";

type AuthResult = { error: Parameters<typeof authErrorMessage>[0] | null };

import { Alert } from "./alert.tsx";
import { PASSWORD_MIN_LENGTH } from "./auth-form.tsx";

/** What a form reports after submitting: an error (focused, for the keyboard) or a success. */
function useOutcome() {
  const [error, setError] = useState<string | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const errorRef = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (error) errorRef.current?.focus();
  }, [error]);

  async function run(action: () => Promise<AuthResult>, success: string) {
    setBusy(true);
    setError(null);
    setDone(null);
    const result = await action();
    setBusy(false);
    if (result.error) setError(authErrorMessage(result.error));
    else setDone(success);
    return !result.error;
  }

  const messages = (
    <>
      {error && <Alert ref={errorRef}>{error}</Alert>}
      <p role="status" className="muted">
        {done}
      </p>
    </>
  );
  return { busy, run, messages };
}

/** The display name, kept alike in Better Auth's user and the API's (`onUserRenamed`). */
export function ChangeName({ name }: { name: string }) {
  const router = useRouter();
  const { busy, run, messages } = useOutcome();

  async function handleSubmit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const next = String(new FormData(event.currentTarget).get("name")).trim();
    if (await run(() => authClient.updateUser({ name: next }), "Your name has been changed.")) {
      router.refresh();
    }
  }

  return (
    <form className="stack" aria-labelledby="name-heading" onSubmit={handleSubmit}>
      <h2 id="name-heading">Name</h2>
      {messages}
      <div className="field">
        <label htmlFor="account-name">Display name</label>
        <input
          id="account-name"
          name="name"
          required
          maxLength={200}
          autoComplete="name"
          defaultValue={name}
        />
      </div>
      <div className="actions">
        <button type="submit" disabled={busy}>
          {busy ? "Saving…" : "Save name"}
        </button>
      </div>
    </form>
  );
}

/** A new password, given the current one; the other sessions are signed out. */
export function ChangePassword() {
  const { busy, run, messages } = useOutcome();

  async function handleSubmit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = event.currentTarget;
    const data = new FormData(form);
    const changed = await run(
      () =>
        authClient.changePassword({
          currentPassword: String(data.get("currentPassword")),
          newPassword: String(data.get("newPassword")),
          revokeOtherSessions: true,
        }),
      "Your password has been changed.",
    );
    if (changed) form.reset();
  }

  return (
    <form className="stack" aria-labelledby="password-heading" onSubmit={handleSubmit}>
      <h2 id="password-heading">Password</h2>
      {messages}
      <div className="field">
        <label htmlFor="current-password">Current password</label>
        <input
          id="current-password"
          name="currentPassword"
          type="password"
          required
          autoComplete="current-password"
        />
      </div>
      <div className="field">
        <label htmlFor="new-password">New password</label>
        <input
          id="new-password"
          name="newPassword"
          type="password"
          required
          minLength={PASSWORD_MIN_LENGTH}
          maxLength={128}
          autoComplete="new-password"
          aria-describedby="new-password-rule"
        />
        <p id="new-password-rule" className="muted">
          At least {PASSWORD_MIN_LENGTH} characters.
        </p>
      </div>
      <div className="actions">
        <button type="submit" disabled={busy}>
          {busy ? "Changing…" : "Change password"}
        </button>
      </div>
    </form>
  );
}
