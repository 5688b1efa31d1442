import Link from "next/link";
import { SignOutButton } from "./account-actions.tsx";

export function AppHeader({ name }: { name: string }) {
  return (
    <header className="header">
      <Link href="/" className="brand">
        Tasks
      </Link>
      <nav aria-label="Account">
        <span className="muted">{name}</span> <Link href="/account">Account</Link>
        <SignOutButton />
      </nav>
    </header>
  );
}
