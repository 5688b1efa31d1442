/**
 * The REST face (`/api`) as a client in another language sees it: a client generated from the
 * served OpenAPI document (`openapi-typescript` + `openapi-fetch`), against the real server,
 * database and tokens.
 */
import { mkdtemp, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Validator } from "@seriousme/openapi-schema-validator";
import { createTokenVerifier } from "@tasks/api";
import { connectTestDb } from "@tasks/db/testing";
import { browserMissing, freePort, launchChromium } from "@tasks/db/testing/browser";
import { TRPCClientError } from "@trpc/client";
import { generateKeyPair } from "jose";
import createClient from "openapi-fetch";
import openapiTS, { astToString } from "openapi-typescript";
import ts from "typescript";
import { beforeAll, describe, expect, it } from "vitest";
import { createLogger } from "../src/logger.ts";
import { createApiServer } from "../src/server.ts";
import { authConfigs, listen, signToken, snapshot, useTestApi } from "./support.ts";

const setup = useTestApi("jwks");
const require = createRequire(import.meta.url);

/** Every route of the issue, as `METHOD path` with the procedure behind it. */
const ROUTES = {
  "GET /tasks": "task.list",
  "POST /tasks": "task.create",
  "GET /tasks/{id}": "task.byId",
  "PATCH /tasks/{id}": "task.update",
  "PUT /tasks/{id}": "task.put",
  "DELETE /tasks/{id}": "task.delete",
  "GET /tasks/status/{status}": "task.byStatus",
  "GET /stats": "task.stats",
  "GET /me": "user.me",
  "PATCH /me": "user.update",
  "DELETE /me": "user.delete",
};

type Method = "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
interface ErrorBody {
  code: string;
  message: string;
  issues?: { path: (string | number)[]; message: string }[];
  data?: { httpStatus: number; zodError: { fieldErrors: Record<string, string[]> } | null };
}

let document: Record<string, unknown>;
let generatedTypes: string;
let generatedDir: string;

beforeAll(async () => {
  const response = await fetch(`${setup.api.url}/api/openapi.json`);
  expect(response.status).toBe(200);
  document = (await response.json()) as Record<string, unknown>;
  // What a client in any language starts from: code generated from the served document.
  generatedTypes = astToString(await openapiTS(document as never));
  generatedDir = await mkdtemp(join(tmpdir(), "tasks-rest-"));
  await writeFile(join(generatedDir, "api.d.ts"), generatedTypes);
});

/** A program using the generated types as a client would; compiled by TypeScript, not run. */
const CLIENT_USE = `
import createClient from "openapi-fetch";
import type { paths } from "./api";

const api = createClient<paths>({ baseUrl: "http://127.0.0.1/api" });

export async function use(id: string) {
  const { data } = await api.GET("/tasks/{id}", { params: { path: { id } } });
  const due: string | null | undefined = data?.dueAt;
  await api.PUT("/tasks/{id}", { params: { path: { id } }, body: { completed: true } });
  await api.GET("/tasks", { params: { query: { limit: 5, cursor: "next" } } });
  await api.GET("/tasks/status/{status}", { params: { path: { status: "open" } } });
  // @ts-expect-error the status is open or completed
  await api.GET("/tasks/status/{status}", { params: { path: { status: "done" } } });
  // @ts-expect-error a title is text
  await api.POST("/tasks", { body: { title: 42 } });
  return due;
}
`;

/** A client generated for the document, signed in with `token` (or sending `authorization` as is). */
function client(auth?: { token?: string; authorization?: string }) {
  const authorization = auth?.authorization ?? (auth?.token ? `Bearer ${auth.token}` : undefined);
  // The document's types are generated while the test runs, after this file was compiled.
  // biome-ignore lint/suspicious/noExplicitAny: see above
  return createClient<any>({
    baseUrl: `${setup.api.url}/api`,
    headers: authorization ? { authorization } : {},
  });
}

type Client = ReturnType<typeof client>;

/** One call through the generated client: status and parsed body. */
async function call(
  api: Client,
  method: Method,
  path: string,
  options: { path?: Record<string, string>; query?: Record<string, unknown>; body?: unknown } = {},
) {
  const init = {
    params: { path: options.path, query: options.query },
    ...(options.body === undefined ? {} : { body: options.body }),
  };
  const result = await api[method](path, init);
  return {
    status: result.response.status,
    data: result.data as Record<string, unknown> & { items?: Record<string, unknown>[] },
    error: result.error as ErrorBody,
  };
}

