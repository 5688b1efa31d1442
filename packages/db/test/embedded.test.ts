import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { openEmbedded } from "../src/embedded.ts";
import { query } from "../src/testing.ts";

const root = mkdtempSync(join(tmpdir(), "embedded-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe("the embedded database", () => {
  it("persists across opens, and a second opener joins the first", async () => {
    const dataDir = join(root, "persist");
    const first = await openEmbedded(dataDir);
    expect(first.owned).toBe(true);
    await query(first.url, "CREATE TABLE kept (n int); INSERT INTO kept VALUES (42)");

    const second = await openEmbedded(dataDir);
    expect(second).toMatchObject({ owned: false, url: first.url });
    await first.close();
    expect(existsSync(`${dataDir}.json`)).toBe(false);

    const reopened = await openEmbedded(dataDir);
    expect(await query(reopened.url, "SELECT n FROM kept")).toEqual([{ n: 42 }]);
    await reopened.close();
  });

  it("is prepared (migrated) by its opener before anyone can join it", async () => {
    const dataDir = join(root, "prepare");
    let prepared = false;
    const opening = openEmbedded(dataDir, {
      async prepare(url) {
        await new Promise((resolve) => setTimeout(resolve, 300));
        await query(url, "CREATE TABLE ready (n int)");
        prepared = true;
      },
    });
    await new Promise((resolve) => setTimeout(resolve, 50));
    const joiner = await openEmbedded(dataDir);
    expect(prepared).toBe(true);
    expect(await query(joiner.url, "SELECT count(*)::int AS n FROM ready")).toEqual([{ n: 0 }]);
    await (await opening).close();
  });

  it("takes over a record left by a dead process", async () => {
    const dataDir = join(root, "stale");
    const dead = spawn(process.execPath, ["-e", ""]);
    await new Promise((done) => dead.on("exit", done));
    writeFileSync(
      `${dataDir}.json`,
      JSON.stringify({ pid: dead.pid, url: "postgres://x@127.0.0.1:1/x" }),
    );
    const server = await openEmbedded(dataDir);
    expect(server.owned).toBe(true);
    expect(JSON.parse(readFileSync(`${dataDir}.json`, "utf8")).pid).toBe(process.pid);
    await server.close();
  });

  it("two processes opening at once share one server", async () => {
    const dataDir = join(root, "race");
    const script = `
      import { openEmbedded } from ${JSON.stringify(join(import.meta.dirname, "../src/embedded.ts"))};
      const db = await openEmbedded(${JSON.stringify(dataDir)});
      console.log(JSON.stringify({ owned: db.owned, url: db.url }));
      setTimeout(() => db.close().then(() => process.exit(0)), 1500);
    `;
    const run = () =>
      new Promise<{ owned: boolean; url: string }>((resolve, reject) => {
        const child = spawn(process.execPath, [
          "--import",
          "tsx",
          "--input-type=module",
          "-e",
          script,
        ]);
        let out = "";
        child.stdout.on("data", (chunk) => {
          out += chunk;
          if (out.includes("\n")) resolve(JSON.parse(out));
        });
        child.on("exit", (code) =>
          code ? reject(new Error(`exit ${code}`)) : resolve(JSON.parse(out)),
        );
      });
    const results = await Promise.all([run(), run()]);
    expect(results.map((r) => r.owned).sort()).toEqual([false, true]);
    expect(results[0]?.url).toBe(results[1]?.url);
  });

  // Two Prisma CLI commands, each opening the data directory: slow on a busy machine.
  it("serves the Prisma CLI when DATABASE_URL is unset, and lets each command exit", {
    timeout: 90_000,
  }, async () => {
    const dataDir = join(root, "cli");
    /** Runs the CLI; `lingeredMs` is how long the process lived after its last output. */
    const prisma = (...args: string[]) =>
      new Promise<{ code: number | null; stdout: string; lingeredMs: number }>((resolve) => {
        const child = spawn(join(import.meta.dirname, "../../../node_modules/.bin/prisma"), args, {
          cwd: join(import.meta.dirname, "../../.."),
          env: { ...process.env, DATABASE_URL: "", PGLITE_DATA_DIR: dataDir },
        });
        let stdout = "";
        let lastOutput = performance.now();
        const record = (chunk: Buffer) => {
          lastOutput = performance.now();
          return chunk;
        };
        child.stdout.on("data", (chunk) => {
          stdout += record(chunk);
        });
        child.stderr.on("data", record);
        const killer = setTimeout(() => child.kill(), 60_000);
        child.on("exit", (code) => {
          clearTimeout(killer);
          resolve({ code, stdout, lingeredMs: performance.now() - lastOutput });
        });
      });
    const deploy = await prisma("migrate", "deploy");
    expect(deploy).toMatchObject({
      code: 0,
      stdout: expect.stringContaining("successfully applied"),
    });
    const status = await prisma("migrate", "status");
    expect(status).toMatchObject({ code: 0, stdout: expect.stringContaining("up to date") });
    // PGlite's own timers and the open server must not hold a finished command (they would
    // for seconds): once it has said its last word, the process ends.
    for (const run of [deploy, status]) expect(run.lingeredMs).toBeLessThan(3_000);
    expect(existsSync(`${dataDir}.json`)).toBe(false);
  });
});
