import { redirect } from "next/navigation";
import { DeleteAccount } from "../../components/account-actions.tsx";
import { ChangeName, ChangePassword } from "../../components/account-forms.tsx";
import { AppHeader } from "../../components/app-header.tsx";
import { getSession } from "../../server/session.ts";

export default async function AccountPage() {
  const session = await getSession();
  if (!session) redirect("/sign-in");
  const { name, email } = session.user;
  return (
    <>
      <AppHeader name={name} />
      <main id="main">
        <section className="card" aria-labelledby="account-heading">
          <h1 id="account-heading">Account</h1>
          <dl className="details">
            <dt>Email</dt>
            <dd>{email}</dd>
          </dl>
          <ChangeName name={name} />
        </section>
        <section className="card" aria-label="Change password">
          <ChangePassword />
        </section>
        <section className="card danger-zone" aria-labelledby="delete-section">
          <h2 id="delete-section">Delete account</h2>
          <p className="muted">Deletes your account and every task in it.</p>
          <div className="actions">
            <DeleteAccount />
          </div>
        </section>
      </main>
    </>
  );
}
