import fc from "fast-check";
import superjson from "superjson";
import { describe, expect, it, vi } from "vitest";
import { serialize, transformer } from "../src/transformer.ts";

/**
 * The same value and the same JSON text, key order included, as superjson's own serializer, or
 * the same error where superjson refuses the value.
 */
function expectSuperjson(value: unknown) {
  let expected: unknown;
  try {
    expected = superjson.serialize(value);
  } catch (refused) {
    expect(() => serialize(value)).toThrow((refused as Error).message);
    return;
  }
  const ours = serialize(value);
  expect(ours).toEqual(expected);
  expect(JSON.stringify(ours)).toBe(JSON.stringify(expected));
}

const task = fc.record({
  id: fc.uuid(),
  title: fc.string(),
  description: fc.option(fc.string()),
  completed: fc.boolean(),
  priority: fc.constantFrom("LOW", "MEDIUM", "HIGH"),
  dueAt: fc.option(fc.date({ noInvalidDate: true })),
  createdAt: fc.date({ noInvalidDate: true }),
  updatedAt: fc.date({ noInvalidDate: true }),
});

describe("the transformer", () => {
  it("writes a page of tasks exactly as superjson does", () => {
    fc.assert(
      fc.property(fc.array(task, { maxLength: 25 }), fc.option(fc.string()), (items, nextCursor) =>
        expectSuperjson({ items, nextCursor }),
      ),
    );
  });

  it("writes a page of tasks on its own, without superjson's walker", () => {
    const walker = vi.spyOn(superjson, "serialize");
    try {
      fc.assert(
        fc.property(fc.array(task, { maxLength: 25 }), (items) => {
          serialize({ items, nextCursor: null });
        }),
      );
      expect(walker).not.toHaveBeenCalled();
    } finally {
      walker.mockRestore();
    }
  });

  it("writes any value exactly as superjson does, whether or not it takes the fast path", () => {
    const value = fc.anything({
      withDate: true,
      withMap: true,
      withSet: true,
      withBigInt: true,
      withNullPrototype: true,
      withSparseArray: true,
      withBoxedValues: true,
      withObjectString: true,
    });
    fc.assert(fc.property(value, expectSuperjson), { numRuns: 500 });
  });

  it("tells an empty key from the root in the paths it records", () => {
    const date = new Date(0);
    expectSuperjson({ "": [{ "": date }] });
    expectSuperjson({ "": undefined, a: { "": date } });
    expectSuperjson([{ "": { "": [date] } }]);
  });

  it("hands what superjson records specially to superjson", () => {
    const shared = { a: 1 };
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    const sameDate = new Date(0);
    for (const value of [
      { shared, again: shared },
      { at: sameDate, also: sameDate },
      cyclic,
      { n: Number.NaN, i: Number.POSITIVE_INFINITY, z: -0 },
      { "dotted.key": new Date(1), "back\\slash": new Date(2) },
      { big: 1n, map: new Map([[1, new Date(3)]]), set: new Set([1]), re: /x/g },
      { list: [1, undefined, new Date(4)], missing: undefined },
      [new Date(5), { nested: [[new Date(6)]] }],
      { when: new Date(Number.NaN) },
      new Date(7),
      "text",
      undefined,
      null,
    ]) {
      expectSuperjson(value);
    }
  });

  it("refuses what superjson refuses", () => {
    const polluted = JSON.parse('{"__proto__": {"admin": true}}');
    expect(() => serialize(polluted)).toThrow(/prototype pollution/);
  });

  it("reads back what it writes, dates as dates", () => {
    fc.assert(
      fc.property(fc.array(task, { maxLength: 5 }), (items) => {
        const wire = JSON.parse(JSON.stringify(transformer.serialize({ items })));
        expect(transformer.deserialize(wire)).toEqual({ items });
      }),
    );
  });
});
