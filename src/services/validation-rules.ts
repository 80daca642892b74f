// Field rules shared by the services (and mirrored by the admin UI): names, rate limits, expiry and grace periods.
import type { RateLimit } from '../types';

export const NAME_MAX_LENGTH = 200;
export const RATE_LIMIT_MAX_REQUESTS = 100;
export const RATE_LIMIT_MAX_WINDOW_SECONDS = 86_400;

/**
 * Characters that let stored text forge or reorder what a terminal, log viewer or table shows: C0 and C1 controls
 * (newline, carriage return, ANSI escapes, CSI), the line and paragraph separators, and the bidi embeddings,
 * overrides and isolates (U+202A-U+202E, U+2066-U+2069) that reorder everything after them. The bidi marks (U+200E,
 * U+200F, U+061C) are allowed: they only set the direction of neighbouring punctuation, right-to-left names need
 * them, and they cannot move text across a line. The admin UI has a copy of these rules: src/ui/text-rules.js.
 */
// eslint-disable-next-line no-control-regex
const DISPLAY_BREAKING = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/u;
/**
 * A description is prose from a multi-line field that the APIs' OpenAPI document shows as CommonMark: it may hold
 * line feeds and tabs. A carriage return stays refused, since it moves a terminal's cursor back over a line.
 */
// eslint-disable-next-line no-control-regex
const DISPLAY_BREAKING_IN_PROSE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/u;

/** Why a name (one line) or a description (`multiline`) is unacceptable because of a character in it, or null. */
function displayTextProblem(text: string, what: 'name' | 'description', multiline = false): string | null {
  const found = (multiline ? DISPLAY_BREAKING_IN_PROSE : DISPLAY_BREAKING).exec(text);
  if (!found) return null;
  const code = found[0].codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0');
  const allowed = multiline ? ' (line feeds and tabs are fine)' : '';
  return `The ${what} must not contain control characters, line separators or bidi overrides${allowed}; found U+${code} at position ${found.index}.`;
}

/** Why a required name (a token's) is unacceptable, or null. */
export function nameProblem(name: string): string | null {
  if (name.trim() === '') return 'The name must not be empty or whitespace-only.';
  if (name.length > NAME_MAX_LENGTH) return `The name must be at most ${NAME_MAX_LENGTH} characters long.`;
  return displayTextProblem(name, 'name');
}

/** Why an optional name (a definition's, where '' means none) is unacceptable, or null. */
export function optionalNameProblem(name: string): string | null {
  if (name === '') return null;
  if (name.trim() === '') return 'The name may be left out, but must not be whitespace-only.';
  if (name.length > NAME_MAX_LENGTH) return `The name must be at most ${NAME_MAX_LENGTH} characters long.`;
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

/** An expiry is an ISO-8601 time (the schema checks its shape) that names a real instant, or null for never. */
export function expiryProblem(expiresAt: string | null): string | null {
  if (expiresAt === null) return null;
  return Number.isNaN(expiryDate(expiresAt).getTime()) ? `The expiry '${expiresAt}' is not a valid date and time.` : null;
}

/** The instant an expiry names; a time without an offset is UTC (never the server's local time zone). */
export function expiryDate(expiresAt: string): Date {
  const hasZone = /(Z|[+-]\d{2}:\d{2})$/i.test(expiresAt) || !expiresAt.includes('T');
  return new Date(hasZone ? expiresAt : `${expiresAt}Z`);
}

export const GRACE_PERIOD_MAX_DAYS = 90;

/** A grace period ends at a real instant in the future, at most GRACE_PERIOD_MAX_DAYS away. */
export function gracePeriodProblem(text: string, end: Date, now = Date.now()): string | null {
  if (Number.isNaN(end.getTime())) return `previousSecretExpiresAt '${text}' is not a valid date and time.`;
  if (end.getTime() <= now) return `previousSecretExpiresAt '${text}' is not in the future; leave it out to end the previous secret at once.`;
  if (end.getTime() - now > GRACE_PERIOD_MAX_DAYS * 86_400_000) return `A grace period may last at most ${GRACE_PERIOD_MAX_DAYS} days.`;
  return null;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isUuid(value: string): boolean {
  return UUID.test(value);
}
