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

// Decimal notation, with an exponent as many clients write small and large floats (`1e-05`);
// never hex, `Infinity`, an empty string or an array.
const DECIMAL_FRACTION = /^-?\d+(\.\d+)?([eE][+-]?\d+)?$/;

/** A bounded number from a query string: decimal notation only. */
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
 * Marks client-written text for the OpenAPI document, which states its rules as patterns
 * (api/openapi.ts): no U+0000, and, where the text is trimmed and must not be empty, at
 * least one character that trimming keeps.
 */
export const TEXT_MARK = 'x-client-text';

/**
 * What String.prototype.trim removes, as the body of a regex character class that
 * ECMAScript and Python read alike.
 */
export const TRIMMED_WHITESPACE = '\\t\\n\\v\\f\\r \\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000\\ufeff';

/**
 * Client-written text: refuses what PostgreSQL cannot store, naming the field. Text and
 * jsonb cannot hold U+0000; every other character survives the UTF-8 round trip (a lone
 * surrogate becomes U+FFFD on the way out). A refinement, not a pattern, so generated
 * examples (Postman) stay readable; the document gets the pattern from TEXT_MARK.
 */
export function textField() {
  return z
    .string()
    .refine((s) => !s.includes('\u0000'), 'must not contain NUL (\\u0000) characters')
    .meta({ [TEXT_MARK]: true });
}

export const isoDateTime = z.string().describe('ISO 8601 timestamp, UTC');

// Years PostgreSQL and JavaScript agree on (no year 0, no five-digit years), as written: an
// offset moves the instant by less than a day, so it stays within 1969 to 9999 in UTC too.
const MIN_YEAR = 1970;
const MAX_YEAR = 9998;
/** The same window as a pattern on the written year, for the document. */
const YEAR_PATTERN = '^(?:19[7-9][0-9]|[2-8][0-9]{3}|9[0-8][0-9]{2}|99[0-8][0-9]|999[0-8])-';

/** A client-written instant: ISO 8601 with a zone, within a sane window of years. */
export function dateTimeInput(message = 'must be an ISO 8601 date-time with a time zone, e.g. 2026-12-01T15:00:00Z') {
  return z.iso
    .datetime({ offset: true, message })
    .refine(
      (s) => {
        const year = Number(s.slice(0, 4));
        return year >= MIN_YEAR && year <= MAX_YEAR;
      },
      // Only for a well-formed date: a malformed one is reported once, by the format check.
      { message: `must be between the years ${MIN_YEAR} and ${MAX_YEAR}`, when: (payload) => payload.issues.length === 0 },
    )
    .meta({ allOf: [{ pattern: YEAR_PATTERN }] });
}

/**
 * A rule of a request that JSON Schema cannot state: stated in the operation's description
 * and, machine-readable, in its `x-rules` (api/openapi.ts lifts them there), where clients
 * and the fuzzer (scripts/fuzz.ts) read them. Breaking one is a 400 naming the field.
 */
export type RequestRule =
  /** When both are given, `fields[0]` must not be greater (numbers) or later (date-times) than `fields[1]`. */
  | { rule: 'ordered'; fields: [string, string]; description: string }
  /**
   * A date-time at least `min_minutes_setting` minutes and at most `max_days_setting` days
   * from now, both named by their configuration keys (README "Configuration").
   */
  | { rule: 'from-now'; field: string; min_minutes_setting: string; max_days_setting: string; description: string }
  /** A value only the server can issue (an emailed code): any other is a 400 naming the field. */
  | { rule: 'issued'; field: string; description: string }
  /** A key the client makes unique per intended request: the same key with another request is a 422 naming it. */
  | { rule: 'unique-per-request'; field: string; description: string }
  /** The id of an existing `to` (a realtor, say): any other is a 400 naming the field. */
  | { rule: 'refers'; field: string; to: string; description: string }
  /** Uploaded files judged by their bytes: of `media_types` (415 otherwise) and whole (422 otherwise). */
  | { rule: 'file-content'; field: string; media_types: string[]; description: string };

export const RULES_KEY = 'x-rules';

/** `schema` with `rules` added to the ones it already declares. */
export function withRules<T extends z.ZodType>(schema: T, rules: RequestRule[]): T {
  const declared = ((schema.meta() ?? {}) as Record<string, unknown>)[RULES_KEY] as RequestRule[] | undefined;
  return schema.meta({ [RULES_KEY]: [...(declared ?? []), ...rules] });
}

/**
 * `low` must not exceed `high` when both are given (a price range, a time range): checked
 * here, reported on `low`, and declared as a rule for the document.
 */
export function orderedFields<T extends z.ZodObject>(schema: T, low: string & keyof z.infer<T>, high: string & keyof z.infer<T>, kind: 'number' | 'date-time') {
  const value = (v: unknown) => (kind === 'number' ? (v as number) : new Date(v as string).getTime());
  const description = kind === 'number' ? `${low} must not exceed ${high}` : `${low} must not be after ${high}`;
  const checked = schema.refine((q: Record<string, unknown>) => q[low] === undefined || q[high] === undefined || value(q[low]) <= value(q[high]), {
    message: description,
    path: [low],
  });
  return withRules(checked, [{ rule: 'ordered', fields: [low, high], description }]);
}

/**
 * A body or query of optional fields that must name at least one: `minProperties: 1` in the
 * document. Only for an otherwise valid object: `{ "email": ... }` is reported as an unknown
 * field, not also as "nothing to change".
 */
export function nonEmptyObject<T extends z.ZodObject>(schema: T) {
  return schema
    .refine((b: object) => Object.keys(b).length > 0, { message: 'nothing to change', when: (payload) => payload.issues.length === 0 })
    .meta({ minProperties: 1 });
}

export function resourceSchema<A extends z.ZodType>(type: string, attributes: A, relationships?: z.ZodType) {
  return z.object({
    id: z.string(),
    type: z.literal(type),
    attributes,
    ...(relationships ? { relationships } : {}),
  });
}

/**
 * An email as stored: trimmed and lower-cased. The document states the pattern zod checks
 * (which leaves out U+0000 by itself), not `format: email`: RFC 5322 allows addresses this
 * pattern refuses and refuses some it allows, so the format would not tell the truth.
 */
export const emailField = textField()
  .trim()
  .max(255)
  .pipe(z.email({ message: 'must be a valid email address' }))
  .transform((e) => e.toLowerCase())
  .meta({ [TEXT_MARK]: false, pattern: z.regexes.email.source, description: 'an email address (as the pattern says); stored lower-cased' });

/** The local identity provider's policy (adapters/identity/local.ts), checked before it is asked. */
export const PASSWORD_RULE = /[A-Za-z][\s\S]*[0-9]|[0-9][\s\S]*[A-Za-z]/;

export const passwordField = textField()
  .min(8, 'must be at least 8 characters')
  .max(256)
  .regex(PASSWORD_RULE, 'must contain a letter and a digit')
  .describe('8 to 256 characters with at least one letter and one digit');
