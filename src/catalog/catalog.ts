// The in-memory view of tokens and definitions that the endpoint reads: loaded at ready(), refreshed on every write.
import type { ApiDefinitionDoc, ApiDefinitionModel } from '../models/api-definition';
import type { ApiTokenDoc, ApiTokenModel } from '../models/api-token';
import { parseRoute, type RouteSegment } from '../routing/route-grammar';
import { BCRYPT_COST_MAX, BCRYPT_COST_MIN, bcryptHashProblem } from '../security/bcrypt-hash';
import type { ActionMeta, ActionType, Logger, RateLimit } from '../types';
import { RouteMatcher } from './route-matcher';
import { TokenOrder, type OrderPosition } from './token-order';

/**
 * A token as the request path and the admin list need it. Holds its digest and hash: never leaves the
 * package as is (the admin API maps it to the public shape). Times are epoch milliseconds.
 */
export interface CachedToken {
  id: string;
  name: string;
  isDisabled: boolean;
  rateLimit: RateLimit | null;
  /** Epoch ms after which the secret is refused; null: never. */
  expiresAt: number | null;
  secretDigest: string;
  secretHash: string;
  /** The previous secret's digest while a rotation's grace period may run, and when that period ends. */
  previousSecretDigest: string | null;
  previousSecretExpiresAt: number | null;
  /** Epoch ms of the newest known successful call; updated in place by the last-use recorder. */
  lastUsedAt: number | null;
  /**
   * Set on the second view of a token that its previous secret finds during a grace period: the same id, name,
   * state and limits, the previous digest and hash, and an expiry that is the earlier of the two ends.
   */
  viaPreviousSecret?: true;
  createdBy: string;
  createdAt: number;
  lastModifiedBy: string;
  lastModified: number;
  /** Set once this instance has checked this secret's bcrypt hash; a changed token is a new object without it. */
  confirmed?: boolean;
  /**
   * Set when this view's stored hash breaks the bcrypt rule (malformed, or a cost that would pin a bcrypt slot for
   * hours): the package never wrote it, and bcrypt must never run on it, so the secret is refused like an unknown one.
   */
  unusableHash?: true;
}

/** True once a token's expiry has passed: the one rule the endpoint, the explain call and the list filter share. */
export function hasExpired(expiresAt: number | null, now = Date.now()): boolean {
  return expiresAt !== null && expiresAt <= now;
}

export interface CachedDefinition {
  id: string;
  route: string;
  segments: readonly RouteSegment[];
  allowedTokens: ReadonlySet<string>;
  actionType: ActionType;
  actionMeta: ActionMeta;
}

const TOKEN_FIELDS = {
  _id: 1, name: 1, isDisabled: 1, rateLimit: 1, expiresAt: 1, secretDigest: 1, secretHash: 1,
  previousSecretDigest: 1, previousSecretHash: 1, previousSecretExpiresAt: 1, lastUsedAt: 1, createdBy: 1, createdAt: 1, lastModifiedBy: 1, lastModified: 1,
} as const;
export type TokenRow = Pick<ApiTokenDoc, keyof typeof TOKEN_FIELDS>;

/** One string per distinct user name, however many tokens name it (a few admins create most tokens). */
const userNames = new Map<string, string>();
function shared(name: string): string {
  const existing = userNames.get(name);
  if (existing !== undefined) return existing;
  if (userNames.size < 10_000) userNames.set(name, name);
  return name;
}

function cachedToken(row: TokenRow): CachedToken {
  return {
    ...(bcryptHashProblem(row.secretHash) !== null && { unusableHash: true }),
    id: row._id,
    name: row.name,
    isDisabled: row.isDisabled,
    rateLimit: row.rateLimit ? { limit: row.rateLimit.limit, windowSeconds: row.rateLimit.windowSeconds } : null,
    expiresAt: row.expiresAt ? row.expiresAt.getTime() : null,
    secretDigest: row.secretDigest,
    secretHash: row.secretHash,
    previousSecretDigest: row.previousSecretDigest && row.previousSecretExpiresAt ? row.previousSecretDigest : null,
    previousSecretExpiresAt: row.previousSecretDigest && row.previousSecretExpiresAt ? row.previousSecretExpiresAt.getTime() : null,
    lastUsedAt: row.lastUsedAt ? row.lastUsedAt.getTime() : null,
    createdBy: shared(row.createdBy),
    createdAt: row.createdAt.getTime(),
    lastModifiedBy: shared(row.lastModifiedBy),
    lastModified: row.lastModified.getTime(),
  };
}

