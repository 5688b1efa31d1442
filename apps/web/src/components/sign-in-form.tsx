import type { FormEvent } from "react";

interface SignInFormProps {
  /** Why the user is here again, e.g. the API rejected the token. */
  notice: string | null;
  onSignIn(token: string): void;
}

export function SignInForm({ notice, onSignIn }: SignInFormProps) {
  function handleSubmit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const token = new FormData(event.currentTarget).get("token");
    if (typeof token === "string" && token.trim()) onSignIn(token.trim());
  }

  return (
    <form className="card" aria-labelledby="sign-in-heading" onSubmit={handleSubmit}>
      <h1 id="sign-in-heading">Sign in</h1>
      <p className="muted">
        Paste an API token. In development,{" "}
        <code>pnpm -s token --sub &lt;id&gt; --email &lt;email&gt;</code> prints one.
      </p>
      {notice && (
        <p role="alert" className="error">
          {notice}
        </p>
      )}
      <label className="field">
        Token
        <textarea name="token" rows={4} required spellCheck={false} autoComplete="off" />
      </label>
      <button type="submit">Sign in</button>
    </form>
  );
}
