// The pepper check: a salted scrypt of a fixed label under the pepper, so that a store can tell a wrong pepper.
import { createHash, randomBytes, scrypt, timingSafeEqual } from 'node:crypto';

/** The label the check derives from; a new label (or algorithm) is a new version of the check. */
const LABEL = 'express-user-defined-apis store pepper check v1';

/** What a store keeps of its pepper: enough to tell a wrong one, nothing that gives it away. */
export interface PepperCheckValue {
  algorithm: 'scrypt';
  /** scrypt's cost (N), block size (r) and parallelism (p), kept with the value so they can be raised later. */
  N: number;
  r: number;
  p: number;
  /** Random per store, base64: a guess tested against one store says nothing of another. */
  salt: string;
  /** 32 bytes, base64. */
  value: string;
}

/**
 * 2^14 with r 8: 16 MiB and tens of milliseconds per try, paid once per `ready()`. Testing a guess of the pepper
 * against the check costs that much, far more than the one HMAC a stored digest costs to someone holding a secret.
 */
export const PEPPER_CHECK_COST = { N: 2 ** 14, r: 8, p: 1 } as const;
const KEY_BYTES = 32;
const MAX_COST = { N: 2 ** 20, r: 32, p: 16 };

function derive(pepper: Buffer, salt: Buffer, cost: { N: number; r: number; p: number }): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const maxmem = 256 * cost.N * cost.r + 1024 * 1024;
    scrypt(pepper, Buffer.concat([Buffer.from(LABEL), salt]), KEY_BYTES, { ...cost, maxmem }, (error, key) =>
      error ? reject(error) : resolve(key),
    );
  });
}

/** A new check value for this pepper, with a fresh salt. */
export async function makePepperCheck(pepper: Buffer): Promise<PepperCheckValue> {
  const salt = randomBytes(16);
  const value = await derive(pepper, salt, PEPPER_CHECK_COST);
  return { algorithm: 'scrypt', ...PEPPER_CHECK_COST, salt: salt.toString('base64'), value: value.toString('base64') };
}

/** Costs scrypt accepts (N a power of two) and that stay within reason (at most 1 GiB, r and p bounded). */
function costsAllowed(N: number, r: number, p: number): boolean {
  const positive = [N, r, p].every((cost) => Number.isSafeInteger(cost) && cost > 0);
  return positive && N > 1 && (N & (N - 1)) === 0 && N <= MAX_COST.N && r <= MAX_COST.r && p <= MAX_COST.p;
}

/** Peppers already found to match a stored check in this process (one scrypt per store and pepper, not per ready()). */
const confirmed = new Set<string>();

/**
 * Whether the pepper is the one the check was made with. A stored value of an unknown shape, or with costs beyond
 * reason, throws: it was not written by this package.
 */
export async function pepperMatches(pepper: Buffer, check: PepperCheckValue): Promise<boolean> {
  const { algorithm, N, r, p, salt, value } = check;
  if (algorithm !== 'scrypt' || typeof salt !== 'string' || typeof value !== 'string' || !costsAllowed(N, r, p)) {
    throw new TypeError('The stored pepper check has an unknown form');
  }
  const memo = createHash('sha256').update(pepper).update(JSON.stringify(check)).digest('base64');
  if (confirmed.has(memo)) return true;
  const expected = Buffer.from(value, 'base64');
  const actual = await derive(pepper, Buffer.from(salt, 'base64'), { N, r, p });
  const matches = expected.length === actual.length && timingSafeEqual(expected, actual);
  if (matches) {
    if (confirmed.size >= 64) confirmed.clear();
    confirmed.add(memo);
  }
  return matches;
}

/** The check as one line of text, as a backup carries it: `scrypt$N$r$p$salt$value`. */
export function pepperCheckText(check: PepperCheckValue): string {
  return [check.algorithm, check.N, check.r, check.p, check.salt, check.value].join('$');
}

/** A check read back from {@link pepperCheckText}, or null when the text is not one. */
export function parsePepperCheckText(text: string): PepperCheckValue | null {
  const match = /^scrypt\$(\d{1,7})\$(\d{1,2})\$(\d{1,2})\$([A-Za-z0-9+/=]{1,64})\$([A-Za-z0-9+/=]{1,64})$/.exec(text);
  if (!match) return null;
  const [N, r, p] = match.slice(1, 4).map(Number) as [number, number, number];
  if (!costsAllowed(N, r, p)) return null;
  return { algorithm: 'scrypt', N, r, p, salt: match[4]!, value: match[5]! };
}
