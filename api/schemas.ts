import { z } from 'zod';

/** Schemas shared by several resources. */

/** PostgreSQL `integer`: anything larger would fail in the database, not here. */
export const INT_MAX = 2_147_483_647;

// A query string or path segment holds text: only plain decimal digits become a number,
// so `0x10`, `1e3`, ` 7`, `` and a repeated parameter (an array) are refused, not coerced.
const DECIMAL = /^-?\d+$/;
const fromDecimal = (v: unknown) => (typeof v === 'string' && DECIMAL.test(v) ? Number(v) : v);

/** A bounded whole number in a JSON body: a number, never a string or an array. */
export function bodyInt(min = 0, max = INT_MAX) {
  return z.number({ error: 'must be a whole number' }).int('must be a whole number').min(min).max(max);
}

/** A bounded whole number from a query string or path: plain decimal digits only. */
export function queryInt(min = 0, max = INT_MAX) {
  return z.preprocess(fromDecimal, z.number({ error: 'must be a whole number in decimal digits' }).int('must be a whole number').min(min).max(max));
}

const DECIMAL_FRACTION = /^-?\d+(\.\d+)?$/;

/** A bounded number from a query string: plain decimal notation only. */
export function queryNumber(min: number, max: number) {
  return z.preprocess(
    (v) => (typeof v === 'string' && DECIMAL_FRACTION.test(v) ? Number(v) : v),
    z.number({ error: 'must be a number in decimal notation' }).min(min).max(max),
  );
}

/** A resource id from a path or query: 1 to the largest `integer` id. */
export const idParam = queryInt(1);

export const idParams = z.object({ id: idParam.describe('resource id') }).strict();

/**
 * Client-written text: refuses what PostgreSQL cannot store, naming the field. Text and
 * jsonb cannot hold U+0000; every other character survives the UTF-8 round trip (a lone
 * surrogate becomes U+FFFD on the way out). A refinement, not a pattern, so generated
 * examples (Postman) stay readable.
 */
export function textField() {
  return z.string().refine((s) => !s.includes('\u0000'), 'must not contain NUL (\\u0000) characters');
}

export const isoDateTime = z.string().describe('ISO 8601 timestamp, UTC');

// Years PostgreSQL and JavaScript agree on: no year 0, no five-digit years.
const MIN_YEAR = 1970;
const MAX_YEAR = 9999;

/** A client-written instant: ISO 8601 with a zone, within a sane window of years. */
export function dateTimeInput(message = 'must be an ISO 8601 date-time with a time zone, e.g. 2026-12-01T15:00:00Z') {
  return z.iso.datetime({ offset: true, message }).refine(
    (s) => {
      const year = new Date(s).getUTCFullYear();
      return year >= MIN_YEAR && year <= MAX_YEAR;
    },
    // Only for a well-formed date: a malformed one is reported once, by the format check.
    { message: `must be between the years ${MIN_YEAR} and ${MAX_YEAR}`, when: (payload) => payload.issues.length === 0 },
  );
}

export function resourceSchema<A extends z.ZodType>(type: string, attributes: A, relationships?: z.ZodType) {
  return z.object({
    id: z.string(),
    type: z.literal(type),
    attributes,
    ...(relationships ? { relationships } : {}),
  });
}

/** An email as stored: trimmed and lower-cased. */
export const emailField = textField()
  .trim()
  .max(255)
  .pipe(z.email({ message: 'must be a valid email address' }))
  .transform((e) => e.toLowerCase());

export const passwordField = textField().min(8, 'must be at least 8 characters').max(256);
