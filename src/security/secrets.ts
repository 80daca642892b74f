// Secret rules, the secret generator and the peppered HMAC-SHA-256 digest that indexes secrets.
import { createHmac, createSecretKey, randomBytes, type KeyObject } from 'node:crypto';

export const SECRET_MIN_LENGTH = 32;
/** Bounds request sizes and digest work; far above the 44 characters of a generated secret. */
export const SECRET_MAX_LENGTH = 512;
const SECRET_ALPHABET = /^[A-Za-z0-9_\-.=+/]*$/;

/**
 * A new secret: 32 bytes from the CSPRNG in standard base64 (44 characters), which satisfies every secret rule.
 * @example const secret = generateSecret(); // 'mXOLhFsk2x...ZQA='
 */
export function generateSecret(): string {
  return randomBytes(32).toString('base64');
}

/** Why a secret breaks the rules (never quoting it), or null when it is acceptable. */
export function secretProblem(secret: string): string | null {
  if (secret.length < SECRET_MIN_LENGTH) return `The secret must be at least ${SECRET_MIN_LENGTH} characters long.`;
  if (secret.length > SECRET_MAX_LENGTH) return `The secret must be at most ${SECRET_MAX_LENGTH} characters long.`;
  if (!SECRET_ALPHABET.test(secret)) return 'The secret may only contain A-Z, a-z, 0-9 and _ - . = + /.';
  return null;
}

/** The lookup key of a secret: deterministic, so it can be indexed uniquely, and worthless without the pepper. */
export function digestSecret(pepper: Buffer | KeyObject, secret: string): string {
  return createHmac('sha256', pepper).update(secret, 'utf8').digest('base64url');
}

/** The pepper as a key object: HMACs made from it skip importing the raw key on every request. */
export function pepperKey(pepper: Buffer): KeyObject {
  return createSecretKey(pepper);
}
