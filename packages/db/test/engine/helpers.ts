import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { cp, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PGlite } from "@electric-sql/pglite";
import { PGLiteSocketServer } from "@electric-sql/pglite-socket";
import pg from "pg";

export const repoRoot = join(import.meta.dirname, "../../../..");
export const engineBin = join(repoRoot, "packages/db/engine/bin/schema-engine.js");
const prismaBin = join(repoRoot, "node_modules/.bin/prisma");
const serverUrl = process.env.TEST_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";

export interface Database {
  url: string;
  drop(): Promise<void>;
}

/** A new, empty database on the test server. */
export async function createDatabase(): Promise<Database> {
  const name = `engine_test_${randomBytes(6).toString("hex")}`;
  await query(serverUrl, `CREATE DATABASE "${name}"`);
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return {
    url: url.href,
    drop: async () => {
      await query(serverUrl, `DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    },
  };
}

/** An in-memory PGlite served on loopback, as the app's embedded database is. */
export async function startPglite(): Promise<Database> {
  const db = await PGlite.create();
  const server = new PGLiteSocketServer({ db, host: "127.0.0.1", port: 0, maxConnections: 10 });
  await server.start();
  return {
    url: `postgres://postgres@${server.getServerConn()}/postgres`,
    drop: async () => {
      await server.stop();
      await db.close();
    },
  };
}

export async function query(url: string, sql: string): Promise<Record<string, unknown>[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(sql)).rows;
  } finally {
    await client.end();
  }
}

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
