import { SignJWT } from "jose";
import { expect, it, vi } from "vitest";
import { createTokenVerifier, InvalidTokenError } from "../src/auth.ts";

const secret = "a-secret-that-is-long-enough-for-hs256!!";
const verify = createTokenVerifier({ mode: "secret", secret, clockToleranceSeconds: 0 });

function sign(expiresAtSeconds: number, key = secret) {
  return new SignJWT({ email: "ada@example.com" })
    .setProtectedHeader({ alg: "HS256" })
    .setSubject("ada")
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
