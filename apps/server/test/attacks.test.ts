import { generateKeyPair } from "jose";
import { describe, expect, it } from "vitest";
import { AUDIENCE, ISSUER, SECRET, signToken, snapshot, useTestApi } from "./support.ts";

const setup = useTestApi("jwks");

const claims = { sub: "mallory", email: "mallory@example.com" };
const base64url = (value: object) => Buffer.from(JSON.stringify(value)).toString("base64url");
const now = () => Math.floor(Date.now() / 1000);

/** Calls a procedure that would write (provision the user and create a task) with a raw Authorization header. */
async function attempt(authorization: string | undefined) {
  const response = await fetch(`${setup.api.url}/trpc/task.create`, {
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
  "malformed header": async () => `Token ${await signToken(claims, { jwks: setup.jwks })}`,
  "empty bearer": async () => "Bearer ",
  "alg none": async () =>
    `Bearer ${base64url({ alg: "none", typ: "JWT" })}.${base64url({ ...claims, iss: ISSUER, aud: AUDIENCE, exp: now() + 60 })}.`,
  "HS256 signed with the JWKS public key": async () => {
    const publicKeyBytes = new TextEncoder().encode(JSON.stringify(setup.jwks.publicJwk));
    return `Bearer ${await signToken(claims, { alg: "HS256", key: publicKeyBytes, kid: setup.jwks.kid })}`;
  },
  "HS256 signed with the public key's x": async () =>
    `Bearer ${await signToken(claims, { alg: "HS256", key: Buffer.from(String(setup.jwks.publicJwk.x), "base64url"), kid: setup.jwks.kid })}`,
  "HS256 with a shared secret the server does not use in JWKS mode": async () =>
    `Bearer ${await signToken(claims, { alg: "HS256", key: new TextEncoder().encode(SECRET) })}`,
  "wrong issuer": async () =>
    `Bearer ${await signToken(claims, { jwks: setup.jwks, issuer: "https://evil.test" })}`,
  "wrong audience": async () =>
    `Bearer ${await signToken(claims, { jwks: setup.jwks, audience: "other-api" })}`,
  expired: async () =>
    `Bearer ${await signToken(claims, { jwks: setup.jwks, expiresIn: now() - 60 })}`,
  "not yet valid": async () =>
    `Bearer ${await signToken(claims, { jwks: setup.jwks, notBefore: now() + 3600 })}`,
  "no expiry": async () => {
    const token = await signToken(claims, { jwks: setup.jwks });
    const [header, payload, signature] = token.split(".");
    const { exp: _exp, ...rest } = JSON.parse(Buffer.from(payload ?? "", "base64url").toString());
    return `Bearer ${header}.${base64url(rest)}.${signature}`;
  },
  "bad signature": async () => {
    const token = await signToken(claims, { jwks: setup.jwks });
    return `Bearer ${token.slice(0, -4)}${token.endsWith("AAAA") ? "BBBB" : "AAAA"}`;
  },
  "signed by another key": async () => {
    const { privateKey } = await generateKeyPair("EdDSA");
    return `Bearer ${await signToken(claims, { alg: "EdDSA", key: privateKey, kid: setup.jwks.kid })}`;
  },
  "missing sub": async () =>
    `Bearer ${await signToken({ email: "x@example.com" }, { jwks: setup.jwks })}`,
  "unknown kid": async () =>
    `Bearer ${await signToken(claims, { jwks: setup.jwks, kid: "unknown-key" })}`,
  "oversized token": async () =>
    `Bearer ${await signToken({ ...claims, pad: "x".repeat(10_000) }, { jwks: setup.jwks })}`,
  ...claimsThatCannotBeStored(),
};

/** Validly signed tokens whose claims the database would refuse or alter. */
function claimsThatCannotBeStored(): typeof attacks {
  const signed = (bad: Record<string, unknown>) => async () =>
    `Bearer ${await signToken({ ...claims, ...bad }, { jwks: setup.jwks })}`;
  return {
    "sub with NUL": signed({ sub: "mal\0lory" }),
    "sub with an unpaired surrogate": signed({ sub: "mal\uD800lory" }),
    "sub over 255 characters": signed({ sub: "m".repeat(256) }),
    "sub not a string": signed({ sub: 42 }),
    "email not an address": signed({ email: "mallory" }),
    "email with NUL": signed({ email: "mal\0lory@example.com" }),
    "name with an unpaired surrogate": signed({ name: "\uDC00" }),
    "name over 200 characters": signed({ name: "n".repeat(201) }),
    "picture not an http(s) URL": signed({ picture: "javascript:alert(1)" }),
  };
}

describe("token attacks are UNAUTHORIZED and write nothing", () => {
  for (const [name, header] of Object.entries(attacks)) {
    it(name, async () => {
      const before = await snapshot(setup.api.db);
      expect(await attempt(await header())).toEqual({ status: 401, code: "UNAUTHORIZED" });
      expect(await snapshot(setup.api.db)).toBe(before);
    });
  }

  it("a valid token passes the same route, so the attacks above fail for their flaw alone", async () => {
    expect(await attempt(`Bearer ${await signToken(claims, { jwks: setup.jwks })}`)).toEqual({
      status: 200,
      code: undefined,
    });
    expect(await setup.api.db.task.count({ where: { userId: "mallory" } })).toBe(1);
  });

  it("the response never echoes the token", async () => {
    const token = await signToken({ ...claims, sub: "" }, { jwks: setup.jwks });
    const response = await fetch(`${setup.api.url}/trpc/user.me`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(response.status).toBe(401);
    expect(await response.text()).not.toContain(token.split(".")[2]);
  });
});
