import "dotenv/config";
import { fileURLToPath } from "node:url";
import { openEmbedded } from "@tasks/db/embedded";
import { defineConfig } from "prisma/config";

// The schema engine on WebAssembly (see packages/db/engine); set the variable to use another.
process.env.PRISMA_SCHEMA_ENGINE_BINARY ||= fileURLToPath(
  new URL("./packages/db/engine/bin/schema-engine.js", import.meta.url),
);

/** Without DATABASE_URL, commands that use a database get the embedded one (started if need be). */
const command = process.argv[2] ?? "";
const url =
  process.env.DATABASE_URL ||
  (["migrate", "db", "studio"].includes(command) ? (await openEmbedded()).url : undefined);

export default defineConfig({
  schema: "prisma/schema.prisma",
  migrations: { path: "prisma/migrations" },
  ...(url ? { datasource: { url } } : {}),
});
