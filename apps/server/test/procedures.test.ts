import { TRPCClientError } from "@trpc/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  authConfigs,
  type Jwks,
  signToken,
  startJwks,
  startTestApi,
  type TestApi,
} from "./support.ts";

let jwks: Jwks;
beforeAll(async () => {
  jwks = await startJwks();
});
afterAll(() => jwks?.close());

const codeOf = (error: unknown) =>
  error instanceof TRPCClientError ? error.data?.code : undefined;

describe.each(["jwks", "secret"] as const)("every procedure over HTTP, tokens by %s", (mode) => {
  let api: TestApi;
  let client: TestApi["client"] extends (...args: never[]) => infer C ? C : never;
  /** A client that records the URL of every HTTP request it makes. */
  let clientWithCount: (urls: string[]) => typeof client;

  beforeAll(async () => {
    api = await startTestApi(authConfigs(jwks)[mode]);
    const token = await signToken(
      { sub: "user-1", email: "Ann@Example.com", name: "Ann", email_verified: true },
      { jwks: mode === "jwks" ? jwks : undefined },
    );
    client = api.client(token);
    clientWithCount = (urls) =>
      api.client(token, {
        fetch: (input, init) => {
          urls.push(String(input));
          return fetch(input, init);
        },
      });
  });
  afterAll(() => api?.stop());

  it("user.me provisions the caller from the token on first sight", async () => {
    const me = await client.user.me.query();
    expect(me).toMatchObject({
      id: "user-1",
      email: "ann@example.com",
      name: "Ann",
      emailVerified: true,
    });
    expect(me.createdAt).toBeInstanceOf(Date);
  });

  it("user.update changes name and image", async () => {
    const updated = await client.user.update.mutate({
      name: "Ann B",
      image: "https://img.test/a.png",
    });
    expect(updated).toMatchObject({ name: "Ann B", image: "https://img.test/a.png" });
    expect(await client.user.update.mutate({ name: null })).toMatchObject({ name: null });
  });

  it("task.create, byId, update and delete", async () => {
    const dueAt = new Date("2030-01-02T03:04:05.000Z");
    const created = await client.task.create.mutate({
      title: "  Write tests  ",
      priority: "HIGH",
      dueAt,
    });
    // Stored as sent, surrounding spaces included.
    expect(created).toMatchObject({
      title: "  Write tests  ",
      priority: "HIGH",
      completed: false,
      description: null,
    });
    expect(created.dueAt).toEqual(dueAt);
    expect(created).not.toHaveProperty("userId");

    expect(await client.task.byId.query({ id: created.id })).toEqual(created);

    const updated = await client.task.update.mutate({
      id: created.id,
      completed: true,
      description: "done",
    });
    expect(updated).toMatchObject({
      id: created.id,
      completed: true,
      description: "done",
      title: "  Write tests  ",
    });
    expect(updated.updatedAt.getTime()).toBeGreaterThanOrEqual(created.updatedAt.getTime());

    expect(await client.task.delete.mutate({ id: created.id })).toEqual({ id: created.id });
    await expect(client.task.byId.query({ id: created.id })).rejects.toSatisfy(
      (e) => codeOf(e) === "NOT_FOUND",
    );
  });

  it("task.list pages newest first with filters, and task.stats counts", async () => {
    for (let i = 0; i < 7; i++) {
      await client.task.create.mutate({ title: `task ${i}`, priority: i % 2 ? "LOW" : "MEDIUM" });
    }
    const all = await client.task.list.query();
    expect(all.items.map((task) => task.title)).toEqual(
      [6, 5, 4, 3, 2, 1, 0].map((i) => `task ${i}`),
    );
    expect(all.nextCursor).toBeNull();

    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await client.task.list.query({ limit: 3, cursor });
      expect(page.items.length).toBeLessThanOrEqual(3);
      seen.push(...page.items.map((task) => task.title));
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    expect(seen).toEqual(all.items.map((task) => task.title));

    const low = await client.task.list.query({ priority: "LOW" });
    expect(low.items.map((task) => task.title)).toEqual(["task 5", "task 3", "task 1"]);
    const found = await client.task.list.query({ search: "TASK 4" });
    expect(found.items.map((task) => task.title)).toEqual(["task 4"]);

    await client.task.update.mutate({ id: all.items[0]?.id ?? "", completed: true });
    const done = await client.task.list.query({ completed: true });
    expect(done.items.map((task) => task.title)).toEqual(["task 6"]);
    expect(await client.task.stats.query()).toEqual({ total: 7, completed: 1, open: 6 });
  });

  it("batches several calls in one HTTP request", async () => {
    const urls: string[] = [];
    const counted = clientWithCount(urls);
    const [me, stats] = await Promise.all([counted.user.me.query(), counted.task.stats.query()]);
    expect(me.id).toBe("user-1");
    expect(stats.total).toBe(7);
    expect(urls).toHaveLength(1);
    const { pathname, searchParams } = new URL(urls[0] as string);
    expect(pathname).toBe("/trpc/user.me,task.stats");
    expect(searchParams.get("batch")).toBe("1");
  });

  it("user.delete removes the account and its tasks; its token is refused from then on", async () => {
    expect(await client.user.delete.mutate()).toEqual({ id: "user-1" });
    expect(await api.db.task.count({ where: { userId: "user-1" } })).toBe(0);
    expect(await api.db.user.count({ where: { id: "user-1" } })).toBe(0);
    // The token is still unexpired, but it cannot bring the account back.
    await expect(client.task.stats.query()).rejects.toMatchObject({
      message: "This account has been deleted.",
      data: { code: "UNAUTHORIZED", httpStatus: 401 },
    });
    expect(await api.db.user.count({ where: { id: "user-1" } })).toBe(0);
  });
});
