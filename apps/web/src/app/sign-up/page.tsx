import { redirect } from "next/navigation";
import { AuthForm } from "../../components/auth-form.tsx";
import { getSession } from "../../server/session.ts";

export default async function SignUpPage() {
  if (await getSession()) redirect("/");
  return (
    <main id="main">
      <AuthForm mode="sign-up" />
    </main>
  );
}
