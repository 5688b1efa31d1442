import { describe, expect, it } from "vitest";
import { z } from "zod";
import { ConfigError, integer, loadEnv, type Rule, sharedVariables } from "../src/index.ts";

const shape = { ...sharedVariables, SECRET: z.string().min(32).optional() };
const rules: Rule<typeof shape>[] = [
  (env) => (env.NODE_ENV === "production" && !env.SECRET ? [["SECRET", "required"]] : []),
];

const problems = (source: NodeJS.ProcessEnv) => {
  try {
    loadEnv(shape, source, rules);
    return [];
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message.split("\n").slice(1);
  }
};

describe("loadEnv", () => {
  it("is production unless development or test is asked for by name", () => {
    expect(problems({})).toEqual(["  SECRET: required"]);
    expect(loadEnv(shape, { NODE_ENV: "development" }, rules).NODE_ENV).toBe("development");
    expect(problems({ NODE_ENV: "staging" })[0]).toMatch(/^ {2}NODE_ENV: /);
  });

  it("names every bad variable on a line of its own, rules included, never a value", () => {
    const lines = problems({ DATABASE_POOL_MAX: "0", BATCH_MAX_CALLS: "many", SECRET: "s3cr3t" });
    expect(lines.map((line) => line.split(":")[0]?.trim())).toEqual([
      "DATABASE_POOL_MAX",
      "BATCH_MAX_CALLS",
      "SECRET",
    ]);
    expect(lines.join("\n")).not.toContain("s3cr3t");
  });

  it("takes an empty variable as unset, and leaves the source as it was", () => {
    const source = { NODE_ENV: "test", DATABASE_URL: "", DATABASE_POOL_MAX: "" };
    const env = loadEnv(shape, source);
    expect(env.DATABASE_URL).toBeUndefined();
    expect(env.DATABASE_POOL_MAX).toBe(10);
    expect(source).toEqual({ NODE_ENV: "test", DATABASE_URL: "", DATABASE_POOL_MAX: "" });
  });

  it("bounds every number", () => {
    const bounded = { N: integer(1, 10, 5) };
    expect(loadEnv(bounded, {}).N).toBe(5);
    expect(loadEnv(bounded, { N: "10" }).N).toBe(10);
    expect(() => loadEnv(bounded, { N: "11" })).toThrow(ConfigError);
    expect(() => loadEnv(bounded, { N: "1.5" })).toThrow(ConfigError);
  });
});
