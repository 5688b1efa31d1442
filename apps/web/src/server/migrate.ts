import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { workspaceRoot } from "@tasks/db/embedded";

/**
 * Applies the migrations to the embedded database with the Prisma CLI, in a
 * process of its own: the schema engine loads files of its own, which a Next.js
 * bundle does not carry. Only reached in development, when this app is the
 * first to open the embedded database (production always has DATABASE_URL).
 */
export async function migrateWithPrismaCli(url: string): Promise<void> {
  const root = workspaceRoot();
  await promisify(execFile)(join(root, "node_modules", ".bin", "prisma"), ["migrate", "deploy"], {
    cwd: root,
    env: { ...process.env, DATABASE_URL: url },
  });
}