/** The view its previous secret finds while the grace period runs; none once it has ended. */
function previousSecretView(token: CachedToken, row: TokenRow, now = Date.now()): CachedToken | null {
  const graceEnd = token.previousSecretExpiresAt;
  if (token.previousSecretDigest === null || graceEnd === null || !row.previousSecretHash || hasExpired(graceEnd, now)) return null;
  const view: CachedToken = {
    ...token,
    secretDigest: token.previousSecretDigest,
    secretHash: row.previousSecretHash,
    expiresAt: token.expiresAt === null ? graceEnd : Math.min(token.expiresAt, graceEnd),
    viaPreviousSecret: true,
  };
  // Each secret is judged by its own hash: a rotation away from a bad hash with a grace period keeps the new secret usable.
  if (bcryptHashProblem(row.previousSecretHash) === null) delete view.unusableHash;
  else view.unusableHash = true;
  return view;
}

/** The hash fields of a token's views that bcrypt must never see, or null when there are none. */
function unusableHashes(token: CachedToken, previous: CachedToken | null): string[] | null {
  const fields = [...(token.unusableHash ? ['secretHash'] : []), ...(previous?.unusableHash ? ['previousSecretHash'] : [])];
  return fields.length > 0 ? fields : null;
}

/** Whether a digest belongs to a token: its current secret, or its previous one while the grace period runs. */
export function ownsDigest(token: CachedToken, now = Date.now()): boolean {
  return !token.viaPreviousSecret || !hasExpired(token.expiresAt, now);
}

function cachedDefinition(doc: ApiDefinitionDoc, basePath: string): CachedDefinition | null {
  const parsed = parseRoute(doc.route, basePath);
  // A stored route that no longer parses (e.g. written by a newer version) is skipped rather than crashing the load.
  if ('problem' in parsed) return null;
  return {
    id: doc._id,
    route: doc.route,
    segments: parsed.segments,
    allowedTokens: new Set(doc.securitySettings.allowedTokens),
    actionType: doc.actionType,
    actionMeta: doc.actionMeta,
  };
}

export class Catalog {
  private tokensByDigest = new Map<string, CachedToken>();
  private tokensById = new Map<string, CachedToken>();
  private tokenOrder = new TokenOrder<CachedToken>();
  private definitions = new RouteMatcher<CachedDefinition>();
  /** Tokens with an unusable hash, and which fields: each is warned about once, not on every reload. */
  private unusable = new Map<string, string>();
  private loadedAt: Date | undefined;
  /**
   * Reads of one object can finish out of order: a poll's re-read that started before a writer applied its own
   * newer document may finish after it, and would put the older state back (a rotated-away secret accepted again
   * until the next poll; seen once in a fresh-clone CI run). Each load and refresh takes a number when it starts;
   * a refresh is applied only if no load or refresh of that object that started later was applied already. What it
   * skips is never lost: every write logs a change whose poll re-reads the object after the write.
   */
  private startedReads = 0;
  private appliedReads = new Map<string, number>();
  private loadStartedAt = 0;
  /** Set when a refresh failed: the view may have missed a change, so the next health check reloads it. */
  stale = false;

  constructor(
    private readonly tokenModel: ApiTokenModel,
    private readonly definitionModel: ApiDefinitionModel,
    private readonly basePath: string,
    private readonly log: Logger,
  ) {}

  get loaded(): boolean {
    return this.loadedAt !== undefined;
  }

  get tokenCount(): number {
    return this.tokensById.size;
  }

  get definitionCount(): number {
    return this.definitions.size;
  }

  /** The token a presented secret's digest finds, if its hash may be handed to bcrypt; else undefined, as for an unknown secret. */
  tokenByDigest(digest: string): CachedToken | undefined {
    const token = this.tokensByDigest.get(digest);
    return token && !token.unusableHash ? token : undefined;
  }

  /** The token that holds a digest, usable or not: a secret stays taken even while its stored hash is unusable. */
  holderOfDigest(digest: string): CachedToken | undefined {
    return this.tokensByDigest.get(digest);
  }

  tokenById(id: string): CachedToken | undefined {
    return this.tokensById.get(id);
  }

  /** A page of the tokens that match, newest first, after the cursor position. */
  pageTokens(matches: (token: CachedToken) => boolean, limit: number, after?: OrderPosition): { items: CachedToken[]; hasMore: boolean } {
    return this.tokenOrder.page(matches, limit, after);
  }

  countTokens(matches: (token: CachedToken) => boolean): number {
    return this.tokenOrder.count(matches);
  }

  match(segments: readonly string[]) {
    return this.definitions.match(segments);
  }

