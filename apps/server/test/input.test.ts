import { TRPCClientError } from "@trpc/client";
import { beforeAll, describe, expect, it } from "vitest";
import { signToken, snapshot, useTestApi } from "./support.ts";

const setup = useTestApi("secret");
// biome-ignore lint/suspicious/noExplicitAny: untyped on purpose, so that wrong types reach the server.
let client: any;
let taskId: string;

beforeAll(async () => {
  client = setup.api.client(await signToken({ sub: "val", email: "val@example.com" }), {
    batch: false,
  });
  taskId = (await client.task.create.mutate({ title: "existing" })).id;
});

const tooLong = (n: number) => "x".repeat(n + 1);

const badInputs: Record<string, (id: string) => Promise<unknown>> = {
  "create: title missing": () => client.task.create.mutate({}),
  "create: title blank": () => client.task.create.mutate({ title: " \t\n " }),
  "create: title over 200": () => client.task.create.mutate({ title: tooLong(200) }),
  "create: title not a string": () => client.task.create.mutate({ title: 42 }),
  "create: description over 2000": () =>
    client.task.create.mutate({ title: "t", description: tooLong(2000) }),
  "create: unknown priority": () => client.task.create.mutate({ title: "t", priority: "URGENT" }),
  "create: dueAt not a date": () => client.task.create.mutate({ title: "t", dueAt: "tomorrow" }),
  "create: unknown key": () => client.task.create.mutate({ title: "t", userId: "someone-else" }),
  "create: completed is not settable on create": () =>
    client.task.create.mutate({ title: "t", completed: true }),
  "update: id not a UUID": () => client.task.update.mutate({ id: "1", title: "t" }),
  "update: title over 200": (id) => client.task.update.mutate({ id, title: tooLong(200) }),
  "update: completed not a boolean": (id) => client.task.update.mutate({ id, completed: "yes" }),
  "update: unknown key": (id) => client.task.update.mutate({ id, owner: "x" }),
  "byId: id missing": () => client.task.byId.query({}),
  "byId: id not a UUID": () => client.task.byId.query({ id: "not-a-uuid" }),
  "delete: id not a UUID": () => client.task.delete.mutate({ id: "'; DROP TABLE tasks; --" }),
  "list: limit 0": () => client.task.list.query({ limit: 0 }),
  "list: limit 101": () => client.task.list.query({ limit: 101 }),
  "list: limit fractional": () => client.task.list.query({ limit: 1.5 }),
  "list: cursor garbage": () => client.task.list.query({ cursor: "garbage" }),
  "list: search over 200": () => client.task.list.query({ search: tooLong(200) }),
  "list: unknown key": () => client.task.list.query({ userId: "someone-else" }),
  "user.update: name over 200": () => client.user.update.mutate({ name: tooLong(200) }),
  "user.update: image not a URL": () => client.user.update.mutate({ image: "javascript:alert(1)" }),
  "user.update: unknown key": () => client.user.update.mutate({ email: "new@example.com" }),
  // What PostgreSQL refuses or alters, though JavaScript accepts it.
  "create: title with NUL": () => client.task.create.mutate({ title: "a\0b" }),
  "create: title with an unpaired surrogate": () => client.task.create.mutate({ title: "a\uD800" }),
  "create: description with NUL": () =>
    client.task.create.mutate({ title: "t", description: "\0" }),
  "create: description with an unpaired surrogate": () =>
    client.task.create.mutate({ title: "t", description: "\uDFFFx" }),
  "create: dueAt before year 1": () =>
    client.task.create.mutate({ title: "t", dueAt: new Date("0000-12-31T23:59:59.999Z") }),
  "create: dueAt after year 9999": () =>
    client.task.create.mutate({ title: "t", dueAt: new Date("+010000-01-01T00:00:00.000Z") }),
  "create: dueAt at the end of Date's range": () =>
    client.task.create.mutate({ title: "t", dueAt: new Date(8.64e15) }),
  "update: title with NUL": (id) => client.task.update.mutate({ id, title: "\0" }),
  "update: dueAt before year 1": (id) =>
    client.task.update.mutate({ id, dueAt: new Date(-8.64e15) }),
  "list: search with NUL": () => client.task.list.query({ search: "\0" }),
  "list: search with an unpaired surrogate": () => client.task.list.query({ search: "\uD83D" }),
  "list: cursor in year 0": () =>
    client.task.list.query({
      cursor: Buffer.from(
        JSON.stringify(["0000-06-01T00:00:00.000Z", "0190a0e5-7f7e-7a1b-8c3d-2e4f5a6b7c8d"]),
      ).toString("base64url"),
    }),
  "list: limit NaN": () => client.task.list.query({ limit: Number.NaN }),
  "list: limit Infinity": () => client.task.list.query({ limit: Number.POSITIVE_INFINITY }),
  "user.update: name with NUL": () => client.user.update.mutate({ name: "\0" }),
  "user.update: image with an unpaired surrogate": () =>
    client.user.update.mutate({ image: "https://img.test/\uD800.png" }),
};

describe("bad input is BAD_REQUEST and writes nothing", () => {
  for (const [name, call] of Object.entries(badInputs)) {
    it(name, async () => {
      const before = await snapshot(setup.api.db);
      const error = await call(taskId).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(TRPCClientError);
      const data = (error as TRPCClientError<never>).data as unknown as {
        code: string;
        httpStatus: number;
        zodError: unknown;
      };
      expect(data).toMatchObject({ code: "BAD_REQUEST", httpStatus: 400 });
      expect(data.zodError).toBeTruthy();
      expect(await snapshot(setup.api.db)).toBe(before);
    });
  }

  it("the zod issues name the field", async () => {
    const error = await client.task.create.mutate({ title: "" }).catch((e: unknown) => e);
    expect(error.data.zodError.fieldErrors.title).toEqual([expect.any(String)]);
  });

  it("stores what PostgreSQL accepts exactly as sent: control characters, astral characters, dates at the bounds", async () => {
    const sent = {
      title: "\u0001\u001f\u007f\uFFFE 'quoted' \"double\" \\ %_ 😀",
      description: "\r\n\t",
      dueAt: new Date("0001-01-01T00:00:00.000Z"),
    };
    const task = await client.task.create.mutate(sent);
    expect(await client.task.byId.query({ id: task.id })).toMatchObject(sent);
    const latest = new Date("9999-12-31T23:59:59.999Z");
    expect((await client.task.update.mutate({ id: task.id, dueAt: latest })).dueAt).toEqual(latest);
    await client.task.delete.mutate({ id: task.id });
  });

  it("lengths count characters as PostgreSQL does: 200 emoji are a 200-character title", async () => {
    const task = await client.task.create.mutate({ title: "😀".repeat(200) });
    expect(task.title).toBe("😀".repeat(200));
    await client.task.delete.mutate({ id: task.id });
    const error = await client.task.create
      .mutate({ title: "😀".repeat(201) })
      .catch((e: unknown) => e);
    expect(error.data.zodError.fieldErrors.title).toEqual(["Must be at most 200 characters."]);
  });

  it("bounds are inclusive: 200-char titles, 2000-char descriptions and limit 100 pass", async () => {
    const task = await client.task.create.mutate({
      title: "t".repeat(200),
      description: "d".repeat(2000),
    });
    expect(task.title).toHaveLength(200);
    expect((await client.task.list.query({ limit: 100 })).items.length).toBe(2);
  });
});
