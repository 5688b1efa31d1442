import "dotenv/config";
import { fileURLToPath } from "node:url";
import { openEmbedded } from "@tasks/db/embedded";
import { defineConfig } from "prisma/config";

// The schema engine on WebAssembly (see packages/schema-engine); set the variable to use another.
process.env.PRISMA_SCHEMA_ENGINE_BINARY ||= fileURLToPath(
  new URL("./packages/schema-engine/bin/schema-engine.js", import.meta.url),
);

/** Without DATABASE_URL, commands that use a database get the embedded one (started if need be). */
async function embeddedUrl(command: string): Promise<string | undefined> {
  if (!["migrate", "db", "studio"].includes(command)) return undefined;
  // Serving must not keep the CLI running once its command is done.
  const { url } = await openEmbedded(undefined, { keepProcessAlive: command === "studio" });
  // Studio's driver (postgres.js) pools connections, whose statements would
  // interleave in PGlite's single session: give it one connection.
  return command === "studio" ? `${url}&max=1` : url;
}

// Migrations run as the tables' owner: DIRECT_URL (Neon's direct, non-pooled host, as its owner
// role) when the app's DATABASE_URL is a role the row-level security policies bind.
const url =
  process.env.DIRECT_URL || process.env.DATABASE_URL || (await embeddedUrl(process.argv[2] ?? ""));

export default defineConfig({
  schema: "prisma/schema.prisma",
  migrations: { path: "prisma/migrations" },
  ...(url ? { datasource: { url } } : {}),
});
