import { SignJWT } from "jose";
import { expect, it } from "vitest";
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
  const expiresAt = Math.floor(Date.now() / 1000) + 1;
  const token = await sign(expiresAt);
  expect(await verify(token)).toMatchObject({ userId: "ada" });
  expect(await verify(token)).toMatchObject({ userId: "ada" });
  await new Promise((done) => setTimeout(done, expiresAt * 1000 - Date.now() + 50));
  await expect(verify(token)).rejects.toBeInstanceOf(InvalidTokenError);
});

it("only the identical token finds a remembered one: a changed signature is checked", async () => {
  const token = await sign(Math.floor(Date.now() / 1000) + 60);
  await verify(token);
  const [header, payload] = token.split(".");
  const forged = `${header}.${payload}.${(await sign(0, "another-secret-long-enough-for-hs256!!")).split(".")[2]}`;
  await expect(verify(forged)).rejects.toBeInstanceOf(InvalidTokenError);
});
