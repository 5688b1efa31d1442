// `prisma migrate dev`, which replays the migration history in a shadow database.
import { readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { copyProject, prisma, schemaWithExtraColumn, servers } from "./support.ts";

describe("migrate dev --create-only", () => {
  // On PostgreSQL a temporary database on the same server holds the shadow; PGlite cannot
  // host one, so the bridge serves an in-memory PGlite of its own.
  it.for(servers)(
    "writes the migration of a schema change, on $server",
    async ({ start }, context) => {
      const database = await start();
      context.onTestFinished(() => database.drop());
      const project = await copyProject();
      context.onTestFinished(() => project.remove());
      const schema = join(project.dir, "prisma", "schema.prisma");
      await writeFile(schema, schemaWithExtraColumn(await readFile(schema, "utf8")));
      const migrationsDir = join(project.dir, "prisma", "migrations");
      const before = await readdir(migrationsDir);

      const run = await prisma(["migrate", "dev", "--create-only", "--name", "archive"], {
        databaseUrl: database.url,
        cwd: project.dir,
      });

      context.expect(run.code, run.stderr).toBe(0);
      const added = (await readdir(migrationsDir)).filter((name) => !before.includes(name));
      context.expect(added).toEqual([expect.stringMatching(/^\d{14}_archive$/)]);
      const [folder = ""] = added;
      const sql = await readFile(join(migrationsDir, folder, "migration.sql"), "utf8");
      context
        .expect(sql)
        .toMatch(/ALTER TABLE "tasks" ADD COLUMN\s+"archived" BOOLEAN NOT NULL DEFAULT false/);
    },
  );
});
