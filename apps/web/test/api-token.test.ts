import { UnsecuredJWT } from "jose";
import { describe, expect, it } from "vitest";
import { createApiTokenSource } from "../src/auth/api-token.ts";

/** A JWT that expires `seconds` after `now` (the source reads `exp`; the API checks signatures). */
function tokenExpiringIn(seconds: number, now: number, label: string) {
  return new UnsecuredJWT({ label }).setExpirationTime(Math.floor(now / 1000) + seconds).encode();
}

describe("the API token source", () => {
  it("reuses a token until a minute before it expires, then fetches a new one", async () => {
    let now = Date.parse("2026-01-01T00:00:00Z");
    let fetches = 0;
    const tokens = createApiTokenSource(
      async () => tokenExpiringIn(15 * 60, now, `token ${++fetches}`),
      () => now,
    );
    const first = await tokens.get();
    now += 13 * 60_000;
    expect(await tokens.get()).toBe(first);
    expect(fetches).toBe(1);
    now += 61_000; // 59 s left: too close to expiry to send.
    const second = await tokens.get();
    expect(second).not.toBe(first);
    expect(fetches).toBe(2);
  });

  it("shares one fetch between concurrent callers", async () => {
    let fetches = 0;
    const tokens = createApiTokenSource(async () => {
      fetches++;
      await new Promise((resolve) => setTimeout(resolve, 20));
      return tokenExpiringIn(900, Date.now(), "shared");
    });
    const all = await Promise.all([tokens.get(), tokens.get(), tokens.get()]);
    expect(new Set(all).size).toBe(1);
    expect(fetches).toBe(1);
  });

  it("fetches anew after a token is expired by hand (the API refused it)", async () => {
    let fetches = 0;
    const tokens = createApiTokenSource(async () =>
      tokenExpiringIn(900, Date.now(), `token ${++fetches}`),
    );
    const first = await tokens.get();
    tokens.expire();
    expect(await tokens.get()).not.toBe(first);
    expect(fetches).toBe(2);
  });

  it("gives null when signed out, and asks again next time", async () => {
    let fetches = 0;
    const tokens = createApiTokenSource(async () => {
      fetches++;
      return null;
    });
    expect(await tokens.get()).toBeNull();
    expect(await tokens.get()).toBeNull();
    expect(fetches).toBe(2);
  });
});
