// Secret rules, the secret generator (optionally identifiable: prefix and checksum), a token's non-secret start, and
// the peppered HMAC-SHA-256 digest that indexes secrets.
import { createHmac, randomBytes } from 'node:crypto';
import { crc32 } from 'node:zlib';

export const SECRET_MIN_LENGTH = 32;
/** Bounds request sizes and digest work; far above the 44 characters of a generated secret. */
export const SECRET_MAX_LENGTH = 512;
/** The characters a secret may hold, as the body of a regular expression's character class. */
export const SECRET_CHARACTERS = 'A-Za-z0-9_\\-.=+/';
const SECRET_ALPHABET = new RegExp(`^[${SECRET_CHARACTERS}]*$`, 'u');

/** The `secretPrefix` option: 1-16 letters, digits and underscores. */
export const SECRET_PREFIX_PATTERN = /^[A-Za-z0-9_]{1,16}$/;

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
/** 32 random bytes in base62: 62^43 > 2^256, so every 256-bit value has its own 43 digits. */
const RANDOM_PART_LENGTH = 43;
/** A CRC32 in base62: 62^6 > 2^32. */
const CHECKSUM_LENGTH = 6;
const IDENTIFIABLE_BODY = new RegExp(`^[0-9A-Za-z]{${RANDOM_PART_LENGTH + CHECKSUM_LENGTH}}$`, 'u');

/** `value` as exactly `length` base62 digits (value < 62^length). */
function base62(value: bigint, length: number): string {
  let text = '';
  for (let rest = value; text.length < length; rest /= 62n) text = BASE62[Number(rest % 62n)]! + text;
  return text;
}

function checksumOf(randomPart: string): string {
  return base62(BigInt(crc32(randomPart)), CHECKSUM_LENGTH);
}

/**
 * A new secret from 32 bytes of the CSPRNG. Without a prefix: standard base64 (44 characters), as before. With one
 * (the `secretPrefix` option): the prefix, the bytes in base62 (43 characters) and a CRC32 of those in base62 (6), so
 * secret scanners and log filters can recognise it and a mistyped one is refused without a lookup. Either way it
 * satisfies every secret rule.
 * @example const secret = generateSecret(); // 'mXOLhFsk2x...ZQA='
 * @example const secret = generateSecret('udapi_'); // 'udapi_3kTm...9QzR1a' (55 characters)
 */
export function generateSecret(prefix?: string): string {
  if (prefix === undefined) return randomBytes(32).toString('base64');
  const randomPart = base62(BigInt(`0x${randomBytes(32).toString('hex')}`), RANDOM_PART_LENGTH);
  return `${prefix}${randomPart}${checksumOf(randomPart)}`;
}

/**
 * True for a secret that has the shape of one generated with `prefix` (the prefix, then 49 base62 characters) but
 * whose checksum does not match: a typo or a forgery, never a stored secret, since a secret an admin supplies in this
 * shape must carry a valid checksum ({@link secretProblem}). Anything else is false, and is looked up as usual.
 */
export function hasBrokenChecksum(secret: string, prefix: string): boolean {
  if (!secret.startsWith(prefix)) return false;
  const body = secret.slice(prefix.length);
  if (!IDENTIFIABLE_BODY.test(body)) return false;
  return body.slice(RANDOM_PART_LENGTH) !== checksumOf(body.slice(0, RANDOM_PART_LENGTH));
}

/** Characters of a generated secret's random part that its `start` shows: 6 of 43 (about 36 of 256 bits). */
export const GENERATED_START_LENGTH = 6;
/**
 * Characters of an admin-supplied secret that its `start` shows: 4 of at least 32, since such a secret may be
 * weaker than a generated one, and a longer start would give away too much of it.
 */
export const SUPPLIED_START_LENGTH = 4;

/**
 * The short, non-secret beginning of a secret that lists show, so people can tell keys apart: a generated secret's
 * prefix (if any) and the first 6 characters after it; an admin-supplied secret's first 4 characters.
 */
export function secretStart(secret: string, generated: boolean, prefix: string | null): string {
  if (!generated) return secret.slice(0, SUPPLIED_START_LENGTH);
  return secret.slice(0, (prefix?.length ?? 0) + GENERATED_START_LENGTH);
}

/**
 * Why a secret breaks the rules (never quoting it), or null when it is acceptable. With a `prefix` (the
 * `secretPrefix` option), a supplied secret in the shape of a generated one must carry a valid checksum too, so the
 * endpoint may refuse a broken one without a lookup ({@link hasBrokenChecksum}).
 */
export function secretProblem(secret: string, prefix: string | null = null): string | null {
  if (secret.length < SECRET_MIN_LENGTH) return `The secret must be at least ${SECRET_MIN_LENGTH} characters long.`;
  if (secret.length > SECRET_MAX_LENGTH) return `The secret must be at most ${SECRET_MAX_LENGTH} characters long.`;
  if (!SECRET_ALPHABET.test(secret)) return 'The secret may only contain A-Z, a-z, 0-9 and _ - . = + /.';
  if (prefix !== null && hasBrokenChecksum(secret, prefix))
    return `The secret has the shape of a generated one (${prefix} and 49 letters and digits) but not its checksum; leave the secret out to have one generated.`;
  return null;
}

/** The lookup key of a secret: deterministic, so it can be indexed uniquely, and worthless without the pepper. */
export function digestSecret(pepper: Buffer, secret: string): string {
  return createHmac('sha256', pepper).update(secret, 'utf8').digest('base64url');
}

/**
 * The in-memory view's key of a stored digest: its 32 bytes as a one-byte string, which costs 48 bytes of heap
 * against 64 for the 43 characters of text. A stored digest that is not one (written by hand) keeps its text
 * behind a character no such key holds, so it can never equal the key of a presented secret.
 */
export function digestKey(digest: string): string {
  const bytes = Buffer.from(digest, 'base64url');
  return bytes.length === 32 && bytes.toString('base64url') === digest ? bytes.toString('latin1') : `\u0100${digest}`;
}

/** The stored text of a digest key (what digestSecret returns). */
export function digestText(key: string): string {
  return key.startsWith('\u0100') ? key.slice(1) : Buffer.from(key, 'latin1').toString('base64url');
}
