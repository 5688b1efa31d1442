/**
 * The real Better Auth (as the web app configures it) served over HTTP, and the
 * API verifying its tokens the way development does: its JWKS, plus the local
 * HS256 secret of `pnpm dev-token`. Both share one database, as in production.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { createAccounts } from "@tasks/api";
import { createAuth } from "@tasks/auth";
import type { Database } from "@tasks/db";
import { connectTestDb, createTestDatabase, type TestDatabase } from "@tasks/db/testing";
import { toNodeHandler } from "better-auth/node";
import { decodeJwt, decodeProtectedHeader } from "jose";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { developmentAuth } from "../src/config.ts";
import { listen, SECRET, signToken, startTestApi, type TestApi } from "./support.ts";

const PASSWORD = "correct horse battery staple";
let testDb: TestDatabase;
let database: Database;
let authUrl: string;
let api: TestApi;
let closeAuth: () => Promise<void>;
/** Whether Better Auth's own user was already gone when our data was deleted. */
const deletionOrder: string[] = [];
/** Everything written to the console while the tests run, to prove no password is in it. */
const logged: string[] = [];

beforeAll(async () => {
  for (const method of ["log", "info", "warn", "error", "debug"] as const) {
    vi.spyOn(console, method).mockImplementation((...args: unknown[]) => {
      logged.push(args.map(String).join(" "));
    });
  }
  testDb = await createTestDatabase();
  database = await connectTestDb(testDb.url);
  let handle = async (_req: IncomingMessage, res: ServerResponse) => {
    res.writeHead(503).end();
  };
  const server = createServer((req, res) => handle(req, res));
  authUrl = await listen(server);
  // A process of its own, as the web app is: its own account cache, not the API's.
  const webAccounts = createAccounts(database.client);
  const auth = createAuth({
    db: database.client,
    baseURL: authUrl,
    secret: "test-better-auth-secret-of-enough-length",
    async onUserDeleted(userId) {
      const authUser = await database.client.authUser.findUnique({ where: { id: userId } });
      deletionOrder.push(
        authUser ? "ours while Better Auth's remains" : "Better Auth's, then ours",
      );
      await webAccounts.delete(userId);
    },
    onUserRenamed: (userId, name) => webAccounts.rename(userId, name),
  });
  handle = toNodeHandler(auth);
  closeAuth = () => new Promise((done) => server.close(() => done()));
  // The API checks every request against the database (no known-user cache), as in these tests
  // a deletion in the other process must show at once.
  api = await startTestApi(developmentAuth({ secret: SECRET, webUrl: authUrl }), {
    databaseUrl: testDb.url,
    knownUserTtlMs: 0,
  });
});

afterAll(async () => {
  vi.restoreAllMocks();
  await api?.stop();
  await closeAuth?.();
  await database?.close();
  await testDb?.drop();
});

/** A call to Better Auth from a browser at its own origin; `ip` keeps rate-limit counts apart. */
async function authFetch(
  path: string,
  { body, cookie, ip = "198.51.100.1" }: { body?: object; cookie?: string; ip?: string } = {},
) {
  const response = await fetch(`${authUrl}/api/auth${path}`, {
    method: body ? "POST" : "GET",
    headers: {
      origin: authUrl,
      "x-forwarded-for": ip,
      ...(body ? { "content-type": "application/json" } : {}),
      ...(cookie ? { cookie } : {}),
    },
    body: body ? JSON.stringify(body) : undefined,
  });
  const sessionCookie = response.headers
    .getSetCookie()
    .map((line) => line.split(";")[0] ?? "")
    .find((pair) => pair.startsWith("better-auth.session_token=") && !pair.endsWith("="));
  // Better Auth's answers as they come: `user`, `token`, `message`…
  const json = (await response.json().catch(() => null)) as Record<string, unknown> | null;
  return { response, sessionCookie, json: json ?? {} };
}

async function signUp(email: string, name: string) {
  const { response, sessionCookie, json } = await authFetch("/sign-up/email", {
    body: { email, password: PASSWORD, name },
    ip: `198.51.100.${Math.floor(Math.random() * 200) + 10}`,
  });
  expect(response.status).toBe(200);
  expect(sessionCookie).toBeDefined();
  return { cookie: sessionCookie as string, userId: (json.user as { id: string }).id };
}

async function apiToken(cookie: string): Promise<string> {
  const { response, json } = await authFetch("/token", { cookie });
  expect(response.status).toBe(200);
  return json.token as string;
}

