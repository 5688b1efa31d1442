"use client";

import { type FormEvent, useRef, useState } from "react";
import { authClient, authErrorMessage } from "../auth/client.ts";
import { Alert } from "./alert.tsx";

export function SignOutButton() {
  async function signOut() {
    await authClient.signOut();
    window.location.assign("/sign-in");
  }
  return (
    <button type="button" className="secondary" onClick={signOut}>
      Sign out
    </button>
  );
}

/** Deleting the account asks for the password, in a dialog, before anything happens. */
export function DeleteAccount() {
  const dialog = useRef<HTMLDialogElement>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function handleSubmit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const password = String(new FormData(event.currentTarget).get("password"));
    setBusy(true);
    setError(null);
    const result = await authClient.deleteUser({ password });
    if (result.error) {
      setError(authErrorMessage(result.error));
      setBusy(false);
      return;
    }
    window.location.assign("/sign-in?deleted=1");
  }

  return (
    <>
      <button type="button" className="danger" onClick={() => dialog.current?.showModal()}>
        Delete account
      </button>
      <dialog ref={dialog} aria-labelledby="delete-heading">
        <form className="stack" onSubmit={handleSubmit}>
          <h2 id="delete-heading">Delete your account?</h2>
          <p>Your account and all your tasks are deleted for good. This cannot be undone.</p>
          {error && <Alert>{error}</Alert>}
          <div className="field">
            <label htmlFor="delete-password">Your password, to confirm</label>
            <input
              id="delete-password"
              name="password"
              type="password"
              required
              autoComplete="current-password"
            />
          </div>
          <div className="actions">
            <button type="submit" className="danger" disabled={busy}>
              {busy ? "Deleting…" : "Delete my account"}
            </button>
            <button type="button" className="secondary" onClick={() => dialog.current?.close()}>
              Cancel
            </button>
          </div>
        </form>
      </dialog>
    </>
  );
}
