// Field rules shared by the services (and mirrored by the admin UI): names, rate limits, expiry and grace periods.
import type { RateLimit } from '../types';

// These constants feed the services' checks, the admin API's JSON schemas and so its OpenAPI document (schemas.ts).

/** In characters (Unicode code points, as JSON Schema's maxLength counts them). */
export const NAME_MAX_LENGTH = 200;
/** In characters (Unicode code points); checked by the admin API's schema. */
export const DESCRIPTION_MAX_LENGTH = 10_000;
export const RATE_LIMIT_MAX_REQUESTS = 100;
export const RATE_LIMIT_MAX_WINDOW_SECONDS = 86_400;

/**
 * Characters that let stored text forge or reorder what a terminal, log viewer or table shows: C0 and C1 controls
 * (newline, carriage return, ANSI escapes, CSI), the line and paragraph separators, and the bidi embeddings,
 * overrides and isolates (U+202A-U+202E, U+2066-U+2069) that reorder everything after them. The bidi marks (U+200E,
 * U+200F, U+061C) are allowed: they only set the direction of neighbouring punctuation, right-to-left names need
 * them, and they cannot move text across a line. The admin UI has a copy of these rules: src/ui/text-rules.js.
 */
const DISPLAY_BREAKING_CHARACTERS = '\\u0000-\\u001f\\u007f-\\u009f\\u2028\\u2029\\u202a-\\u202e\\u2066-\\u2069';
/**
 * A description is prose from a multi-line field that the APIs' OpenAPI document shows as CommonMark: it may hold
 * line feeds and tabs. A carriage return stays refused, since it moves a terminal's cursor back over a line.
 */
const DISPLAY_BREAKING_IN_PROSE_CHARACTERS =
  '\\u0000-\\u0008\\u000b-\\u001f\\u007f-\\u009f\\u2028\\u2029\\u202a-\\u202e\\u2066-\\u2069';
const DISPLAY_BREAKING = new RegExp(`[${DISPLAY_BREAKING_CHARACTERS}]`, 'u');
const DISPLAY_BREAKING_IN_PROSE = new RegExp(`[${DISPLAY_BREAKING_IN_PROSE_CHARACTERS}]`, 'u');

const NAME_BODY = `[^${DISPLAY_BREAKING_CHARACTERS}]*[^\\s${DISPLAY_BREAKING_CHARACTERS}][^${DISPLAY_BREAKING_CHARACTERS}]*`;
/** A name as a JSON Schema pattern: something besides white space, and no display-breaking character. */
export const NAME_PATTERN = `^${NAME_BODY}$`;
/** A definition's name: empty (none) or a name. */
export const OPTIONAL_NAME_PATTERN = `^(?:${NAME_BODY})?$`;
/** A description: no display-breaking character but line feeds and tabs. */
export const DESCRIPTION_PATTERN = `^[^${DISPLAY_BREAKING_IN_PROSE_CHARACTERS}]*$`;

/** Why a name (one line) or a description (`multiline`) is unacceptable because of a character in it, or null. */
function displayTextProblem(text: string, what: 'name' | 'description', multiline = false): string | null {
  const found = (multiline ? DISPLAY_BREAKING_IN_PROSE : DISPLAY_BREAKING).exec(text);
  if (!found) return null;
  const code = found[0].codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0');
  const allowed = multiline ? ' (line feeds and tabs are fine)' : '';
  return `The ${what} must not contain control characters, line separators or bidi overrides${allowed}; found U+${code} at position ${found.index}.`;
}

/** The length in code points: a character outside the BMP (an emoji) counts once, as in JSON Schema. */
function characters(text: string): number {
  return Array.from(text).length;
}

/** Why a required name (a token's) is unacceptable, or null. */
export function nameProblem(name: string): string | null {
  if (name.trim() === '') return 'The name must not be empty or whitespace-only.';
  if (characters(name) > NAME_MAX_LENGTH) return `The name must be at most ${NAME_MAX_LENGTH} characters long.`;
  return displayTextProblem(name, 'name');
}

