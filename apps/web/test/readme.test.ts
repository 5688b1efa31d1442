/**
 * The README's commands, as a reader would type them. Every `pnpm` command it shows names a
 * script of the root package (or one of pnpm's own commands) and the pnpm the project pins; the
 * Node it asks for is the one `engines` and `.nvmrc` say; and each row of its deployment tables
 * starts, from the repository's root, with exactly the variables the row names (the example
 * origins replaced by loopback ones) and nothing else in its environment, then serves a signed-up
 * person's tasks. Turbo builds both apps first, as for `app.test.ts`.
 */
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import {
  appDatabaseEnv,
  createTestDatabase,
  type TestDatabase,
  testServerUrl,
} from "@tasks/db/testing";
import { freePort } from "@tasks/db/testing/browser";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Service, startService } from "./processes.ts";

const root = join(import.meta.dirname, "../../..");
const readme = readFileSync(join(root, "README.md"), "utf8");
const rootPackage = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as {
  packageManager: string;
  engines: { node: string };
  scripts: Record<string, string>;
};
const execFileAsync = promisify(execFile);
const pinnedPnpm = rootPackage.packageManager.replace(/^pnpm@/, "");

/** pnpm's own commands that the README uses; anything else after `pnpm` must be a root script. */
const PNPM_COMMANDS = new Set(["install", "i", "add", "exec", "dlx", "--filter", "-s", "--silent"]);

