import { generateKeyPair } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  AUDIENCE,
  authConfigs,
  ISSUER,
  type Jwks,
  SECRET,
  signToken,
  snapshot,
  startJwks,
  startTestApi,
  type TestApi,
} from "./support.ts";

let jwks: Jwks;
let api: TestApi;

beforeAll(async () => {
  jwks = await startJwks();
  api = await startTestApi(authConfigs(jwks).jwks);
});

afterAll(async () => {
  await api?.stop();
  await jwks?.close();
});

const claims = { sub: "mallory", email: "mallory@example.com" };
const base64url = (value: object) => Buffer.from(JSON.stringify(value)).toString("base64url");
const now = () => Math.floor(Date.now() / 1000);

/** Calls a procedure that would write (provision the user and create a task) with a raw Authorization header. */
async function attempt(authorization: string | undefined) {
  const response = await fetch(`${api.url}/trpc/task.create`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      ...(authorization === undefined ? {} : { authorization }),
    },
    body: JSON.stringify({ json: { title: "pwned" } }),
  });
  const body = (await response.json()) as { error?: { json: { data: { code: string } } } };
  return { status: response.status, code: body.error?.json.data.code };
}

const attacks: Record<string, () => Promise<string | undefined>> = {
  "no header": async () => undefined,
  "malformed header": async () => `Token ${await signToken(claims, { jwks })}`,
  "empty bearer": async () => "Bearer ",
  "alg none": async () =>
    `Bearer ${base64url({ alg: "none", typ: "JWT" })}.${base64url({ ...claims, iss: ISSUER, aud: AUDIENCE, exp: now() + 60 })}.`,
  "HS256 signed with the JWKS public key": async () => {
    const publicKeyBytes = new TextEncoder().encode(JSON.stringify(jwks.publicJwk));
    return `Bearer ${await signToken(claims, { alg: "HS256", key: publicKeyBytes, kid: jwks.kid })}`;
  },
  "HS256 signed with the public key's x": async () =>
    `Bearer ${await signToken(claims, { alg: "HS256", key: Buffer.from(String(jwks.publicJwk.x), "base64url"), kid: jwks.kid })}`,
  "HS256 with a shared secret the server does not use in JWKS mode": async () =>
    `Bearer ${await signToken(claims, { alg: "HS256", key: new TextEncoder().encode(SECRET) })}`,
  "wrong issuer": async () =>
    `Bearer ${await signToken(claims, { jwks, issuer: "https://evil.test" })}`,
  "wrong audience": async () =>
    `Bearer ${await signToken(claims, { jwks, audience: "other-api" })}`,
  expired: async () => `Bearer ${await signToken(claims, { jwks, expiresIn: now() - 60 })}`,
  "not yet valid": async () =>
    `Bearer ${await signToken(claims, { jwks, notBefore: now() + 3600 })}`,
  "no expiry": async () => {
    const token = await signToken(claims, { jwks });
    const [header, payload, signature] = token.split(".");
    const { exp: _exp, ...rest } = JSON.parse(Buffer.from(payload ?? "", "base64url").toString());
    return `Bearer ${header}.${base64url(rest)}.${signature}`;
  },
  "bad signature": async () => {
    const token = await signToken(claims, { jwks });
    return `Bearer ${token.slice(0, -4)}${token.endsWith("AAAA") ? "BBBB" : "AAAA"}`;
  },
  "signed by another key": async () => {
    const { privateKey } = await generateKeyPair("EdDSA");
    return `Bearer ${await signToken(claims, { alg: "EdDSA", key: privateKey, kid: jwks.kid })}`;
  },
  "missing sub": async () => `Bearer ${await signToken({ email: "x@example.com" }, { jwks })}`,
  "unknown kid": async () => `Bearer ${await signToken(claims, { jwks, kid: "unknown-key" })}`,
  "oversized token": async () =>
    `Bearer ${await signToken({ ...claims, pad: "x".repeat(10_000) }, { jwks })}`,
};

describe("token attacks are UNAUTHORIZED and write nothing", () => {
  for (const [name, header] of Object.entries(attacks)) {
    it(name, async () => {
      const before = await snapshot(api.db);
      expect(await attempt(await header())).toEqual({ status: 401, code: "UNAUTHORIZED" });
      expect(await snapshot(api.db)).toBe(before);
    });
  }

  it("a valid token passes the same route, so the attacks above fail for their flaw alone", async () => {
    expect(await attempt(`Bearer ${await signToken(claims, { jwks })}`)).toEqual({
      status: 200,
      code: undefined,
    });
    expect(await api.db.task.count({ where: { userId: "mallory" } })).toBe(1);
  });

  it("the response never echoes the token", async () => {
    const token = await signToken({ ...claims, sub: "" }, { jwks });
    const response = await fetch(`${api.url}/trpc/user.me`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(response.status).toBe(401);
    expect(await response.text()).not.toContain(token.split(".")[2]);
  });
});