describe("Better Auth's tokens at the API", () => {
  it("signs up, and its JWT is an EdDSA token the API accepts as that user", async () => {
    const { cookie, userId } = await signUp("Ada@Example.com", "Ada");
    const token = await apiToken(cookie);
    expect(decodeProtectedHeader(token).alg).toBe("EdDSA");
    const claims = decodeJwt(token);
    expect(claims).toMatchObject({
      sub: userId,
      email: "ada@example.com",
      name: "Ada",
      iss: authUrl,
      aud: authUrl,
    });
    expect((claims.exp ?? 0) - (claims.iat ?? 0)).toBe(15 * 60);

    const me = await api.client(token).user.me.query();
    expect(me).toMatchObject({ id: userId, email: "ada@example.com", name: "Ada" });
    const task = await api.client(token).task.create.mutate({ title: "From Better Auth" });
    expect(await api.db.task.findUnique({ where: { id: task.id } })).toMatchObject({ userId });
  });

  it("also hands the JWT out with the session, in the set-auth-jwt header", async () => {
    const { cookie, userId } = await signUp("grace@example.com", "Grace");
    const { response } = await authFetch("/get-session", { cookie });
    const token = response.headers.get("set-auth-jwt") ?? "";
    expect((await api.client(token).user.me.query()).id).toBe(userId);
  });

  it("in development, `pnpm dev-token`'s HS256 tokens work too, and cannot pose as the JWKS", async () => {
    const local = await signToken({ sub: "curl-user", email: "curl@example.com" });
    expect((await api.client(local).user.me.query()).id).toBe("curl-user");
    // An EdDSA header on a token not signed by Better Auth's key is refused.
    const forged = await signToken(
      { sub: "curl-user", email: "curl@example.com" },
      { alg: "HS256" },
    ).then((jwt) => {
      const [, payload, signature] = jwt.split(".");
      const header = Buffer.from(JSON.stringify({ alg: "EdDSA", kid: "x" })).toString("base64url");
      return `${header}.${payload}.${signature}`;
    });
    await expect(api.client(forged).user.me.query()).rejects.toMatchObject({
      data: { code: "UNAUTHORIZED" },
    });
  });

  it("a wrong password gets a message and no session", async () => {
    await signUp("linus@example.com", "Linus");
    const { response, sessionCookie, json } = await authFetch("/sign-in/email", {
      body: { email: "linus@example.com", password: "not the password" },
      ip: "198.51.100.250",
    });
    expect(response.status).toBe(401);
    expect(json.message).toBe("Invalid email or password");
    expect(sessionCookie).toBeUndefined();
  });

  it("rate-limits sign-in attempts per client", async () => {
    await signUp("ken@example.com", "Ken");
    const attempt = (ip: string) =>
      authFetch("/sign-in/email", {
        body: { email: "ken@example.com", password: "guess" },
        ip,
      }).then(({ response }) => response.status);
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push(await attempt("203.0.113.7"));
    expect(statuses).toEqual([401, 401, 401, 429]);
    // Another client is not held up by the first one's attempts.
    expect(await attempt("203.0.113.8")).toBe(401);
  });

  it("a new display name is Better Auth's and ours; a new password replaces the old one", async () => {
    const { cookie, userId } = await signUp("renamer@example.com", "Old Name");
    await api.client(await apiToken(cookie)).user.me.query();
    const renamed = await authFetch("/update-user", { body: { name: "New Name" }, cookie });
    expect(renamed.response.status).toBe(200);
    expect(await api.db.authUser.findUnique({ where: { id: userId } })).toMatchObject({
      name: "New Name",
    });
    expect(await api.db.user.findUnique({ where: { id: userId } })).toMatchObject({
      name: "New Name",
    });
    // Tokens minted from now on carry the new name.
    expect(decodeJwt(await apiToken(cookie)).name).toBe("New Name");

    const changed = await authFetch("/change-password", {
      body: { currentPassword: PASSWORD, newPassword: "another long passphrase" },
      cookie,
    });
    expect(changed.response.status).toBe(200);
    const signIn = (password: string) =>
      authFetch("/sign-in/email", {
        body: { email: "renamer@example.com", password },
        ip: "198.51.100.250",
      });
    expect((await signIn(PASSWORD)).response.status).toBe(401);
    expect((await signIn("another long passphrase")).response.status).toBe(200);
  });

  it("deleting the account removes Better Auth's user first, then ours; its JWT is refused", async () => {
    const { cookie, userId } = await signUp("leaver@example.com", "Leaver");
    const token = await apiToken(cookie);
    await api.client(token).task.create.mutate({ title: "Soon gone" });

    const { response } = await authFetch("/delete-user", { body: { password: PASSWORD }, cookie });
    expect(response.status).toBe(200);
    expect(deletionOrder).toEqual(["Better Auth's, then ours"]);

    await expect(api.client(token).task.list.query()).rejects.toMatchObject({
      message: "This account has been deleted.",
      data: { code: "UNAUTHORIZED" },
    });
    expect(await api.db.task.count({ where: { userId } })).toBe(0);
    expect(await api.db.user.count({ where: { id: userId } })).toBe(0);
    expect(await api.db.authUser.count({ where: { id: userId } })).toBe(0);
    expect(await api.db.authSession.count({ where: { userId } })).toBe(0);
    // The old session can mint no new token.
    expect((await authFetch("/token", { cookie })).response.status).toBe(401);
  });

  it("stores password hashes only, and never writes a password to the logs", async () => {
    const hashes = await api.db.authAccount.findMany({ select: { password: true } });
    expect(hashes.length).toBeGreaterThan(0);
    for (const { password } of hashes) expect(password).not.toContain(PASSWORD);
    const everything = logged.join("\n");
    for (const secret of [PASSWORD, "not the password", "guess"]) {
      expect(everything).not.toContain(secret);
    }
  });
});
