// Property-based: arbitrary input to every procedure, and arbitrary token claims, through the real
// HTTP server on the real database. The answer is 200 or 4xx, never 5xx; a 400 names a field the
// caller sent; and what a 200 stored reads back exactly as it was sent.
// FUZZ_RUNS sets the number of cases per property (default 100).
import fc from "fast-check";
import superjson from "superjson";
import { beforeAll, describe, expect, it } from "vitest";
import { signToken, useTestApi } from "./support.ts";

const runs = Number(process.env.FUZZ_RUNS) || 100;
const setup = useTestApi("jwks");

let token: string;
let taskId: string;

beforeAll(async () => {
  token = await signToken({ sub: "fuzz", email: "fuzz@example.com" }, { jwks: setup.jwks });
  const created = await call("mutation", "task.create", { title: "fuzzed" });
  if (!("value" in created)) throw new Error("could not create the fuzzed task");
  taskId = (created.value as { id: string }).id;
});

interface ErrorData {
  httpStatus: number;
  code: string;
  zodError: { fieldErrors: Record<string, string[]>; formErrors: string[] } | null;
}

type Outcome =
  | { status: 200; value: Record<string, unknown> }
  | { status: number; data?: ErrorData };

/**
 * Calls a procedure as tRPC's HTTP link does (a GET with `?input=` for a query, a POST for a
 * mutation, superjson both ways), and answers with the HTTP status and the result or error data.
 * A status that node:http gives by itself (431 for a query string too long) has no body.
 */
async function call(
  type: "query" | "mutation",
  path: string,
  input?: unknown,
  bearer = token,
): Promise<Outcome> {
  const encoded = input === undefined ? undefined : JSON.stringify(superjson.serialize(input));
  const url = new URL(`/trpc/${path}`, setup.api.url);
  if (type === "query" && encoded) url.searchParams.set("input", encoded);
  const response = await fetch(url, {
    method: type === "query" ? "GET" : "POST",
    headers: { authorization: `Bearer ${bearer}`, "content-type": "application/json" },
    body: type === "mutation" ? encoded : undefined,
  });
  const body = (await response.text()) || "{}";
  const { result, error } = JSON.parse(body);
  if (response.status === 200) return { status: 200, value: superjson.deserialize(result.data) };
  return {
    status: response.status,
    data: error ? superjson.deserialize<{ data: ErrorData }>(error).data : undefined,
  };
}

/** 200, or a 4xx; a 400 names only fields of `sent`. */
function expectHandled(result: Outcome, sent: object) {
  expect(
    result.status === 200 || (result.status >= 400 && result.status < 500),
    JSON.stringify(result),
  ).toBe(true);
  if (result.status === 400 && "data" in result) {
    const fields = Object.keys(result.data?.zodError?.fieldErrors ?? {});
    expect(fields.length).toBeGreaterThan(0);
    for (const field of fields) expect(Object.keys(sent)).toContain(field);
  }
}

/** Mostly `valid`, sometimes `invalid`: a case with one bad field says nothing about the others. */
function mostly<T, U>(valid: fc.Arbitrary<T>, invalid: fc.Arbitrary<U>) {
  return fc.oneof({ weight: 4, arbitrary: valid }, { weight: 1, arbitrary: invalid });
}

/** Any code point, with LIKE's wildcards, quotes, white space and astral characters more often. */
const character = fc.oneof(
  { weight: 5, arbitrary: fc.string({ unit: "binary", minLength: 1, maxLength: 1 }) },
  {
    weight: 1,
    arbitrary: fc.constantFrom("%", "_", "\\", "'", '"', " ", "\t", "\n", "😀", "\u007f"),
  },
);
/** What PostgreSQL refuses (NUL) or alters (unpaired surrogates). */
const unstorable = fc.constantFrom("\0", "\uD800", "\uDBFF", "\uDC00", "\uDFFF");
/** A length at, below or above each bound the API has. */
const boundLength = fc.constantFrom(
  0,
  1,
  199,
  200,
  201,
  255,
  256,
  320,
  321,
  1999,
  2000,
  2001,
  2048,
  2049,
);

const anyString = fc.oneof(
  { weight: 6, arbitrary: fc.string({ unit: character, maxLength: 40 }) },
  {
    weight: 2,
    arbitrary: fc.tuple(character, boundLength).map(([unit, length]) => unit.repeat(length)),
  },
  {
    weight: 2,
    arbitrary: fc
      .tuple(
        fc.string({ unit: character, maxLength: 10 }),
        unstorable,
        fc.string({ unit: character, maxLength: 10 }),
      )
      .map((parts) => parts.join("")),
  },
);

const EARLIEST = new Date("0001-01-01T00:00:00.000Z");
const LATEST = new Date("9999-12-31T23:59:59.999Z");
const anyDate = mostly(
  fc.oneof(
    fc.date({ min: EARLIEST, max: LATEST, noInvalidDate: true }),
    fc.constantFrom(EARLIEST, LATEST),
  ),
  fc.oneof(
    fc.date({ noInvalidDate: false }),
    fc.constantFrom(
      new Date(EARLIEST.getTime() - 1),
      new Date(LATEST.getTime() + 1),
      new Date(8.64e15),
      new Date(-8.64e15),
    ),
  ),
);
const anyLimit = mostly(
  fc.integer({ min: 1, max: 100 }),
  fc.oneof(
    fc.integer(),
    fc.double(),
    fc.constantFrom(0, 101, -1, 1.5, -0, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53 + 2),
  ),
);
const priority = mostly(fc.constantFrom("LOW", "MEDIUM", "HIGH"), anyString);
const anyCursor = mostly(
  fc
    .tuple(anyDate, fc.uuid())
    .map(([date, id]) =>
      Buffer.from(
        JSON.stringify([Number.isNaN(date.getTime()) ? "x" : date.toISOString(), id]),
      ).toString("base64url"),
    ),
  anyString,
);

