/**
 * What one caller may ask of the server in one request, over real HTTP: batches up to
 * BATCH_MAX_CALLS (20 here), tokens within their maximum age, the `Bearer` scheme in any case.
 */
import { SignJWT } from "jose";
import { describe, expect, it } from "vitest";
import { AUDIENCE, ISSUER, SECRET, signToken, useTestApi } from "./support.ts";

const setup = useTestApi("secret");
const MAX = 20;

const batchPath = (procedure: string, calls: number) =>
  Array.from({ length: calls }, () => procedure).join(",");

async function get(path: string, token: string, query = "") {
  return fetch(`${setup.api.url}/trpc/${path}${query}`, {
    headers: { authorization: `Bearer ${token}` },
  });
}

describe("batches", () => {
  it("a batch of BATCH_MAX_CALLS calls is answered; one more is a 400 that names the limit", async () => {
    const token = await signToken({ sub: "batcher", email: "batcher@example.com" });
    const within = await get(batchPath("task.stats", MAX), token, "?batch=1");
    expect(within.status).toBe(200);
    expect(await within.json()).toHaveLength(MAX);

    for (const calls of [MAX + 1, 1000]) {
      const over = await get(batchPath("task.stats", calls), token, "?batch=1");
      expect(over.status).toBe(400);
      const body = (await over.json()) as { error: { json: { message: string; data: object } } };
      expect(body.error.json.message).toBe(
        `A request may batch at most ${MAX} calls (BATCH_MAX_CALLS); this one has ${calls}.`,
      );
      expect(body.error.json.data).toMatchObject({ code: "BAD_REQUEST", httpStatus: 400 });
    }
  });

  it("an oversized batch of writes writes nothing", async () => {
    const token = await signToken({ sub: "writer", email: "writer@example.com" });
    const calls = MAX + 1;
    const body = Object.fromEntries(
      Array.from({ length: calls }, (_, i) => [i, { json: { title: `t${i}` } }]),
    );
    const response = await fetch(
      `${setup.api.url}/trpc/${batchPath("task.create", calls)}?batch=1`,
      {
        method: "POST",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        body: JSON.stringify(body),
      },
    );
    expect(response.status).toBe(400);
    expect(await setup.api.db.task.count({ where: { userId: "writer" } })).toBe(0);
  });

  it("the client splits a larger batch at the same size, and every call is answered", async () => {
    const token = await signToken({ sub: "splitter", email: "splitter@example.com" });
    const urls: string[] = [];
    const client = setup.api.client(token, {
      maxItems: MAX,
      fetch: (input, init) => {
        urls.push(String(input));
        return fetch(input, init);
      },
    });
    const answers = await Promise.all(
      Array.from({ length: 2 * MAX + 1 }, () => client.task.stats.query()),
    );
    expect(answers).toHaveLength(2 * MAX + 1);
    expect(urls).toHaveLength(3);
  });
});

describe("tokens", () => {
  it("the Bearer scheme is case-insensitive (RFC 9110 §11.1)", async () => {
    const token = await signToken({ sub: "casual", email: "casual@example.com" });
    for (const scheme of ["Bearer", "bearer", "BEARER"]) {
      const response = await fetch(`${setup.api.url}/trpc/task.stats`, {
        headers: { authorization: `${scheme} ${token}` },
      });
      expect(response.status, scheme).toBe(200);
    }
  });

  it("a token issued longer ago than the maximum age, or not saying when, is refused", async () => {
    const now = Math.floor(Date.now() / 1000);
    const sign = (issuedAt?: number) => {
      const jwt = new SignJWT({ email: "old@example.com" })
        .setProtectedHeader({ alg: "HS256" })
        .setSubject("old")
        .setIssuer(ISSUER)
        .setAudience(AUDIENCE)
        .setExpirationTime(now + 3600);
      if (issuedAt !== undefined) jwt.setIssuedAt(issuedAt);
      return jwt.sign(new TextEncoder().encode(SECRET));
    };
    // The default maximum age is a day.
    expect((await get("task.stats", await sign(now - 86_400 + 60))).status).toBe(200);
    expect((await get("task.stats", await sign(now - 86_400 - 60))).status).toBe(401);
    expect((await get("task.stats", await sign())).status).toBe(401);
  });
});
