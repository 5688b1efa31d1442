import { forUser, type PrismaClient } from "@tasks/db";
import type { Identity } from "./auth.ts";

/** Why an account could not be made ready for a verified token. */
export class AccountError extends Error {
  override name = "AccountError";
  constructor(
    readonly reason: "EMAIL_REQUIRED" | "EMAIL_TAKEN",
    message: string,
  ) {
    super(message);
  }
}

export interface AccountsOptions {
  /** How long a user known to exist is trusted without asking the database (ms). */
  knownTtlMs?: number;
  /** Most user ids remembered at once. */
  maxKnown?: number;
}

/**
 * Creates the `users` row the first time a token's subject is seen.
 *
 * Creation is a single `INSERT … ON CONFLICT DO NOTHING`, so parallel first
 * requests create one row. Users already seen are remembered for a while, so
 * that ordinary requests neither write nor read for this.
 */
export function createAccounts(db: PrismaClient, options: AccountsOptions = {}) {
  const ttl = options.knownTtlMs ?? 60_000;
  const maxKnown = options.maxKnown ?? 10_000;
  const known = new Map<string, number>();

  function remember(userId: string) {
    if (known.size >= maxKnown) known.delete(known.keys().next().value as string);
    known.set(userId, Date.now() + ttl);
  }

  async function exists(userId: string) {
    return (await forUser(db, userId).user.count()) === 1;
  }

  return {
    async ensure(identity: Identity): Promise<void> {
      const { userId } = identity;
      if ((known.get(userId) ?? 0) > Date.now()) return;
      if (!(await exists(userId))) await create(identity);
      remember(userId);
    },

    /** Forgets a user, e.g. after the account is deleted. */
    forget(userId: string): void {
      known.delete(userId);
    },
  };

  async function create({ userId, email, emailVerified, name, image }: Identity) {
    if (!email) {
      throw new AccountError(
        "EMAIL_REQUIRED",
        "The first sign-in needs a token with an email claim.",
      );
    }
    const { count } = await forUser(db, userId).user.createMany({
      data: {
        id: userId,
        email,
        emailVerified: emailVerified ?? false,
        name,
        image,
      },
      skipDuplicates: true,
    });
    // Nothing inserted: either a parallel request created this user, or the email is someone else's.
    if (count === 0 && !(await exists(userId))) {
      throw new AccountError("EMAIL_TAKEN", "This email belongs to another account.");
    }
  }
}

export type Accounts = ReturnType<typeof createAccounts>;
