// The official Prisma CLI, with the bridge standing in for its native schema engine.
import { readdir, readFile, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, type onTestFinished } from "vitest";
import {
  addFailingMigration,
  copyProject,
  createDatabase,
  type Database,
  type PrismaRun,
  prisma,
  query,
  repoRoot,
  schemaWithExtraColumn,
} from "./support.ts";

type Cleanup = typeof onTestFinished;

async function freshDatabase(cleanup: Cleanup) {
  const database = await createDatabase();
  cleanup(() => database.drop());
  return database;
}

async function scratchProject(cleanup: Cleanup) {
  const project = await copyProject();
  cleanup(() => project.remove());
  return project;
}

/**
 * A server that refuses every login as PostgreSQL does for a wrong password (SQLSTATE 28P01):
 * the local PostgreSQL trusts every login, so it cannot produce that error.
 */
async function passwordRejectingServer(cleanup: Cleanup): Promise<string> {
  const fields = Buffer.from(
    'SFATAL\0VFATAL\0C28P01\0Mpassword authentication failed for user "postgres"\0\0',
  );
  const header = Buffer.alloc(5);
  header.write("E");
  header.writeInt32BE(fields.length + 4, 1);
  const server = createServer((socket) => {
    socket.once("data", () => socket.end(Buffer.concat([header, fields])));
  });
  await new Promise<void>((listening) => server.listen(0, "127.0.0.1", listening));
  cleanup(() => new Promise<void>((closed) => server.close(() => closed())));
  const { port } = server.address() as { port: number };
  return `postgres://postgres:wrong@127.0.0.1:${port}/postgres`;
}

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((listening) => server.listen(0, "127.0.0.1", listening));
  const { port } = server.address() as { port: number };
  await new Promise<void>((closed) => server.close(() => closed()));
  return port;
}

// Each command is a Prisma CLI process and an engine process: CPU-bound, so the cases run one
// after another, and those that only read share one database migrated by the CLI.
describe("the Prisma CLI on the bridge", () => {
  describe("on a database it migrated", () => {
    let database: Database;
    let firstDeploy: PrismaRun;
    beforeAll(async () => {
      database = await createDatabase();
      firstDeploy = await prisma(["migrate", "deploy"], { databaseUrl: database.url });
    });
    afterAll(() => database?.drop());

    it("migrate deploy applies the migrations once; status then finds nothing pending", async () => {
      expect(firstDeploy.stdout).toContain("All migrations have been successfully applied.");
      const status = await prisma(["migrate", "status"], { databaseUrl: database.url });
      expect(status).toMatchObject({ code: 0, stdout: expect.stringContaining("up to date") });
      const again = await prisma(["migrate", "deploy"], { databaseUrl: database.url });
      expect(again).toMatchObject({ code: 0, stdout: expect.stringContaining("No pending") });

      const folders = await readdir(join(repoRoot, "prisma", "migrations"), {
        withFileTypes: true,
      });
      expect(
        await query(database.url, "SELECT migration_name FROM _prisma_migrations"),
      ).toHaveLength(folders.filter((entry) => entry.isDirectory()).length);
    });

    it('db pull reads the schema back, through PostgreSQL\'s "char" columns', async () => {
      const pull = await prisma(["db", "pull", "--print"], { databaseUrl: database.url });
      expect(pull.code, pull.stderr).toBe(0);
      expect(pull.stdout).toContain("@@index([userId, createdAt(sort: Desc), id(sort: Desc)])");
    });

    const diffTo = (schema: string, cwd?: string) =>
      prisma(
        [
          "migrate",
          "diff",
          "--from-migrations",
          "prisma/migrations",
          "--to-schema",
          schema,
          "--exit-code",
        ],
        { databaseUrl: database.url, cwd },
      );

    it("migrate diff --exit-code finds no drift between the migrations and the schema", async () => {
      const unchanged = await diffTo("prisma/schema.prisma");
      expect(unchanged.code, unchanged.stderr).toBe(0);
      expect(unchanged.stdout).toContain("No difference detected");
    });

    it("migrate diff --exit-code finds a scratch edit of the schema", async ({
      onTestFinished,
    }) => {
      const project = await scratchProject(onTestFinished);
      const editedSchema = join(project.dir, "prisma", "schema.prisma");
      await writeFile(editedSchema, schemaWithExtraColumn(await readFile(editedSchema, "utf8")));

      const edited = await diffTo("prisma/schema.prisma", project.dir);
      expect(edited.code, edited.stderr).toBe(2);
      expect(edited.stdout).toContain("Added column `archived`");
    });
  });

  it("a failing migration leaves nothing behind, shows in status, and can be rolled back", async ({
    onTestFinished,
  }) => {
    const { url } = await freshDatabase(onTestFinished);
    const project = await scratchProject(onTestFinished);
    const failing = await addFailingMigration(join(project.dir, "prisma", "migrations"));
    const run = (...args: string[]) => prisma(args, { databaseUrl: url, cwd: project.dir });

    const deploy = await run("migrate", "deploy");
    expect(deploy.code).toBe(1);
    expect(deploy.stderr).toContain("division by zero");
    expect(await query(url, "SELECT to_regclass('half_done') AS found")).toEqual([{ found: null }]);

    const status = await run("migrate", "status");
    expect(status.code).toBe(1);
    expect(status.stderr).toContain(`prisma migrate resolve --rolled-back "${failing}"`);

    const resolve = await run("migrate", "resolve", "--rolled-back", failing);
    expect(resolve.code, resolve.stderr).toBe(0);
    const rolledBack = await query(
      url,
      `SELECT rolled_back_at IS NOT NULL AS done FROM _prisma_migrations WHERE migration_name = '${failing}'`,
    );
    expect(rolledBack).toEqual([{ done: true }]);
  });

  it.for([
    { code: "P1000", message: "Authentication failed", database: passwordRejectingServer },
    {
      code: "P1001",
      message: "Can't reach database server",
      database: async () => `postgres://postgres@127.0.0.1:${await closedPort()}/postgres`,
    },
  ])("connection failures reach the user as Prisma's $code", async (failure, context) => {
    const url = await failure.database(context.onTestFinished);

    for (const command of ["deploy", "status"]) {
      const run = await prisma(["migrate", command], { databaseUrl: url });
      expect(run.code).toBe(1);
      expect(run.stderr).toContain(`${failure.code}: ${failure.message}`);
      expect(run.stderr).not.toMatch(/^\s+at /m);
    }
  });
});
