import { execFile } from "node:child_process";
import { cp, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { servePglite } from "../src/pglite.js";
import { createScratchDatabase, testServerUrl } from "../src/testing.js";

export type { ScratchDatabase as Database } from "../src/testing.js";
export { query, testServerUrl } from "../src/testing.js";

export const repoRoot = join(import.meta.dirname, "../../..");
export const engineBin = join(repoRoot, "packages/schema-engine/bin/schema-engine.js");
const prismaBin = join(repoRoot, "node_modules/.bin/prisma");

/** A new, empty database: on the test server, or an in-memory PGlite when there is none. */
export const createDatabase = createScratchDatabase;

/** An in-memory PGlite served on loopback, as the app's embedded database is. */
export const startPglite = () => servePglite().then(({ url, close }) => ({ url, drop: close }));

/** The servers to run a case on: PGlite always, PostgreSQL when tests have one. */
export const servers = [
  ...(testServerUrl() ? [{ server: "PostgreSQL", start: createDatabase }] : []),
  { server: "PGlite", start: startPglite },
];

export interface PrismaRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the real Prisma CLI, with the bridge as its schema engine, on the project in `cwd`. */
export function prisma(
  args: string[],
  { databaseUrl, cwd = repoRoot }: { databaseUrl: string; cwd?: string },
): Promise<PrismaRun> {
  const config = join(cwd, "prisma.config.ts");
  const env = {
    ...process.env,
    DATABASE_URL: databaseUrl,
    PRISMA_SCHEMA_ENGINE_BINARY: engineBin,
    PRISMA_HIDE_UPDATE_MESSAGE: "1",
  };
  return new Promise((resolve) => {
    execFile(prismaBin, [...args, "--config", config], { cwd, env }, (error, stdout, stderr) => {
      resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr });
    });
  });
}

/**
 * A scratch copy of the project's `prisma/` folder with a config of its own, for commands that
 * write migrations. Its config has no imports: it lives outside the workspace.
 */
export async function copyProject(): Promise<{ dir: string; remove(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), "engine-project-"));
  await cp(join(repoRoot, "prisma"), join(dir, "prisma"), { recursive: true });
  await writeFile(
    join(dir, "prisma.config.ts"),
    `export default {
  schema: "prisma/schema.prisma",
  migrations: { path: "prisma/migrations" },
  datasource: { url: process.env.DATABASE_URL },
};
`,
  );
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

/** The schema with one more column on `tasks`. */
export function schemaWithExtraColumn(schema: string): string {
  return schema.replace(/(\n\s+title\s+String[^\n]*)/, "$1\n  archived Boolean @default(false)");
}

/** Adds a migration that creates a table, then fails. Returns its name. */
export async function addFailingMigration(migrationsDir: string): Promise<string> {
  const name = "20990101000000_fails_halfway";
  await mkdir(join(migrationsDir, name));
  await writeFile(
    join(migrationsDir, name, "migration.sql"),
    'CREATE TABLE "half_done" ("id" INTEGER);\nSELECT 1 / 0;\n',
  );
  return name;
}
