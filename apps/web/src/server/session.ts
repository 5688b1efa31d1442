import type { Identity } from "@tasks/api";
import { headers } from "next/headers";
import { cache } from "react";
import { services } from "./services.ts";

/** The signed-in user of this request, from Better Auth's session cookie (checked against the database). */
export const getSession = cache(async () => {
  const { auth } = await services();
  return auth.api.getSession({ headers: await headers() });
});

export type Session = NonNullable<Awaited<ReturnType<typeof getSession>>>;

/** The session's user as the API knows users: the same fields its JWT carries. */
export function identityOf({ user }: Session): Identity {
  return {
    userId: user.id,
    email: user.email.toLowerCase(),
    emailVerified: user.emailVerified,
    name: user.name,
    image: user.image ?? undefined,
  };
}