const aliceClaims = { sub: "alice", email: "alice@example.com" };
const tokenFor = (claims: { sub: string; email: string }) =>
  signToken(claims, { jwks: setup.jwks });

describe("the OpenAPI document", () => {
  it("is valid OpenAPI 3.1 by an independent validator", async () => {
    const validator = new Validator();
    const result = await validator.validate(document);
    expect(result.errors).toBeUndefined();
    expect(result.valid).toBe(true);
    expect(validator.version).toBe("3.1");
  });

  it("has every route, the bearer scheme on each, and the error shapes, never a 403", () => {
    const paths = document.paths as Record<string, Record<string, Record<string, unknown>>>;
    for (const route of Object.keys(ROUTES)) {
      const [method = "", path = ""] = route.split(" ");
      const operation = paths[path]?.[method.toLowerCase()];
      expect(operation, route).toBeDefined();
      expect(operation?.security).toEqual([{ bearer: [] }]);
      const responses = operation?.responses as Record<string, unknown>;
      expect(Object.keys(responses).sort()).toEqual(
        ["200", "400", "401", "404", "413", "500", "503"].sort(),
      );
    }
    // The change stream, served beside the procedures, is described for SSE clients.
    const events = paths["/tasks/events"]?.get;
    expect(events?.security).toEqual([{ bearer: [] }]);
    expect(String(events?.description)).toContain("Last-Event-ID");
    expect(Object.keys(events?.responses as object)).toEqual(["200", "401", "429"]);
    const components = document.components as Record<string, Record<string, unknown>>;
    expect(components.securitySchemes).toEqual({
      bearer: { type: "http", scheme: "bearer", bearerFormat: "JWT" },
    });
    expect(Object.keys(components.schemas ?? {})).toEqual(
      expect.arrayContaining(["Task", "TaskPage", "User", "error.UNAUTHORIZED", "error.NOT_FOUND"]),
    );
    expect(JSON.stringify(document)).not.toContain('"403"');
  });

  it("titles each error schema by its error and status, as the docs page shows them", () => {
    const schemas = (document.components as { schemas: Record<string, { title?: string }> })
      .schemas;
    const titles = Object.entries(schemas)
      .filter(([name]) => name.startsWith("error."))
      .map(([, schema]) => schema.title);
    expect(titles).toContain("Internal server error (500)");
    expect(titles).toContain("Not found (404)");
    // trpc-to-openapi's own titles add " error" to the description: "… error error (500)".
    expect(titles.filter((title) => /error error/i.test(title ?? ""))).toEqual([]);
  });

  it("generates client types that a TypeScript client compiles against", async () => {
    await writeFile(join(generatedDir, "use.ts"), CLIENT_USE);
    const program = ts.createProgram([join(generatedDir, "use.ts")], {
      strict: true,
      noEmit: true,
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.ESNext,
      moduleResolution: ts.ModuleResolutionKind.Bundler,
      skipLibCheck: true,
      // The generated files live outside the project; openapi-fetch is the project's.
      paths: {
        "openapi-fetch": [require.resolve("openapi-fetch").replace(/index\.cjs$/, "index.d.mts")],
      },
    });
    const problems = ts
      .getPreEmitDiagnostics(program)
      .map((d) => ts.flattenDiagnosticMessageText(d.messageText, "\n"));
    expect(problems).toEqual([]);
  });

  it("generates client types with every path and operation", () => {
    for (const path of ["/tasks", "/tasks/{id}", "/tasks/status/{status}", "/stats", "/me"]) {
      expect(generatedTypes).toContain(`"${path}": {`);
    }
    // Dates are ISO strings to a generated client: the Task schema says so.
    const task = generatedTypes.slice(generatedTypes.indexOf("Task: {"));
    expect(task.slice(0, task.indexOf("};"))).toContain("dueAt: string | null;");
  });
});

