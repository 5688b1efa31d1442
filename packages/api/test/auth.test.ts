import * as jose from "jose";
import { SignJWT } from "jose";
import { expect, it, vi } from "vitest";
import { createTokenVerifier, InvalidTokenError } from "../src/auth.ts";

// The signature checks are counted: jose's own function, wrapped.
vi.mock("jose", async (original) => ({ ...(await original<typeof import("jose")>()) }));

const secret = "a-secret-that-is-long-enough-for-hs256!!";
const verify = createTokenVerifier({ mode: "secret", secret, clockToleranceSeconds: 0 });

function sign(expiresAtSeconds: number, key = secret) {
  return new SignJWT({ email: "ada@example.com" })
    .setProtectedHeader({ alg: "HS256" })
    .setSubject("ada")
    .setIssuedAt()
    .setExpirationTime(expiresAtSeconds)
    .sign(new TextEncoder().encode(key));
}

it("a remembered token is refused once it expires", async () => {
  // The clock is set, not waited for: jose and the verifier's memory both read `Date.now()`.
  vi.useFakeTimers({ toFake: ["Date"] });
  try {
    vi.setSystemTime(new Date("2030-01-01T00:00:00Z"));
    const expiresAt = Math.floor(Date.now() / 1000) + 60;
    const token = await sign(expiresAt);
    expect(await verify(token)).toMatchObject({ userId: "ada" });
    expect(await verify(token)).toMatchObject({ userId: "ada" });
    vi.setSystemTime(expiresAt * 1000 + 1000);
    await expect(verify(token)).rejects.toBeInstanceOf(InvalidTokenError);
  } finally {
    vi.useRealTimers();
  }
});

it("only the identical token finds a remembered one: a changed signature is checked", async () => {
  const token = await sign(Math.floor(Date.now() / 1000) + 60);
  await verify(token);
  const [header, payload] = token.split(".");
  const forged = `${header}.${payload}.${(await sign(0, "another-secret-long-enough-for-hs256!!")).split(".")[2]}`;
  await expect(verify(forged)).rejects.toBeInstanceOf(InvalidTokenError);
});

it("a burst of new tokens does not push out one in use: the least recently used go first", async () => {
  const countingVerify = createTokenVerifier({ mode: "secret", secret, clockToleranceSeconds: 0 });
  const expiresAt = Math.floor(Date.now() / 1000) + 600;
  const hot = await sign(expiresAt);
  const signatureChecks = vi.spyOn(jose, "jwtVerify");
  await countingVerify(hot);
  // More new tokens than the verifier remembers, the hot one used all along.
  for (let i = 0; i < 12_000; i++) {
    const other = await new jose.SignJWT({})
      .setProtectedHeader({ alg: "HS256" })
      .setSubject(`burst-${i}`)
      .setIssuedAt()
      .setExpirationTime(expiresAt)
      .sign(new TextEncoder().encode(secret));
    await countingVerify(other);
    if (i % 1000 === 0) await countingVerify(hot);
  }
  const hotChecks = signatureChecks.mock.calls.filter(([token]) => token === hot).length;
  expect(hotChecks).toBe(1);
  expect(signatureChecks.mock.calls.length).toBe(12_001);
});