  /** Reads everything and swaps it in at once, so readers never see a half-loaded view. */
  async load(): Promise<void> {
    const started = ++this.startedReads;
    const byDigest = new Map<string, CachedToken>();
    const byId = new Map<string, CachedToken>();
    const unusable = new Map<string, string>();
    for await (const row of this.tokenModel.find({}, TOKEN_FIELDS).lean<TokenRow>().cursor()) {
      const token = cachedToken(row);
      byDigest.set(token.secretDigest, token);
      byId.set(token.id, token);
      const previous = previousSecretView(token, row);
      // A current secret always wins over another token's previous one (the services never let both exist).
      if (previous && !byDigest.has(previous.secretDigest)) byDigest.set(previous.secretDigest, previous);
      const fields = unusableHashes(token, previous);
      if (fields) {
        this.warnUnusable(token.id, fields);
        unusable.set(token.id, fields.join());
      }
    }
    const matcher = new RouteMatcher<CachedDefinition>();
    for await (const doc of this.definitionModel.find({}).lean<ApiDefinitionDoc>().cursor()) {
      const definition = cachedDefinition(doc, this.basePath);
      if (definition) matcher.set(definition);
    }
    const order = new TokenOrder<CachedToken>();
    order.reset(byId.values());
    this.tokensByDigest = byDigest;
    this.tokensById = byId;
    this.unusable = unusable;
    this.tokenOrder = order;
    this.definitions = matcher;
    this.loadStartedAt = started;
    this.appliedReads = new Map();
    this.loadedAt = new Date();
    this.stale = false;
  }

  /**
   * Re-reads one token after a write (or a change reported by another instance). A writer that knows the
   * stored state (the document it just inserted, or null after a delete) passes it and saves the read.
   */
  async refreshToken(id: string, known?: TokenRow | null): Promise<void> {
    const started = ++this.startedReads;
    const row = known !== undefined ? known : await this.tokenModel.findById(id, TOKEN_FIELDS).lean<TokenRow>().exec();
    if (!this.mayApply(id, started)) return;
    const before = this.tokensById.get(id);
    if (before) {
      this.forgetDigest(before.secretDigest, id);
      if (before.previousSecretDigest !== null) this.forgetDigest(before.previousSecretDigest, id);
      this.tokenOrder.remove(before);
    }
    if (!row) {
      this.tokensById.delete(id);
      this.unusable.delete(id);
      return;
    }
    const token = cachedToken(row);
    // A use this instance noted may not be written yet: never move the time back.
    if (before?.lastUsedAt && (token.lastUsedAt ?? 0) < before.lastUsedAt) token.lastUsedAt = before.lastUsedAt;
    this.tokensById.set(id, token);
    this.tokensByDigest.set(token.secretDigest, token);
    this.tokenOrder.insert(token);
    const previous = previousSecretView(token, row);
    const holder = previous && this.tokensByDigest.get(previous.secretDigest);
    if (previous && (!holder || holder.viaPreviousSecret)) this.tokensByDigest.set(previous.secretDigest, previous);
    const fields = unusableHashes(token, previous);
    if (fields) {
      this.warnUnusable(id, fields);
      this.unusable.set(id, fields.join());
    } else {
      this.unusable.delete(id);
    }
  }

  /** Once per token and set of bad fields (a reload finds the same again); names the token and field, never the hash. */
  private warnUnusable(id: string, fields: string[]): void {
    if (this.unusable.get(id) === fields.join()) return;
    this.log.warn(
      { objectType: 'ApiToken', objectId: id, fields },
      `A stored bcrypt hash is malformed or of a cost outside ${BCRYPT_COST_MIN}-${BCRYPT_COST_MAX}, so this package never wrote it: `
        + 'its secret is refused without running bcrypt. Rotate the token, and find out who wrote to the database',
    );
  }

  /** Records a use in the token's view, if it is newer than the one known. */
  noteUse(id: string, at: number): void {
    const token = this.tokensById.get(id);
    if (token && (token.lastUsedAt === null || token.lastUsedAt < at)) token.lastUsedAt = at;
  }

  /** Whether a read of an object that started as number `started` is newer than what the view shows of it; if so, records it. */
  private mayApply(id: string, started: number): boolean {
    if ((this.appliedReads.get(id) ?? this.loadStartedAt) > started) return false;
    this.appliedReads.set(id, started);
    return true;
  }

  /** Removes a digest's entry only while it still belongs to this token (another token may hold it by now). */
  private forgetDigest(digest: string, id: string): void {
    if (this.tokensByDigest.get(digest)?.id === id) this.tokensByDigest.delete(digest);
  }

  async refreshDefinition(id: string, known?: ApiDefinitionDoc | null): Promise<void> {
    const started = ++this.startedReads;
    const doc = known !== undefined ? known : await this.definitionModel.findById(id).lean<ApiDefinitionDoc>().exec();
    if (!this.mayApply(id, started)) return;
    const definition = doc ? cachedDefinition(doc, this.basePath) : null;
    if (definition) this.definitions.set(definition);
    else this.definitions.delete(id);
  }
}