describe("CRUD through the generated client", () => {
  let alice: Client;
  beforeAll(async () => {
    alice = client({ token: await tokenFor(aliceClaims) });
  });

  it("creates, reads, patches, puts, lists by status and deletes, in plain JSON", async () => {
    const dueAt = "2030-01-02T03:04:05.678Z";
    const created = await call(alice, "POST", "/tasks", {
      body: { title: "Buy milk", priority: "HIGH", dueAt },
    });
    expect(created.status).toBe(200);
    expect(created.data).toMatchObject({ title: "Buy milk", priority: "HIGH", dueAt });
    expect(created.data.createdAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    const id = String(created.data.id);

    expect((await call(alice, "GET", "/tasks/{id}", { path: { id } })).data).toEqual(created.data);

    const patched = await call(alice, "PATCH", "/tasks/{id}", {
      path: { id },
      body: { completed: true },
    });
    expect(patched.status).toBe(200);
    expect(patched.data).toMatchObject({ title: "Buy milk", completed: true, dueAt });

    // PUT means what PATCH means: the fields not sent stay as they were.
    const put = await call(alice, "PUT", "/tasks/{id}", {
      path: { id },
      body: { title: "Buy oat milk", dueAt: null },
    });
    expect(put.status).toBe(200);
    expect(put.data).toMatchObject({ title: "Buy oat milk", completed: true, priority: "HIGH" });
    expect(put.data.dueAt).toBeNull();

    const open = await call(alice, "POST", "/tasks", { body: { title: "Call mum" } });
    const byStatus = async (status: string) =>
      (await call(alice, "GET", "/tasks/status/{status}", { path: { status } })).data.items?.map(
        (task) => task.title,
      );
    expect(await byStatus("completed")).toEqual(["Buy oat milk"]);
    expect(await byStatus("open")).toEqual(["Call mum"]);
    const listed = await call(alice, "GET", "/tasks", { query: { completed: false } });
    expect(listed.data.items?.map((task) => task.title)).toEqual(["Call mum"]);
    expect((await call(alice, "GET", "/stats")).data).toEqual({ total: 2, completed: 1, open: 1 });

    const deleted = await call(alice, "DELETE", "/tasks/{id}", { path: { id } });
    expect(deleted).toMatchObject({ status: 200, data: { id } });
    const gone = await call(alice, "GET", "/tasks/{id}", { path: { id } });
    expect(gone.status).toBe(404);
    expect(gone.error).toMatchObject({ code: "NOT_FOUND", message: "Not found." });
    await call(alice, "DELETE", "/tasks/{id}", { path: { id: String(open.data.id) } });
  });

  it("pages by the opaque cursor in the query string, newest first", async () => {
    for (const title of ["p1", "p2", "p3", "p4", "p5"]) {
      await call(alice, "POST", "/tasks", { body: { title } });
    }
    const titles: string[] = [];
    let cursor: string | undefined;
    for (let page = 0; page < 5; page++) {
      const { status, data } = await call(alice, "GET", "/tasks", {
        query: { limit: 2, search: "p", ...(cursor ? { cursor } : {}) },
      });
      expect(status).toBe(200);
      titles.push(...(data.items ?? []).map((task) => String(task.title)));
      cursor = (data.nextCursor as string | null) ?? undefined;
      if (!cursor) break;
    }
    expect(titles).toEqual(["p5", "p4", "p3", "p2", "p1"]);
    const byStatusPage = await call(alice, "GET", "/tasks/status/{status}", {
      path: { status: "open" },
      query: { limit: 4 },
    });
    expect(byStatusPage.data.items).toHaveLength(4);
    expect(byStatusPage.data.nextCursor).toBeTypeOf("string");
  });

  it("reads, renames and deletes the account; a deleted account's token then gets 401", async () => {
    const carol = client({ token: await tokenFor({ sub: "carol", email: "Carol@Example.com" }) });
    expect((await call(carol, "GET", "/me")).data).toMatchObject({
      id: "carol",
      email: "carol@example.com",
      name: null,
    });
    const renamed = await call(carol, "PATCH", "/me", { body: { name: "Carol" } });
    expect(renamed).toMatchObject({ status: 200, data: { id: "carol", name: "Carol" } });
    await call(carol, "POST", "/tasks", { body: { title: "carol's" } });
    expect(await call(carol, "DELETE", "/me")).toMatchObject({
      status: 200,
      data: { id: "carol" },
    });
    const after = await call(carol, "GET", "/me");
    expect(after.status).toBe(401);
    expect(after.error.code).toBe("UNAUTHORIZED");
    expect(await setup.api.db.task.count({ where: { userId: "carol" } })).toBe(0);
  });
});

describe("isolation: another user's task is a 404 on every route, and nothing changes", () => {
  it("bob gets 404 for each of alice's ids, the same answer as for a missing id", async () => {
    const alice = client({ token: await tokenFor(aliceClaims) });
    const bob = client({ token: await tokenFor({ sub: "bob", email: "bob@example.com" }) });
    const ids: string[] = [];
    for (const title of ["a1", "a2"]) {
      ids.push(String((await call(alice, "POST", "/tasks", { body: { title } })).data.id));
    }
    await call(bob, "POST", "/tasks", { body: { title: "b1" } });
    const before = await snapshot(setup.api.db);
    const answers = new Set<string>();
    const missing = "01890a5d-ac96-774b-bcce-b302099a8057";
    for (const id of [...ids, missing]) {
      const attempts = [
        call(bob, "GET", "/tasks/{id}", { path: { id } }),
        call(bob, "PATCH", "/tasks/{id}", { path: { id }, body: { title: "mine now" } }),
        call(bob, "PUT", "/tasks/{id}", { path: { id }, body: { completed: true } }),
        call(bob, "DELETE", "/tasks/{id}", { path: { id } }),
      ];
      for (const { status, error } of await Promise.all(attempts)) {
        expect(status).toBe(404);
        answers.add(JSON.stringify({ code: error.code, message: error.message }));
      }
    }
    expect([...answers]).toEqual([JSON.stringify({ code: "NOT_FOUND", message: "Not found." })]);
    expect(await snapshot(setup.api.db)).toBe(before);
    // The routes without an id show bob his own rows only.
    const listed = await call(bob, "GET", "/tasks", { query: { limit: 100 } });
    expect(listed.data.items?.map((task) => task.title)).toEqual(["b1"]);
    const completed = await call(bob, "GET", "/tasks/status/{status}", {
      path: { status: "completed" },
    });
    expect(completed.data.items).toEqual([]);
    expect((await call(bob, "GET", "/stats")).data).toEqual({ total: 1, completed: 0, open: 1 });
    expect((await call(bob, "GET", "/me")).data).toMatchObject({ id: "bob" });
  });
});

describe("token attacks get 401 on every route and write nothing", () => {
  const claims = { sub: "mallory", email: "mallory@example.com" };
  const base64url = (value: object) => Buffer.from(JSON.stringify(value)).toString("base64url");
  const attacks: Record<string, () => Promise<string | undefined>> = {
    "no header": async () => undefined,
    "malformed header": async () => `Token ${await tokenFor(claims)}`,
    "not a JWT": async () => "Bearer not-a-jwt",
    "alg none": async () =>
      `Bearer ${base64url({ alg: "none" })}.${base64url({ ...claims, exp: 9999999999 })}.`,
    expired: async () =>
      `Bearer ${await signToken(claims, { jwks: setup.jwks, expiresIn: Math.floor(Date.now() / 1000) - 60 })}`,
    "wrong signature": async () => {
      const { privateKey } = await generateKeyPair("EdDSA");
      return `Bearer ${await signToken(claims, { alg: "EdDSA", key: privateKey, kid: setup.jwks.kid })}`;
    },
  };
  const someId = "01890a5d-ac96-774b-bcce-b302099a8057";
  const requests: [Method, string, Parameters<typeof call>[3]][] = [
    ["GET", "/tasks", {}],
    ["POST", "/tasks", { body: { title: "pwned" } }],
    ["GET", "/tasks/{id}", { path: { id: someId } }],
    ["PATCH", "/tasks/{id}", { path: { id: someId }, body: { title: "pwned" } }],
    ["PUT", "/tasks/{id}", { path: { id: someId }, body: { title: "pwned" } }],
    ["DELETE", "/tasks/{id}", { path: { id: someId } }],
    ["GET", "/tasks/status/{status}", { path: { status: "open" } }],
    ["GET", "/stats", {}],
    ["GET", "/me", {}],
    ["PATCH", "/me", { body: { name: "pwned" } }],
    ["DELETE", "/me", {}],
  ];

  for (const [name, header] of Object.entries(attacks)) {
    it(name, async () => {
      const before = await snapshot(setup.api.db);
      const api = client({ authorization: await header() });
      for (const [method, path, options] of requests) {
        const { status, error } = await call(api, method, path, options);
        expect({ route: `${method} ${path}`, status, code: error?.code }).toEqual({
          route: `${method} ${path}`,
          status: 401,
          code: "UNAUTHORIZED",
        });
      }
      expect(await snapshot(setup.api.db)).toBe(before);
    });
  }
});

describe("bad input is a 400 that names the field", () => {
  let alice: Client;
  let id: string;
  beforeAll(async () => {
    alice = client({ token: await tokenFor(aliceClaims) });
    id = String((await call(alice, "POST", "/tasks", { body: { title: "kept" } })).data.id);
  });

  const cases: Record<string, [Method, string, () => Parameters<typeof call>[3], string]> = {
    "blank title": ["POST", "/tasks", () => ({ body: { title: "   " } }), "title"],
    "title with NUL": ["POST", "/tasks", () => ({ body: { title: "a\0b" } }), "title"],
    "dueAt not a date": [
      "POST",
      "/tasks",
      () => ({ body: { title: "t", dueAt: "tomorrow" } }),
      "dueAt",
    ],
    "dueAt after 9999": [
      "POST",
      "/tasks",
      () => ({ body: { title: "t", dueAt: "+010000-01-01T00:00:00.000Z" } }),
      "dueAt",
    ],
    "unknown priority": [
      "POST",
      "/tasks",
      () => ({ body: { title: "t", priority: "URGENT" } }),
      "priority",
    ],
    "completed not a boolean": [
      "PATCH",
      "/tasks/{id}",
      () => ({ path: { id }, body: { completed: "yes" } }),
      "completed",
    ],
    "completed as text in a body": [
      "PUT",
      "/tasks/{id}",
      () => ({ path: { id }, body: { completed: "false" } }),
      "completed",
    ],
    "id not a UUID": ["GET", "/tasks/{id}", () => ({ path: { id: "42" } }), "id"],
    "limit 0": ["GET", "/tasks", () => ({ query: { limit: 0 } }), "limit"],
    "limit not a number": ["GET", "/tasks", () => ({ query: { limit: "ten" } }), "limit"],
    "completed=yes in the query": [
      "GET",
      "/tasks",
      () => ({ query: { completed: "yes" } }),
      "completed",
    ],
    "bad cursor": ["GET", "/tasks", () => ({ query: { cursor: "nonsense" } }), "cursor"],
    "unknown status": [
      "GET",
      "/tasks/status/{status}",
      () => ({ path: { status: "done" } }),
      "status",
    ],
    "image not an http(s) URL": [
      "PATCH",
      "/me",
      () => ({ body: { image: "javascript:x" } }),
      "image",
    ],
  };

  for (const [name, [method, path, options, field]] of Object.entries(cases)) {
    it(name, async () => {
      const before = await snapshot(setup.api.db);
      const { status, error } = await call(alice, method, path, options());
      expect(status).toBe(400);
      expect(error.code).toBe("BAD_REQUEST");
      expect(Object.keys(error.data?.zodError?.fieldErrors ?? {})).toEqual([field]);
      expect(error.issues?.[0]?.path[0]).toBe(field);
      expect(await snapshot(setup.api.db)).toBe(before);
    });
  }

  it("an unknown key is refused, not ignored", async () => {
    const { status, error } = await call(alice, "POST", "/tasks", {
      body: { title: "t", userId: "bob" },
    });
    expect(status).toBe(400);
    expect(error.issues?.[0]).toMatchObject({ code: "unrecognized_keys", keys: ["userId"] });
  });

  it("a body over the limit is a 413, as on /trpc", async () => {
    const before = await snapshot(setup.api.db);
    const response = await fetch(`${setup.api.url}/api/tasks`, {
      method: "POST",
      headers: {
        authorization: `Bearer ${await tokenFor(aliceClaims)}`,
        "content-type": "application/json",
      },
      body: JSON.stringify({ title: "t", description: "x".repeat(200 * 1024) }),
    });
    expect(response.status).toBe(413);
    expect(await response.json()).toMatchObject({ code: "PAYLOAD_TOO_LARGE" });
    expect(await snapshot(setup.api.db)).toBe(before);
  });

  it("a JSON body with `; charset=utf-8` is read like plain `application/json`", async () => {
    const response = await fetch(`${setup.api.url}/api/tasks`, {
      method: "POST",
      headers: {
        authorization: `Bearer ${await tokenFor(aliceClaims)}`,
        "content-type": "application/json; charset=UTF-8",
      },
      body: JSON.stringify({ title: "Crème brûlée 🍮" }),
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ title: "Crème brûlée 🍮" });
  });

  it("an unknown route under /api is a JSON 404", async () => {
    const response = await fetch(`${setup.api.url}/api/nothing`);
    expect(response.status).toBe(404);
    expect(await response.json()).toMatchObject({ code: "NOT_FOUND" });
  });
});

describe("an unreachable database", () => {
  it("is a 503 on REST as on /trpc, and the body says so without the connection string", async () => {
    // Nothing listens on this port: every connection is refused at once.
    const database = await connectTestDb(`postgres://postgres@127.0.0.1:${await freePort()}/x`);
    const server = createApiServer({
      config: {
        corsOrigins: [],
        bodyLimitBytes: 100 * 1024,
        batchMaxCalls: 20,
        knownUserTtlMs: 60_000,
        requestTimeoutMs: 10_000,
      },
      database,
      verifyToken: createTokenVerifier(authConfigs(setup.jwks).jwks),
      logger: createLogger("silent"),
    });
    try {
      const url = await listen(server);
      const token = await tokenFor({ sub: "dave", email: "dave@example.com" });
      const api = createClient<Record<string, never>>({
        baseUrl: `${url}/api`,
        headers: { authorization: `Bearer ${token}` },
      });
      const { response, error } = await api.GET("/tasks" as never);
      expect(response.status).toBe(503);
      expect(error).toMatchObject({
        code: "SERVICE_UNAVAILABLE",
        message: "The database is unavailable; try again shortly.",
      });
      expect(JSON.stringify(error)).not.toContain("postgres://");
    } finally {
      server.closeAllConnections();
      await new Promise((done) => server.close(done));
      await database.close();
    }
  });
});

describe("the tRPC face keeps its own rules after REST calls", () => {
  it("still refuses text for booleans and still returns Dates through superjson", async () => {
    const alice = setup.api.client(await tokenFor(aliceClaims));
    const rest = client({ token: await tokenFor(aliceClaims) });
    // REST calls first: nothing they do may loosen what tRPC accepts.
    await call(rest, "GET", "/tasks", { query: { completed: "false", limit: "5" } });
    const { data } = await call(rest, "POST", "/tasks", { body: { title: "via REST" } });
    const id = String(data.id);
    const refused = await alice.task.update
      .mutate({ id, completed: "false" as unknown as boolean })
      .then(
        () => null,
        (error: unknown) => error,
      );
    expect(refused).toBeInstanceOf(TRPCClientError);
    expect((refused as TRPCClientError<never>).data).toMatchObject({ code: "BAD_REQUEST" });
    const dueAt = new Date("2031-05-06T07:08:09.010Z");
    const viaTrpc = await alice.task.update.mutate({ id, dueAt });
    expect(viaTrpc.dueAt).toBeInstanceOf(Date);
    expect(viaTrpc.dueAt?.toISOString()).toBe(dueAt.toISOString());
    // And REST reads the same row as an ISO string.
    expect((await call(rest, "GET", "/tasks/{id}", { path: { id } })).data.dueAt).toBe(
      dueAt.toISOString(),
    );
  });
});

describe.skipIf(browserMissing)("the docs page", () => {
  it("renders the document in Chromium from this server alone, with the task paths", async () => {
    const browser = await launchChromium();
    try {
      const page = await browser.newPage();
      const outside: string[] = [];
      page.on("request", (request) => {
        if (!request.url().startsWith(setup.api.url)) outside.push(request.url());
      });
      const response = await page.goto(`${setup.api.url}/api/docs`);
      expect(response?.status()).toBe(200);
      await page.getByText("/tasks/status/{status}").first().waitFor({ timeout: 20_000 });
      const text = await page.locator("#docs").textContent();
      for (const path of ["/tasks", "/tasks/{id}", "/stats", "/me"]) expect(text).toContain(path);
      expect(text).toContain("Tasks API");
      expect(outside).toEqual([]);
    } finally {
      await browser.close();
    }
  }, 60_000);
});
