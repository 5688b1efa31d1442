import { forUser, type PrismaClient } from "@tasks/db";
import { LRUCache } from "lru-cache";
import { type Identity, wallClock } from "./auth.ts";

/** Why an account could not be made ready for a verified token. */
export class AccountError extends Error {
  override name = "AccountError";
  constructor(
    readonly reason: "EMAIL_REQUIRED" | "EMAIL_TAKEN" | "DELETED",
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
 * requests create one row. Users already seen are remembered for a while
 * (`knownTtlMs`), so that ordinary requests neither write nor read for this;
 * an account deleted elsewhere is therefore refused once that time is up.
 */
export function createAccounts(db: PrismaClient, options: AccountsOptions = {}) {
  const ttl = options.knownTtlMs ?? 60_000;
  // Least recently used first out; an entry past its time is never used, and is dropped.
  const known =
    ttl > 0
      ? new LRUCache<string, true>({ max: options.maxKnown ?? 10_000, ttl, ...wallClock })
      : undefined;

  async function exists(userId: string) {
    return (await forUser(db, userId).user.count()) === 1;
  }

  return {
    async ensure(identity: Identity): Promise<void> {
      const { userId } = identity;
      if (known?.get(userId)) return;
      if (!(await exists(userId))) await create(identity);
      known?.set(userId, true);
    },

    /**
     * The display name, as the identity provider now has it (our row follows Better Auth's);
     * nothing when the user has no row yet: the first request writes the name then.
     */
    async rename(userId: string, name: string | null): Promise<void> {
      await forUser(db, userId).user.updateMany({ data: { name } });
    },

    /** Deletes the account for good (see `deleteAccount`); false when there was none. */
    async delete(userId: string): Promise<boolean> {
      known?.delete(userId);
      return deleteAccount(db, userId);
    },
  };

  async function create({ userId, email, emailVerified, name, image }: Identity) {
    // A token issued before its account was deleted must not bring the account back.
    if ((await db.deletedUser.count({ where: { id: userId } })) > 0) {
      throw new AccountError("DELETED", "This account has been deleted.");
    }
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

/**
 * Deletes a user's row, and with it every task (the foreign key cascades), and
 * records the id as deleted in the same transaction, so that no token of it can
 * provision the account again. Returns false when there was no such user.
 */
export async function deleteAccount(db: PrismaClient, userId: string): Promise<boolean> {
  const user = forUser(db, userId);
  const [, { count }] = await user.$transaction([
    db.deletedUser.upsert({ where: { id: userId }, create: { id: userId }, update: {} }),
    user.user.deleteMany(),
  ]);
  return count === 1;
}
