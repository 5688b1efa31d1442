import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../src/env.ts";

const SECRET = "a-better-auth-secret-of-enough-length";

describe("the web app's configuration", () => {
  it("defaults to the API server of `pnpm dev` in development", () => {
    const config = loadConfig({ NODE_ENV: "development", BETTER_AUTH_SECRET: SECRET });
    expect(config.apiUrl).toBe("http://127.0.0.1:3000/trpc");
    expect(config.auth).toMatchObject({
      baseURL: "http://localhost:3001",
      trustedOrigins: ["http://127.0.0.1:3001"],
    });
    expect(config.database.url).toBeUndefined();
  });

  it("in production, calls its own API route unless told otherwise", () => {
    const production = {
      NODE_ENV: "production",
      BETTER_AUTH_SECRET: SECRET,
      BETTER_AUTH_URL: "https://app.example.com",
      DATABASE_URL: "postgres://u:p@db.example.com/tasks",
    } as const;
    expect(loadConfig(production).apiUrl).toBe("/api/trpc");
    expect(loadConfig({ ...production, API_URL: "https://api.example.com/trpc" }).apiUrl).toBe(
      "https://api.example.com/trpc",
    );
    expect(loadConfig(production).auth.trustedOrigins).toEqual([]);
  });

  it("ends the app's own live streams after LIVE_STREAM_MAX_SECONDS, 300 unless told", () => {
    const development = { NODE_ENV: "development", BETTER_AUTH_SECRET: SECRET } as const;
    expect(loadConfig(development).live).toMatchObject({
      maxStreams: 10_000,
      streamMaxMs: 300_000,
    });
    expect(loadConfig({ ...development, LIVE_STREAM_MAX_SECONDS: "0" }).live.streamMaxMs).toBe(0);
    expect(() => loadConfig({ ...development, LIVE_STREAM_MAX_SECONDS: "-1" })).toThrow(
      "LIVE_STREAM_MAX_SECONDS",
    );
  });

  it("names every bad variable, one line each, without echoing values", () => {
    let error: unknown;
    try {
      loadConfig({ NODE_ENV: "production", BETTER_AUTH_SECRET: "short", API_URL: "ftp://x" });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const lines = (error as Error).message.split("\n").slice(1);
    expect(lines).toEqual([
      "  BETTER_AUTH_SECRET: must be at least 32 characters",
      expect.stringMatching(/^ {2}API_URL: /),
      "  BETTER_AUTH_URL: required in production",
      "  DATABASE_URL: required in production",
    ]);
    expect((error as Error).message).not.toContain("short");
  });
});
