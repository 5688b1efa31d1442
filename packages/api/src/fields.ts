import { z } from "zod";

/*
 * Values PostgreSQL stores exactly as they were sent. Type and length checks are not enough: the
 * database refuses some strings and dates that JavaScript accepts (an error, so a 500), and
 * silently alters others:
 * - NUL (U+0000) cannot be stored in text at all;
 * - an unpaired surrogate is not Unicode: the driver sends it as U+FFFD, so it would come back
 *   altered (and two different token subjects could name one user);
 * - `varchar(n)` counts code points, where a string's `length` counts UTF-16 units;
 * - Prisma writes years outside 0001–9999 in forms PostgreSQL refuses.
 * Every input field and every token claim that reaches the database passes through these.
 */

/** Matches a UTF-16 surrogate that is not part of a pair (in `u` mode, pairs are one code point). */
const UNPAIRED_SURROGATE = /\p{Cs}/u;

function codePoints(value: string): number {
  let count = 0;
  for (const _ of value) count++;
  return count;
}

/** Text of at most `max` characters (code points, as `varchar(max)` counts them). */
export function text(max: number) {
  return z
    .string()
    .refine((value) => !value.includes("\0"), "Must not contain the NUL character (U+0000).")
    .refine(
      (value) => !UNPAIRED_SURROGATE.test(value),
      "Must be well-formed Unicode (no unpaired surrogates).",
    )
    .refine((value) => codePoints(value) <= max, `Must be at most ${max} characters.`);
}

/** Text with at least one character that is not white space. */
export function nonBlankText(max: number) {
  return text(max).refine((value) => value.trim() !== "", "Must not be blank.");
}

/** An http(s) URL a browser can load as an image. */
export const imageUrl = text(2048).pipe(z.url({ protocol: /^https?$/ }));

/** An address as HTML forms accept it (ASCII only, so lowercasing keeps its length). */
export const email = text(320).pipe(z.email({ pattern: z.regexes.html5Email }));

/** The instants every layer agrees on: ISO 8601 years 0001 to 9999, in milliseconds. */
export const EARLIEST = new Date("0001-01-01T00:00:00.000Z");
export const LATEST = new Date("9999-12-31T23:59:59.999Z");

export const instant = z
  .date()
  .min(EARLIEST, "Must be on or after 0001-01-01T00:00:00.000Z.")
  .max(LATEST, "Must be on or before 9999-12-31T23:59:59.999Z.");

/** `value` as a pattern for SQL `LIKE`, where `%`, `_` and `\` match only themselves. */
export function likeLiteral(value: string): string {
  return value.replace(/[\\%_]/g, (character) => `\\${character}`);
}

/*
 * The same procedures also serve REST (`../rest.ts`), where a query string carries only text and
 * JSON has no dates. The REST adapter would switch on zod's `coerce` in place for every top-level
 * number, boolean and date of an input (`Boolean("false")` is `true`, and the switch would reach
 * the tRPC path too); it leaves pipes and unions alone. So the fields below say exactly which
 * text they take, and the tRPC path keeps refusing everything else.
 */

/*
 * The text forms are for REST's clients, which the document describes; the types say what a
 * TypeScript caller of `AppRouter` sends (a boolean, a number, a `Date`), as before.
 */

/** A boolean, or in a query string the text `true` or `false`. */
export const flag = z
  .union([z.boolean(), z.enum(["true", "false"])])
  .pipe(z.transform((value) => value === true || value === "true")) as z.ZodType<boolean, boolean>;

/** An integer from `min` to `max`, or in a query string its decimal digits. */
export function count(min: number, max: number) {
  return z
    .union([z.number(), z.string().regex(/^\d{1,15}$/, "Must be a whole number.")])
    .transform(Number)
    .pipe(z.number().int().min(min).max(max)) as z.ZodType<number, number>;
}

/** A `boolean` that is never coerced (see above): for JSON bodies, where `true` is a boolean. */
export const bool = z.boolean().pipe(z.boolean());

/** An instant: a `Date` through tRPC (superjson), an ISO 8601 date-time with offset through REST. */
export const instantInput = z
  .union([z.date(), z.iso.datetime({ offset: true }).pipe(z.coerce.date())])
  .pipe(instant) as z.ZodType<Date, Date>;

/** How instants leave the server: `Date`s through tRPC, ISO 8601 strings in REST's JSON. */
export const instantOutput = z.date().meta({ format: "date-time" });