/** Why an optional name (a definition's, where '' means none) is unacceptable, or null. */
export function optionalNameProblem(name: string): string | null {
  if (name === '') return null;
  if (name.trim() === '') return 'The name may be left out, but must not be whitespace-only.';
  if (characters(name) > NAME_MAX_LENGTH) return `The name must be at most ${NAME_MAX_LENGTH} characters long.`;
  return displayTextProblem(name, 'name');
}

/** Why a description is unacceptable, or null; its length is the schema's to check. */
export function descriptionProblem(description: string): string | null {
  return displayTextProblem(description, 'description', true);
}

/** Why a rate limit is unacceptable, or null; null itself means unlimited and is fine. */
export function rateLimitProblem(rateLimit: RateLimit | null): string | null {
  if (rateLimit === null) return null;
  const { limit, windowSeconds } = rateLimit;
  if (!Number.isInteger(limit) || limit < 1 || limit > RATE_LIMIT_MAX_REQUESTS) {
    return `The rate limit must allow from 1 to ${RATE_LIMIT_MAX_REQUESTS} requests (got ${String(limit)}).`;
  }
  if (!Number.isInteger(windowSeconds) || windowSeconds < 1 || windowSeconds > RATE_LIMIT_MAX_WINDOW_SECONDS) {
    return `The rate-limit window must be from 1 second to 1 day (${RATE_LIMIT_MAX_WINDOW_SECONDS} s) in whole seconds (got ${String(windowSeconds)}).`;
  }
  return null;
}

/**
 * An ISO-8601 date, or date and time with an optional offset, whose fields are in range (month 01-12, day 01-31, hour
 * 00-23, minute and second 00-59): what the admin API's times accept. Which months have a 31st is left to Date.
 */
export const ISO_TIME_PATTERN =
  '^\\d{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\\d|3[01])' +
  '(?:T(?:[01]\\d|2[0-3]):[0-5]\\d(?::[0-5]\\d(?:\\.\\d{1,9})?)?(?:Z|[+-](?:[01]\\d|2[0-3]):[0-5]\\d)?)?$';
const ISO_TIME = new RegExp(ISO_TIME_PATTERN, 'u');

/** An expiry is an ISO-8601 time (ISO_TIME_PATTERN) that names a real instant, or null for never. */
export function expiryProblem(expiresAt: string | null): string | null {
  if (expiresAt === null) return null;
  return !ISO_TIME.test(expiresAt) || Number.isNaN(expiryDate(expiresAt).getTime())
    ? `The expiry '${expiresAt}' is not a valid date and time.`
    : null;
}

/** The instant an expiry names; a time without an offset is UTC (never the server's local time zone). */
export function expiryDate(expiresAt: string): Date {
  const hasZone = /(Z|[+-]\d{2}:\d{2})$/i.test(expiresAt) || !expiresAt.includes('T');
  return new Date(hasZone ? expiresAt : `${expiresAt}Z`);
}

export const GRACE_PERIOD_MAX_DAYS = 90;

/** A grace period ends at a real instant in the future, at most GRACE_PERIOD_MAX_DAYS away. */
export function gracePeriodProblem(text: string, end: Date, now = Date.now()): string | null {
  if (!ISO_TIME.test(text) || Number.isNaN(end.getTime()))
    return `previousSecretExpiresAt '${text}' is not a valid date and time.`;
  if (end.getTime() <= now)
    return `previousSecretExpiresAt '${text}' is not in the future; leave it out to end the previous secret at once.`;
  if (end.getTime() - now > GRACE_PERIOD_MAX_DAYS * 86_400_000)
    return `A grace period may last at most ${GRACE_PERIOD_MAX_DAYS} days.`;
  return null;
}

const UUID_BODY = '[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}';
/** A UUID (any version, either case) as a JSON Schema pattern. */
export const UUID_PATTERN = `^${UUID_BODY}$`;
/** Up to 100 comma-separated UUIDs (the `ids` query parameter). */
export const UUID_LIST_PATTERN = `^${UUID_BODY}(?:,${UUID_BODY}){0,99}$`;
const UUID = new RegExp(UUID_PATTERN, 'u');

