// A token of the in-memory view as the request path and the admin list read it.
import type { RateLimit, TokenMetadata } from '../types';

/**
 * A token as the request path and the admin list need it. Holds its digest and hash: never leaves the
 * package as is (the admin API maps it to the public shape). Times are epoch milliseconds. Every field is set
 * when the view is made, in one order, so that all views share one shape (no field added later). The view keeps
 * tokens in columns (token-table.ts) and makes these on demand.
 */
export interface CachedToken {
  id: string;
  name: string;
  isDisabled: boolean;
  rateLimit: RateLimit | null;
  /** Frozen; NO_SCOPES (token-grants.ts) when it has none. */
  scopes: readonly string[];
  metadata: TokenMetadata | null;
  /** The current secret's non-secret beginning; null for secrets set before it was kept. */
  start: string | null;
  /** Epoch ms after which the secret is refused; null: never. */
  expiresAt: number | null;
  /** The digest as a 32-character key (digestKey in domain/secrets.ts), not its stored text. */
  secretDigest: string;
  /** The bcrypt hash packed by packBcryptHash; '' when the stored hash is unusable. */
  packedHash: string;
  /** The previous secret's digest key while a rotation's grace period may run, and when that period ends. */
  previousSecretDigest: string | null;
  previousSecretExpiresAt: number | null;
  /** Epoch ms of the newest known successful call; the view updates it in the views it handed out (Catalog.noteUse). */
  lastUsedAt: number | null;
  /**
   * Set on the second view of a token that its previous secret finds during a grace period: the same id, name,
   * state and limits, the previous digest and hash, and an expiry that is the earlier of the two ends.
   */
  viaPreviousSecret: boolean;
  createdBy: string;
  createdAt: number;
  lastModifiedBy: string;
  lastModified: number;
  /** Set once this instance has checked this secret's bcrypt hash (Catalog.confirm); a changed token is a new object without it. */
  confirmed: boolean;
  /**
   * Set when this view's stored hash breaks the bcrypt rule (malformed, or a cost that would pin a bcrypt slot for
   * hours): the package never wrote it, and bcrypt must never run on it, so the secret is refused like an unknown one.
   */
  unusableHash: boolean;
}
