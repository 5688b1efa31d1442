import { useMe } from "../lib/queries.ts";
import { ErrorAlert } from "./error-alert.tsx";

export function Account({ onSignOut }: { onSignOut(): void }) {
  const me = useMe();
  return (
    <div className="account">
      {me.data && <span className="muted">Signed in as {me.data.email}</span>}
      <ErrorAlert error={me.error} />
      <button type="button" className="secondary" onClick={onSignOut}>
        Sign out
      </button>
    </div>
  );
}