export function isUuid(value: string): boolean {
  return UUID.test(value);
}

/** A scope: what a token may do beyond the definitions that allow it (`orders:read`). */
export const SCOPE_PATTERN = '^[a-z0-9:._-]{1,64}$';
export const SCOPE_MAX_LENGTH = 64;
/** Scopes per token, and required scopes per definition. */
export const SCOPES_MAX_COUNT = 50;
const SCOPE = new RegExp(SCOPE_PATTERN, 'u');

/**
 * Why a list of scopes is unacceptable, or null. A scope listed twice is refused rather than dropped, so that what
 * an admin sends is what is stored and shown back.
 */
export function scopesProblem(scopes: readonly string[], what = 'scopes'): string | null {
  if (scopes.length > SCOPES_MAX_COUNT) return `At most ${SCOPES_MAX_COUNT} ${what} (got ${scopes.length}).`;
  const seen = new Set<string>();
  for (const scope of scopes) {
    if (typeof scope !== 'string' || !SCOPE.test(scope))
      return `Each of the ${what} must be 1-${SCOPE_MAX_LENGTH} characters of a-z 0-9 : . _ - (got ${JSON.stringify(scope)}).`;
    if (seen.has(scope)) return `The ${what} list '${scope}' twice; list each once.`;
    seen.add(scope);
  }
  return null;
}

/** A token field's problem: the admin API's reason for it, the field, and the message. */
export interface TokenFieldProblem {
  reason: 'InvalidScopes' | 'InvalidMetadata';
  field: 'scopes' | 'metadata';
  message: string;
}

/** The problems of a token's scopes and metadata, where given (the admin API, the command line and backups). */
export function scopesAndMetadataProblems(input: {
  scopes?: readonly string[];
  metadata?: unknown;
}): TokenFieldProblem[] {
  const problems: TokenFieldProblem[] = [];
  const scopesIssue = input.scopes === undefined ? null : scopesProblem(input.scopes);
  if (scopesIssue) problems.push({ reason: 'InvalidScopes', field: 'scopes', message: scopesIssue });
  const metadataIssue = input.metadata === undefined ? null : metadataProblem(input.metadata);
  if (metadataIssue) problems.push({ reason: 'InvalidMetadata', field: 'metadata', message: metadataIssue });
  return problems;
}

/** Serialized as JSON, in UTF-8 bytes. */
export const METADATA_MAX_BYTES = 4096;

/**
 * Why a token's metadata is unacceptable, or null; null itself means none. An object (not an array) of at most
 * METADATA_MAX_BYTES as JSON, whose keys, at any depth, neither start with `$` nor contain `.` or NUL (MongoDB
 * reads those as operators or paths, or refuses them) nor are `__proto__` (which a reader's object would lose).
 */
export function metadataProblem(metadata: unknown): string | null {
  if (metadata === null) return null;
  if (typeof metadata !== 'object' || Array.isArray(metadata)) return 'The metadata must be a JSON object or null.';
  const bytes = Buffer.byteLength(JSON.stringify(metadata), 'utf8');
  if (bytes > METADATA_MAX_BYTES)
    return `The metadata must be at most ${METADATA_MAX_BYTES} bytes as JSON (got ${bytes}).`;
  const key = forbiddenKey(metadata);
  return key === null
    ? null
    : `The metadata key ${JSON.stringify(key)} is not allowed: keys must not start with $, contain . or NUL, or be __proto__, at any depth.`;
}

/** The first key, at any depth, that metadataProblem refuses; null when there is none. */
function forbiddenKey(value: unknown): string | null {
  if (typeof value !== 'object' || value === null) return null;
  if (Array.isArray(value)) {
    for (const item of value) {
      const found = forbiddenKey(item);
      if (found !== null) return found;
    }
    return null;
  }
  for (const [key, item] of Object.entries(value)) {
    if (key.startsWith('$') || key.includes('.') || key.includes('\u0000') || key === '__proto__') return key;
    const found = forbiddenKey(item);
    if (found !== null) return found;
  }
  return null;
}
