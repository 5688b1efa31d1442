// The bridge's programmatic API, as the app uses it at start.
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { ColumnTypeEnum } from "@prisma/driver-adapter-utils";
import { describe, it } from "vitest";
import { connectPgAdapter } from "../src/pg-adapter.js";
import { migrateDeploy, SchemaEngineError } from "../src/schema-engine.js";
import {
  addFailingMigration,
  copyProject,
  createDatabase,
  query,
  repoRoot,
  servers,
  testServerUrl,
} from "./support.ts";

const schemaPath = join(repoRoot, "prisma", "schema.prisma");
const migrationsDir = join(repoRoot, "prisma", "migrations");

describe("migrateDeploy", () => {
  it.for(servers)(
    "applies pending migrations, then none, on $server",
    async ({ start }, context) => {
      const database = await start();
      context.onTestFinished(() => database.drop());
      const migrations = (await readdir(migrationsDir, { withFileTypes: true }))
        .filter((entry) => entry.isDirectory())
        .map((entry) => entry.name);

      const first = await migrateDeploy({ url: database.url, schemaPath, migrationsDir });
      context.expect(first).toEqual(migrations);
      context
        .expect(await migrateDeploy({ url: database.url, schemaPath, migrationsDir }))
        .toEqual([]);
      context
        .expect(await query(database.url, "SELECT count(*)::int AS n FROM tasks"))
        .toEqual([{ n: 0 }]);
    },
  );

  it("rejects with Prisma's message and code", async ({ expect, onTestFinished }) => {
    const database = await createDatabase();
    onTestFinished(() => database.drop());
    const project = await copyProject();
    onTestFinished(() => project.remove());
    const failingDir = join(project.dir, "prisma", "migrations");
    const failing = await addFailingMigration(failingDir);
    const deploy = () =>
      migrateDeploy({ url: database.url, schemaPath, migrationsDir: failingDir });

    await expect(deploy()).rejects.toThrow("division by zero");
    const blocked = await deploy().catch((error: unknown) => error);
    expect(blocked).toBeInstanceOf(SchemaEngineError);
    expect(blocked).toMatchObject({ code: "P3009", isPanic: false });
    expect((blocked as Error).message).toContain(`The \`${failing}\` migration started at`);
  });

  // PGlite ignores database names: only a real server has missing databases.
  it.runIf(testServerUrl())(
    "names a missing database P1003",
    async ({ expect, onTestFinished }) => {
      const database = await createDatabase();
      onTestFinished(() => database.drop());
      const missing = new URL(database.url);
      missing.pathname = "/engine_test_missing";
      await expect(
        migrateDeploy({ url: missing.href, schemaPath, migrationsDir }),
      ).rejects.toMatchObject({ code: "P1003" });
    },
  );
});

describe('the adapter reads PostgreSQL\'s "char" columns', () => {
  it.for(servers)("as Character, on $server", async ({ start }, context) => {
    const database = await start();
    context.onTestFinished(() => database.drop());
    const adapter = await connectPgAdapter(database.url);
    context.onTestFinished(() => adapter.dispose());

    const { columnTypes, rows } = await adapter.queryRaw({
      sql: "SELECT typtype, typname FROM pg_type WHERE typname = 'int4'",
      args: [],
      argTypes: [],
    });

    context.expect(columnTypes).toEqual([ColumnTypeEnum.Character, ColumnTypeEnum.Text]);
    context.expect(rows).toEqual([["b", "int4"]]);
  });
});
