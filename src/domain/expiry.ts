// When a token's expiry has passed: one rule for the endpoint, explain, the lists, the backup and the command line.

/** True once a token's expiry has passed: the one rule the endpoint, the explain call and the list filter share. */
export function hasExpired(expiresAt: number | null, now = Date.now()): boolean {
  return expiresAt !== null && expiresAt <= now;
}
