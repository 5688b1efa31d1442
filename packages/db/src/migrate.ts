import { join } from "node:path";
import { workspaceRoot } from "./embedded.ts";

/** Where the schema and its migrations live. */
export function prismaPaths(root = workspaceRoot()) {
  return {
    schemaPath: join(root, "prisma", "schema.prisma"),
    migrationsDir: join(root, "prisma", "migrations"),
  };
}

/** Applies pending migrations in-process (what `prisma migrate deploy` does). */
export async function applyMigrations(url: string): Promise<string[]> {
  // Loaded on demand: the engine is a WebAssembly module only migrations need.
  const { migrateDeploy } = await import("@tasks/schema-engine");
  return migrateDeploy({ url, ...prismaPaths() });
}
