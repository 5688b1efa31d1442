import { redirect } from "next/navigation";
import { AuthForm } from "../../components/auth-form.tsx";
import { getSession } from "../../server/session.ts";

const NOTICES: Record<string, string> = {
  ended: "Your session has ended. Please sign in again.",
  deleted: "Your account has been deleted.",
};

export default async function SignInPage({
  searchParams,
}: {
  searchParams: Promise<Record<string, string | string[] | undefined>>;
}) {
  if (await getSession()) redirect("/");
  const params = await searchParams;
  const notice = Object.keys(NOTICES).find((key) => params[key] !== undefined);
  return (
    <main id="main">
      <AuthForm mode="sign-in" notice={notice && NOTICES[notice]} />
    </main>
  );
}
