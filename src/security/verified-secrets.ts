// Remembers which (digest, bcrypt hash) pairs this instance already verified, so a secret costs bcrypt once.

/**
 * A bounded LRU set keyed by digest (the view's digest key). The value is the bcrypt hash that was verified (packed,
 * as the view holds it): a rotation or a re-created token has another hash (and usually another digest), so a stale
 * entry can never vouch for it.
 */
export class VerifiedSecrets {
  private readonly entries = new Map<string, string>();

  constructor(private readonly capacity: number) {}

  has(digest: string, hash: string): boolean {
    const known = this.entries.get(digest);
    if (known !== hash) return false;
    // Refresh recency: Map iteration order is insertion order.
    this.entries.delete(digest);
    this.entries.set(digest, hash);
    return true;
  }

  add(digest: string, hash: string): void {
    if (this.capacity === 0) return;
    this.entries.delete(digest);
    this.entries.set(digest, hash);
    if (this.entries.size > this.capacity) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
  }

  forget(digest: string): void {
    this.entries.delete(digest);
  }

  get size(): number {
    return this.entries.size;
  }
}
