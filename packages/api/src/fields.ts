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
