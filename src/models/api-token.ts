// The ApiToken mongoose model, bound to the host's connection, and its mapping to the public shape.
import { Schema, type Connection, type Model } from 'mongoose';
import { hasExpired } from '../domain/expiry';
import type { ApiToken, RateLimit, TokenMetadata } from '../types';

/** A stored token. `secretDigest` and `secretHash` never leave the package. */
export interface ApiTokenDoc {
  _id: string;
  name: string;
  secretDigest: string;
  secretHash: string;
  isDisabled: boolean;
  rateLimit: RateLimit | null;
  /** What the token may do (see validation-rules.ts); absent in documents older than scopes: none. */
  scopes?: string[];
  /** The admin's JSON object about the token; null or absent: none. */
  metadata?: TokenMetadata | null;
  /** The current secret's non-secret beginning (secrets.ts secretStart); null or absent for secrets older than it. */
  start?: string | null;
  /** After this time the secret is refused like an unknown one; null (or absent, in older documents): never. */
  expiresAt?: Date | null;
  /**
   * The secret before the last rotation, kept working until `previousSecretExpiresAt` (a rotation's grace
   * period). Null (or absent) when the last rotation had no grace period.
   */
  previousSecretDigest?: string | null;
  previousSecretHash?: string | null;
  previousSecretExpiresAt?: Date | null;
  /** The newest successful call, written coalesced (see last-use.ts); null or absent: never used. */
  lastUsedAt?: Date | null;
  createdBy: string;
  createdAt: Date;
  lastModifiedBy: string;
  lastModified: Date;
  /** Set while a delete checks for links; see token-links.ts. Not part of the public view. */
  deletingSince?: Date | null;
}

const rateLimitSchema = new Schema<RateLimit>(
  { limit: { type: Number, required: true }, windowSeconds: { type: Number, required: true } },
  { _id: false },
);

const apiTokenSchema = new Schema<ApiTokenDoc>(
  {
    _id: { type: String, required: true },
    name: { type: String, required: true },
    secretDigest: { type: String, required: true },
    secretHash: { type: String, required: true },
    isDisabled: { type: Boolean, required: true, default: false },
    rateLimit: { type: rateLimitSchema, default: null },
    scopes: { type: [String], default: undefined },
    metadata: { type: Schema.Types.Mixed, default: null },
    start: { type: String, default: null },
    expiresAt: { type: Date, default: null },
    previousSecretDigest: { type: String, default: null },
    previousSecretHash: { type: String, default: null },
    previousSecretExpiresAt: { type: Date, default: null },
    lastUsedAt: { type: Date, default: null },
    createdBy: { type: String, required: true },
    createdAt: { type: Date, required: true },
    lastModifiedBy: { type: String, required: true },
    lastModified: { type: Date, required: true },
    deletingSince: { type: Date, default: null },
  },
  // Indexes are built by ready(), so a failure surfaces there instead of as an unhandled model 'error' event.
  { versionKey: false, autoIndex: false, autoCreate: false, strict: true, bufferCommands: false },
);
// The unique digest index is both the O(1) lookup by secret and the atomic guarantee that secrets are unique.
apiTokenSchema.index({ secretDigest: 1 }, { unique: true });
// Not unique (most tokens have none, and FerretDB has no partial indexes): the services keep current and
// previous digests apart; this serves their check that a new secret is nobody's previous one.
apiTokenSchema.index({ previousSecretDigest: 1 });
// Serves each instance's read-back of recent uses and the unusedSince filter.
apiTokenSchema.index({ lastUsedAt: 1 });
// The default list order (newest first) and its cursor, alone and behind the common equality filters: for lists
// and counts the database answers, while the in-memory view is not usable (loading, stale, database unreachable).
apiTokenSchema.index({ createdAt: -1, _id: -1 });
apiTokenSchema.index({ isDisabled: 1, createdAt: -1, _id: -1 });
apiTokenSchema.index({ createdBy: 1, createdAt: -1, _id: -1 });
apiTokenSchema.index({ name: 1, createdAt: -1, _id: -1 });
// The scope filter, while the in-memory view is not usable.
apiTokenSchema.index({ scopes: 1 });

export type ApiTokenModel = Model<ApiTokenDoc>;

/** The model on the host's connection; one per collection name, reused if it already exists. */
export function apiTokenModel(connection: Connection, collection: string): ApiTokenModel {
  const name = `UdapiApiToken_${collection}`;
  return (
    (connection.models[name] as ApiTokenModel | undefined) ??
    connection.model<ApiTokenDoc>(name, apiTokenSchema, collection)
  );
}

/** What the public view is made of, from a stored document or from the in-memory view (times as epoch ms). */
export interface TokenViewFields {
  id: string;
  name: string;
  isDisabled: boolean;
  rateLimit: RateLimit | null;
  scopes?: readonly string[];
  metadata?: TokenMetadata | null;
  start?: string | null;
  expiresAt?: Date | number | null;
  previousSecretExpiresAt?: Date | number | null;
  lastUsedAt?: Date | number | null;
  createdBy: string;
  createdAt: Date | number;
  lastModifiedBy: string;
  lastModified: Date | number;
}

/** The public view: an explicit pick, so a new stored field can never leak by default. */
export function publicToken(token: TokenViewFields): ApiToken {
  return {
    id: token.id,
    name: token.name,
    isDisabled: token.isDisabled,
    rateLimit: token.rateLimit ? { limit: token.rateLimit.limit, windowSeconds: token.rateLimit.windowSeconds } : null,
    scopes: [...(token.scopes ?? [])],
    metadata: token.metadata ? structuredClone(token.metadata) : null,
    start: token.start ?? null,
    expiresAt: isoOrNull(token.expiresAt),
    previousSecretExpiresAt: graceEnd(token.previousSecretExpiresAt),
    lastUsedAt: isoOrNull(token.lastUsedAt),
    createdBy: token.createdBy,
    createdAt: new Date(token.createdAt).toISOString(),
    lastModifiedBy: token.lastModifiedBy,
    lastModified: new Date(token.lastModified).toISOString(),
  };
}

/** A stored time as ISO-8601 UTC text, or null. */
export function isoOrNull(time: Date | number | null | undefined): string | null {
  return time === undefined || time === null ? null : new Date(time).toISOString();
}

/** A grace period that has ended is no longer part of the token's state; only a running one is shown. */
function graceEnd(time: Date | number | null | undefined): string | null {
  return time === undefined || time === null || hasExpired(new Date(time).getTime())
    ? null
    : new Date(time).toISOString();
}

export function toApiToken(doc: ApiTokenDoc): ApiToken {
  return publicToken({ ...doc, id: doc._id });
}
