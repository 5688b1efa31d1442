import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { openEmbedded } from "../src/embedded.ts";
import { applyMigrations } from "../src/migrate.ts";
import { createTestDatabase } from "../src/testing.ts";
import { browserMissing, freePort, launchChromium } from "../src/testing-browser.ts";

const root = join(import.meta.dirname, "../../..");
let studio: ChildProcess | undefined;

afterEach(() => {
  studio?.kill();
  studio = undefined;
});

/** Starts `prisma studio` as a user would, and resolves once it serves. */
async function startStudio(env: NodeJS.ProcessEnv): Promise<string> {
  const port = await freePort();
  studio = spawn(
    join(root, "node_modules/.bin/prisma"),
    ["studio", "--browser", "none", "--port", String(port)],
    { cwd: root, env: { ...process.env, CHECKPOINT_DISABLE: "1", ...env } },
  );
  let output = "";
  await new Promise<void>((ready, failed) => {
    studio?.stdout?.on("data", (chunk) => {
      output += chunk;
      if (output.includes("Prisma Studio is running")) ready();
    });
    studio?.on("exit", (code) => failed(new Error(`studio exited with ${code}: ${output}`)));
  });
  return `http://localhost:${port}`;
}

/** Runs SQL through Studio's own backend, the way its table view loads rows. */
async function studioQuery(url: string, sql: string, parameters: unknown[] = []) {
  const response = await fetch(`${url}/bff`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ procedure: "query", query: { sql, parameters } }),
  });
  return response.json();
}

describe("prisma studio", () => {
  it("reads the migrated tables of the configured database", async () => {
    const database = await createTestDatabase();
    try {
      const url = await startStudio({ DATABASE_URL: database.url });
      expect(await studioQuery(url, 'SELECT count(*)::int AS n FROM "tasks"')).toEqual([
        null,
        [{ n: 0 }],
      ]);
    } finally {
      await database.drop();
    }
  });

  it.skipIf(browserMissing)(
    "shows the embedded database's tables in a real browser when no URL is set",
    async () => {
      const dataDir = join(mkdtempSync(join(tmpdir(), "studio-")), "pglite");
      const embedded = await openEmbedded(dataDir);
      await applyMigrations(embedded.url);
      await embedded.close();
      const browser = await launchChromium();
      try {
        // Studio opens the database itself (through prisma.config.ts), as `pnpm db:studio` does.
        const url = await startStudio({ DATABASE_URL: "", PGLITE_DATA_DIR: dataDir });
        const page = await browser.newPage();
        await page.goto(url);
        const tables = page.getByText(/^(tasks|users)$/);
        await tables.first().waitFor({ timeout: 60_000 });
        expect(await tables.allTextContents()).toEqual(["tasks", "users"]);
        expect(await page.getByText("Could not load schema metadata").count()).toBe(0);
      } finally {
        await browser.close();
        studio?.kill();
        rmSync(join(dataDir, ".."), { recursive: true, force: true });
      }
    },
    120_000,
  );
});