/** What a task field reads back as, for comparison with what was sent. */
const comparable = (value: unknown) => (value instanceof Date ? value.toISOString() : value);

function expectStored(read: Outcome, sent: Record<string, unknown>) {
  expect(read.status).toBe(200);
  const stored = "value" in read ? read.value : {};
  // What the server received: superjson itself sends an invalid Date as null.
  const received: Record<string, unknown> = superjson.parse(superjson.stringify(sent));
  for (const [field, value] of Object.entries(received)) {
    expect(comparable(stored[field]), field).toEqual(comparable(value));
  }
}

describe("arbitrary input never gets a 5xx, and what is stored reads back as sent", () => {
  it("task.create", async () => {
    const input = fc.record(
      { title: anyString, description: fc.option(anyString), priority, dueAt: fc.option(anyDate) },
      { requiredKeys: ["title"] },
    );
    await fc.assert(
      fc.asyncProperty(input, async (sent) => {
        const result = await call("mutation", "task.create", sent);
        expectHandled(result, sent);
        if ("value" in result) {
          const stored = await call("query", "task.byId", { id: result.value.id });
          expectStored(stored, sent);
        }
      }),
      { numRuns: runs },
    );
  });

  it("task.update", async () => {
    const input = fc.record(
      {
        title: anyString,
        description: fc.option(anyString),
        completed: mostly(fc.boolean(), anyString),
        priority,
        dueAt: fc.option(anyDate),
      },
      { requiredKeys: [] },
    );
    await fc.assert(
      fc.asyncProperty(input, async (fields) => {
        const sent = { id: taskId, ...fields };
        const result = await call("mutation", "task.update", sent);
        expectHandled(result, sent);
        if ("value" in result) expectStored(await call("query", "task.byId", { id: taskId }), sent);
      }),
      { numRuns: runs },
    );
  });

  it("task.byId and task.delete with arbitrary ids", async () => {
    await fc.assert(
      fc.asyncProperty(mostly(fc.uuid(), anyString), async (id) => {
        expectHandled(await call("query", "task.byId", { id }), { id });
        expectHandled(await call("mutation", "task.delete", { id }), { id });
      }),
      { numRuns: runs },
    );
  });

  it("task.list with arbitrary filters, search, limit and cursor", async () => {
    const input = fc.record(
      {
        completed: mostly(fc.boolean(), anyString),
        priority,
        search: anyString,
        limit: anyLimit,
        cursor: anyCursor,
      },
      { requiredKeys: [] },
    );
    await fc.assert(
      fc.asyncProperty(input, async (sent) => {
        expectHandled(await call("query", "task.list", sent), sent);
      }),
      { numRuns: runs },
    );
  });

  it("user.update", async () => {
    const input = fc.record(
      { name: fc.option(anyString), image: fc.option(mostly(fc.webUrl(), anyString)) },
      { requiredKeys: [] },
    );
    await fc.assert(
      fc.asyncProperty(input, async (sent) => {
        const result = await call("mutation", "user.update", sent);
        expectHandled(result, sent);
        if ("value" in result) expectStored(await call("query", "user.me"), sent);
      }),
      { numRuns: runs },
    );
  });
});

describe("arbitrary token claims get 200 or 4xx, and a new account holds them as sent", () => {
  it("sub, email, name and picture", async () => {
    const claims = fc.record(
      {
        sub: anyString.filter((sub) => sub !== "fuzz"),
        email: mostly(fc.emailAddress(), anyString),
        name: anyString,
        picture: mostly(fc.webUrl(), anyString),
      },
      { requiredKeys: ["sub", "email"] },
    );
    await fc.assert(
      fc.asyncProperty(claims, async (sent) => {
        const bearer = await signToken(sent, { jwks: setup.jwks });
        const result = await call("query", "user.me", undefined, bearer);
        // 431: node:http refuses headers over 16 KiB before the API sees them.
        expect([200, 401, 409, 431], JSON.stringify(result)).toContain(result.status);
        if (!("value" in result)) return;
        // Present only while this case runs, so that every case provisions a new account.
        expect((await call("mutation", "user.delete", undefined, bearer)).status).toBe(200);
        expect(result.value).toMatchObject({
          id: sent.sub,
          email: sent.email.toLowerCase(),
          name: sent.name || null,
          image: sent.picture || null,
        });
      }),
      { numRuns: runs },
    );
  });
});

describe("search is a literal substring", () => {
  it("LIKE's wildcards and escape character match only themselves", async () => {
    const bearer = await signToken(
      { sub: "searcher", email: "searcher@example.com" },
      { jwks: setup.jwks },
    );
    const alphabet = ["%", "_", "\\", "a", "A", "b"];
    const titles = [
      ...alphabet,
      ...alphabet.flatMap((first) => alphabet.map((second) => first + second)),
    ];
    for (const title of titles) {
      expect((await call("mutation", "task.create", { title }, bearer)).status).toBe(200);
    }
    const search = fc.string({ unit: fc.constantFrom(...alphabet), minLength: 1, maxLength: 3 });
    await fc.assert(
      fc.asyncProperty(search, async (search) => {
        const result = await call("query", "task.list", { search, limit: 100 }, bearer);
        const found = "value" in result ? (result.value.items as { title: string }[]) : [];
        const expected = titles.filter((title) =>
          title.toLowerCase().includes(search.toLowerCase()),
        );
        expect(found.map((task) => task.title).sort()).toEqual(expected.sort());
      }),
      { numRuns: runs },
    );
  });
});
