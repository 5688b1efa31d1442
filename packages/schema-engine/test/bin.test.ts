// The stand-in binary, spoken to directly the way the Prisma CLI speaks to it.
import { type ChildProcessWithoutNullStreams, execFile, spawn } from "node:child_process";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { describe, it } from "vitest";
import { createDatabase, engineBin, repoRoot, testServerUrl } from "./support.ts";

interface Message {
  id?: number;
  method?: string;
  params?: { content?: string };
  result?: unknown;
  error?: { code: number; message: string; data?: Record<string, unknown> };
}

/** The engine in server mode, answering JSON-RPC requests and sending `print` ones. */
function startEngine(args: string[] = []) {
  const child: ChildProcessWithoutNullStreams = spawn(process.execPath, [engineBin, ...args]);
  const printed: string[] = [];
  const waiting = new Map<number, (message: Message) => void>();
  createInterface({ input: child.stdout }).on("line", (line) => {
    const message: Message = JSON.parse(line);
    if (message.method === "print") {
      printed.push(message.params?.content ?? "");
      child.stdin.write(`${JSON.stringify({ jsonrpc: "2.0", id: message.id, result: {} })}\n`);
    } else if (message.id !== undefined) {
      waiting.get(message.id)?.(message);
    }
  });
  let nextId = 1;
  return {
    printed,
    request(method: string, params?: unknown): Promise<Message> {
      const id = nextId++;
      return new Promise((resolve) => {
        waiting.set(id, resolve);
        child.stdin.write(`${JSON.stringify({ jsonrpc: "2.0", id, method, params })}\n`);
      });
    },
    stop: () => {
      child.stdin.end();
      return new Promise<void>((exited) => child.once("exit", () => exited()));
    },
  };
}

function runEngine(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [engineBin, ...args], (error, stdout, stderr) => {
      resolve({ code: error ? Number(error.code) : 0, stdout, stderr });
    });
  });
}

describe.concurrent("bin/schema-engine.js", () => {
  it("reports its version", async ({ expect }) => {
    const { stdout } = await runEngine(["--version"]);
    expect(stdout).toMatch(/^schema-engine-cli [0-9a-f]{40}\n$/);
  });

  it("prints a diff through the CLI, without a database", async ({ expect, onTestFinished }) => {
    const engine = startEngine();
    onTestFinished(engine.stop);
    const path = join(repoRoot, "prisma", "schema.prisma");
    const files = [{ path, content: await readFile(path, "utf8") }];

    const response = await engine.request("diff", {
      from: { tag: "empty" },
      to: { tag: "schemaDatamodel", files },
      script: true,
      exitCode: true,
      filters: { externalTables: [], externalEnums: [] },
    });

    expect(response.result).toEqual({ exitCode: 2, stdout: null });
    expect(engine.printed.join("")).toContain('CREATE TABLE "tasks"');
  });

  it("answers a panic with an error, and unknown methods with JSON-RPC's", async ({
    expect,
    onTestFinished,
  }) => {
    const engine = startEngine();
    onTestFinished(engine.stop);

    const unknown = await engine.request("getDatabaseDescription", {});
    expect(unknown.error?.code).toBe(-32601);
    const panic = await engine.request("debugPanic");
    expect(panic.error?.data).toMatchObject({
      is_panic: true,
      message: expect.stringContaining("This is the debugPanic artificial panic"),
    });
    const afterwards = await engine.request("getDatabaseVersion");
    expect(afterwards.error?.data).toMatchObject({ is_panic: true });
  });

  // PGlite ignores database names: only a real server has missing databases.
  it.runIf(testServerUrl())(
    "tells the CLI a database is missing (P1003), then creates it",
    async ({ expect, onTestFinished }) => {
      const { url, drop } = await createDatabase();
      await drop();
      onTestFinished(drop);
      const datasource = ["--datasource", JSON.stringify({ url })];

      const missing = await runEngine([...datasource, "cli", "can-connect-to-database"]);
      expect(missing.code).toBe(1);
      // The CLI skips the first line and reads every other one as JSON.
      const [, ...logs] = missing.stderr.trim().split("\n");
      expect(logs.map((line) => JSON.parse(line))).toContainEqual(
        expect.objectContaining({
          level: "ERROR",
          target: "schema_engine::logger",
          fields: expect.objectContaining({ error_code: "P1003" }),
        }),
      );

      expect(await runEngine([...datasource, "cli", "create-database"])).toMatchObject({ code: 0 });
      expect(await runEngine([...datasource, "cli", "can-connect-to-database"])).toMatchObject({
        code: 0,
      });
    },
  );
});
