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
  if (!match)
    return 'The bcrypt hash is malformed: it must be $2a$, $2b$ or $2y$, a two-digit cost, $ and 53 characters of bcrypt base64.';
  const cost = Number(match[1]);
  if (cost < BCRYPT_COST_MIN || cost > BCRYPT_COST_MAX)
    return `The bcrypt cost must be from ${BCRYPT_COST_MIN} to ${BCRYPT_COST_MAX} (got ${cost}).`;
  return null;
}

const BCRYPT_ALPHABET = './ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const SEXTETS = new Map([...BCRYPT_ALPHABET].map((character, value) => [character, value]));
/** The 53 characters after `$2b$10$`: 13 groups of four (three bytes each) and one left over (a byte). */
const BODY_START = 7;
const BODY_LENGTH = 53;

/**
 * A well-formed hash in 42 bytes instead of 60 (a one-byte string: its version letter, its cost, then the 53
 * characters at six bits each), so the in-memory view holds 100,000 of them in 6 MiB instead of 8. Null for a
 * hash that breaks the rule: such a hash never reaches bcrypt, so it need not be kept.
 */
export function packBcryptHash(hash: string): string | null {
  if (bcryptHashProblem(hash) !== null) return null;
  const bytes = Buffer.alloc(42);
  bytes[0] = hash.charCodeAt(2);
  bytes[1] = Number(hash.slice(4, 6));
  let at = 2;
  const sextet = (i: number): number => SEXTETS.get(hash[BODY_START + i]!)!;
  for (let i = 0; i + 4 <= BODY_LENGTH; i += 4) {
    const group = (sextet(i) << 18) | (sextet(i + 1) << 12) | (sextet(i + 2) << 6) | sextet(i + 3);
    bytes[at++] = group >>> 16;
    bytes[at++] = (group >>> 8) & 0xff;
    bytes[at++] = group & 0xff;
  }
  bytes[at] = sextet(BODY_LENGTH - 1);
  return bytes.toString('latin1');
}

/** The hash packBcryptHash packed, as bcrypt reads it. */
export function unpackBcryptHash(packed: string): string {
  const bytes = Buffer.from(packed, 'latin1');
  let hash = `$2${String.fromCharCode(bytes[0]!)}$${String(bytes[1]).padStart(2, '0')}$`;
  for (let at = 2; at + 3 <= 41; at += 3) {
    const group = (bytes[at]! << 16) | (bytes[at + 1]! << 8) | bytes[at + 2]!;
    hash +=
      BCRYPT_ALPHABET[group >>> 18]! +
      BCRYPT_ALPHABET[(group >>> 12) & 63]! +
      BCRYPT_ALPHABET[(group >>> 6) & 63]! +
      BCRYPT_ALPHABET[group & 63]!;
  }
  return hash + BCRYPT_ALPHABET[bytes[41]!]!;
}