/** Every piece of code in the README: fenced blocks' lines and inline `code`. */
function codeSnippets(): string[] {
  const fenced = [...readme.matchAll(/```(?:sh|bash)\n([\s\S]*?)```/g)].flatMap(([, body]) =>
    (body ?? "").split("\n"),
  );
  const inline = [...readme.replaceAll(/```[\s\S]*?```/g, "").matchAll(/`([^`\n]+)`/g)].map(
    ([, code]) => code ?? "",
  );
  return [...fenced, ...inline];
}

/** `pnpm …` invocations in a snippet: [the version asked for, if any; the command's words]. */
function pnpmInvocations(snippet: string): { version?: string; words: string[] }[] {
  // A command begins the snippet, or follows `&&`, `;` or `$(`; prose that mentions pnpm does not.
  const command = /(?:^|&& |; |\$\()(?:npx |npm i -g )?pnpm(?:@([\w.]+))?((?: [\w:.@-]+)*)/g;
  return [...snippet.matchAll(command)].map(([, version, rest]) => ({
    version,
    words: (rest ?? "").trim().split(" ").filter(Boolean),
  }));
}

describe("the README's commands", () => {
  it("name root scripts or pnpm's own commands, and the pnpm the project pins", () => {
    const invocations = codeSnippets().flatMap(pnpmInvocations);
    // The README shows a good number of them; an empty match would prove nothing.
    expect(invocations.length).toBeGreaterThan(20);
    for (const { version, words } of invocations) {
      if (version) expect(pinnedPnpm.startsWith(`${version}.`), `pnpm@${version}`).toBe(true);
      const script = words.find((word) => !PNPM_COMMANDS.has(word) && !word.startsWith("-"));
      if (!script || words[0] === "--filter" || words.includes("exec")) continue;
      if (PNPM_COMMANDS.has(words[0] ?? "")) continue;
      expect(Object.keys(rootPackage.scripts), `pnpm ${words.join(" ")}`).toContain(script);
    }
  });

  it("name scripts that no command of pnpm's own shadows (`pnpm token` would not run a script)", async () => {
    const scripts = new Set(
      codeSnippets()
        .flatMap(pnpmInvocations)
        .map(({ words }) => words.find((word) => !word.startsWith("-")))
        .filter((word): word is string => !!word && word in rootPackage.scripts),
    );
    expect(scripts.size).toBeGreaterThan(10);
    // pnpm's help knows its own commands, and has "No results" for anything else.
    const helps = await Promise.all(
      [...scripts].map(async (script) => {
        const { stdout } = await execFileAsync("pnpm", ["help", script], { cwd: root });
        return [script, stdout] as const;
      }),
    );
    for (const [script, help] of helps) {
      expect(help, `pnpm ${script}`).toContain(`No results for "${script}"`);
    }
  }, 120_000);

  it("ask for the Node that engines, .nvmrc and .node-version say", () => {
    const major = rootPackage.engines.node.match(/^>=(\d+)$/)?.[1];
    expect(major).toBeDefined();
    expect(readme).toContain(`Needs Node ${major}`);
    expect(readFileSync(join(root, ".nvmrc"), "utf8").trim()).toBe(major);
    expect(readFileSync(join(root, ".node-version"), "utf8").trim()).toBe(major);
    expect(Number(process.versions.node.split(".")[0])).toBeGreaterThanOrEqual(Number(major));
  });
});

interface Row {
  part: string;
  commands: string[];
  /** Name → the value the README gives, or undefined where it gives none. */
  variables: Map<string, string | undefined>;
}

/** The rows of the README's deployment tables that name a command to start. */
function deploymentRows(): Row[] {
  const section = readme.slice(readme.indexOf("## Deployment"), readme.indexOf("## Benchmark"));
  return section
    .split("\n")
    .filter((line) => /^\| .*`pnpm start/.test(line))
    .map((line) => {
      const [part = "", start = "", variables = ""] = line
        .split("|")
        .slice(1)
        .map((c) => c.trim());
      const code = (cell: string) => [...cell.matchAll(/`([^`]+)`/g)].map(([, c]) => c ?? "");
      return {
        part,
        commands: code(start).filter((c) => /^(pnpm|node) /.test(c)),
        variables: new Map(
          code(variables).map((c) => {
            const [name = "", ...value] = c.split("=");
            return [name, value.length > 0 ? value.join("=") : undefined];
          }),
        ),
      };
    });
}

const POOL_MAX = testServerUrl() ? "4" : "2";
const SECRET = "readme-test-better-auth-secret-long-enough";

/** Signs a person up at the web app and returns a token of theirs for the API. */
async function personToken(webUrl: string): Promise<string> {
  const headers = { origin: webUrl, "content-type": "application/json" };
  const signUp = await fetch(`${webUrl}/api/auth/sign-up/email`, {
    method: "POST",
    headers,
    body: JSON.stringify({
      email: `reader-${crypto.randomUUID()}@example.com`,
      password: "a long and secret passphrase",
      name: "Reader",
    }),
  });
  expect(signUp.status).toBe(200);
  const cookie = signUp.headers
    .getSetCookie()
    .map((line) => line.split(";")[0])
    .join("; ");
  const token = await fetch(`${webUrl}/api/auth/token`, { headers: { ...headers, cookie } });
  expect(token.status).toBe(200);
  return ((await token.json()) as { token: string }).token;
}

/** Creates a task through `trpcUrl` with the token and reads it back in the list. */
async function servesTasks(trpcUrl: string, token: string) {
  const headers = { authorization: `Bearer ${token}`, "content-type": "application/json" };
  const title = `From the README ${crypto.randomUUID()}`;
  const created = await fetch(`${trpcUrl}/task.create`, {
    method: "POST",
    headers,
    body: JSON.stringify({ json: { title } }),
  });
  expect(created.status).toBe(200);
  const list = await fetch(`${trpcUrl}/task.list`, { headers });
  expect(list.status).toBe(200);
  const { result } = (await list.json()) as { result: { data: { json: { items: unknown[] } } } };
  expect(result.data.json.items).toContainEqual(expect.objectContaining({ title }));
}

describe("the README's deployments, started as it says", () => {
  const rows = deploymentRows();
  let database: TestDatabase;
  let webUrl: string;
  let apiOrigin: string;
  let webPort: number;
  let apiPort: number;
  const services: Service[] = [];

  beforeAll(async () => {
    database = await createTestDatabase();
    [webPort, apiPort] = await Promise.all([freePort(), freePort()]);
    webUrl = `http://127.0.0.1:${webPort}`;
    apiOrigin = `http://127.0.0.1:${apiPort}`;
  });
  afterAll(async () => {
    for (const service of services.reverse()) await service.stop();
    await database?.drop();
  });

  /** The row's variables with loopback values; only PATH and HOME besides (and a pool size). */
  function environment(row: Row, port: number): Record<string, string | undefined> {
    const env: Record<string, string | undefined> = {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      PORT: String(port),
      DATABASE_POOL_MAX: POOL_MAX,
    };
    for (const [name, value] of row.variables) {
      if (value !== undefined) {
        env[name] = value
          .replaceAll("https://app.example.com", webUrl)
          .replaceAll("https://api.example.com", apiOrigin);
      } else if (name === "DATABASE_URL") {
        // As the README says: the app's role (on the embedded database, the role it takes).
        Object.assign(env, appDatabaseEnv(database.url));
      } else if (name === "BETTER_AUTH_SECRET") env[name] = SECRET;
      else throw new Error(`the README names ${name} with no value, and this test has none`);
    }
    return env;
  }

  function start(row: Row, command: string, port: number, readyPath: string) {
    const [program = "", ...args] = command.split(" ");
    return startService(`${row.part}: ${command}`, args, {
      command: program === "node" ? process.execPath : program,
      cwd: root,
      // Only what is listed: not even NODE_ENV, which the types of Next.js take to be always set.
      env: environment(row, port) as NodeJS.ProcessEnv,
      readyUrl: `http://127.0.0.1:${port}${readyPath}`,
      timeoutMs: 60_000,
    });
  }

  it("has the rows: the web app and the API server, and the web app alone", () => {
    expect(rows.map((row) => row.part)).toEqual(["web app", "API server", "web app alone"]);
    for (const row of rows) expect(row.commands.length).toBeGreaterThan(0);
  });

  it("the web app and the API server: each starts with its own variables alone", async () => {
    const [web, api] = rows;
    if (!web || !api) throw new Error("missing rows");
    // Neither needs the other's variables: the API server starts while the web app is down.
    for (const name of web.variables.keys())
      if (!api.variables.has(name)) expect(environment(api, apiPort)[name]).toBeUndefined();
    const webCommand = web.commands[0] as string;
    services.push(await start(web, webCommand, webPort, "/sign-in"));
    const token = await personToken(webUrl);
    for (const command of api.commands) {
      const service = await start(api, command, apiPort, "/ready");
      await servesTasks(`${apiOrigin}/trpc`, token);
      await service.stop();
    }
    await services.pop()?.stop();
  }, 180_000);

  it("the web app alone serves the API from its own route handler", async () => {
    const alone = rows[2];
    if (!alone) throw new Error("missing row");
    expect(alone.variables.has("API_URL")).toBe(false);
    services.push(await start(alone, alone.commands[0] as string, webPort, "/sign-in"));
    await servesTasks(`${webUrl}/api/trpc`, await personToken(webUrl));
  }, 120_000);

  it("the web app's own API has the API server's limits: batch size and body size", async () => {
    const authorization = `Bearer ${await personToken(webUrl)}`;
    const calls = (count: number) => Array.from({ length: count }, () => "task.stats").join(",");
    const within = await fetch(`${webUrl}/api/trpc/${calls(20)}?batch=1`, {
      headers: { authorization },
    });
    expect(within.status).toBe(200);
    const over = await fetch(`${webUrl}/api/trpc/${calls(21)}?batch=1`, {
      headers: { authorization },
    });
    expect(over.status).toBe(400);
    expect(JSON.stringify(await over.json())).toContain(
      "A request may batch at most 20 calls (BATCH_MAX_CALLS); this one has 21.",
    );
    const huge = await fetch(`${webUrl}/api/trpc/task.create`, {
      method: "POST",
      headers: { authorization, "content-type": "application/json" },
      body: JSON.stringify({ json: { title: "x", description: "y".repeat(200 * 1024) } }),
    });
    expect(huge.status).toBe(413);
  }, 60_000);
});
