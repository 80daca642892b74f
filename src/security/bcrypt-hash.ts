// The one rule for a bcrypt hash this package stores or hands to bcrypt: well-formed, and a cost it could have made.

/** The costs bcryptRounds allows: a hash of a higher cost could only come from outside, and would pin a bcrypt slot for hours. */
export const BCRYPT_COST_MIN = 4;
export const BCRYPT_COST_MAX = 15;

const SHAPE = /^\$2[aby]\$(\d{2})\$[./A-Za-z0-9]{53}$/;

/**
 * Why a hash must never reach bcrypt, or null. The text names the rule (and the cost, which is no secret) but
 * never quotes the hash, so it may go into an error body or a log line.
 */
export function bcryptHashProblem(hash: unknown): string | null {
  const match = typeof hash === 'string' ? SHAPE.exec(hash) : null;
  if (!match) return 'The bcrypt hash is malformed: it must be $2a$, $2b$ or $2y$, a two-digit cost, $ and 53 characters of bcrypt base64.';
  const cost = Number(match[1]);
  if (cost < BCRYPT_COST_MIN || cost > BCRYPT_COST_MAX) return `The bcrypt cost must be from ${BCRYPT_COST_MIN} to ${BCRYPT_COST_MAX} (got ${cost}).`;
  return null;
}
