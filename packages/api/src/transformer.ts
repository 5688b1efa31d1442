import type { TRPCDataTransformer } from "@trpc/server";
import superjson, { type SuperJSONResult } from "superjson";

/**
 * superjson's wire format, with a fast path for what procedures return.
 *
 * Serializing a page of tasks with `superjson.serialize` cost more than building it; most of
 * that is its general walker (maps, sets, classes, shared references). `serialize` handles the
 * values results are made of (plain objects, arrays, strings, finite numbers, booleans, null,
 * undefined and valid `Date`s) itself, and hands anything else to superjson. Its output is
 * superjson's, key for key, so clients keep using superjson unchanged.
 */
export const transformer: TRPCDataTransformer = {
  serialize,
  deserialize: (payload) => superjson.deserialize(payload as SuperJSONResult),
};

type Annotations = Record<string, ["Date"] | ["undefined"]>;

/** Returned by `plain` when a value needs superjson's general walker. */
const UNUSUAL: unique symbol = Symbol("unusual");

export function serialize(value: unknown): SuperJSONResult {
  if (value === null || typeof value !== "object" || value instanceof Date) {
    return superjson.serialize(value);
  }
  const annotations: Annotations = {};
  const json = plain(value, null, annotations, new Set());
  if (json === UNUSUAL) return superjson.serialize(value);
  if (Object.keys(annotations).length === 0) return { json } as SuperJSONResult;
  return { json, meta: { values: annotations, v: 1 } } as SuperJSONResult;
}

/**
 * A JSON copy of `value` (dates as ISO strings, undefined as null), recording where dates and
 * undefined were (paths of `.`-joined keys) in the order superjson's walker records them. The
 * root's path is null: an empty key's is "", and a key below it is `.key`.
 */
function plain(
  value: unknown,
  path: string | null,
  annotations: Annotations,
  seen: Set<object>,
): unknown {
  switch (typeof value) {
    case "string":
    case "boolean":
      return value;
    case "number":
      // superjson annotates NaN and ±Infinity; -0 is left to it too.
      return Number.isFinite(value) && !Object.is(value, -0) ? value : UNUSUAL;
    case "undefined":
      annotations[path ?? ""] = ["undefined"];
      return null;
    case "object":
      break;
    default:
      return UNUSUAL;
  }
  if (value === null) return null;
  // An object met twice is a shared reference (or a cycle), which superjson records.
  if (seen.has(value)) return UNUSUAL;
  seen.add(value);
  const prefix = path === null ? "" : `${path}.`;
  if (value instanceof Date) {
    if (Number.isNaN(value.getTime())) return UNUSUAL;
    annotations[path ?? ""] = ["Date"];
    return value.toISOString();
  }
  if (Array.isArray(value)) {
    const copy: unknown[] = new Array(value.length);
    for (let index = 0; index < value.length; index++) {
      if (!(index in value)) return UNUSUAL;
      const item = plain(value[index], prefix + index, annotations, seen);
      if (item === UNUSUAL) return UNUSUAL;
      copy[index] = item;
    }
    return copy;
  }
  const prototype = Object.getPrototypeOf(value);
  if (prototype !== Object.prototype && prototype !== null) return UNUSUAL;
  const copy: Record<string, unknown> = {};
  for (const key of Object.keys(value)) {
    // Keys superjson escapes in paths, or refuses.
    if (key.includes(".") || key.includes("\\") || key === "__proto__") return UNUSUAL;
    if (key === "constructor" || key === "prototype") return UNUSUAL;
    const item = plain((value as Record<string, unknown>)[key], prefix + key, annotations, seen);
    if (item === UNUSUAL) return UNUSUAL;
    copy[key] = item;
  }
  return copy;
}
