// The in-memory view of tokens and definitions that the endpoint reads: loaded at ready(), refreshed on every write.
import type { ApiDefinitionDoc, ApiDefinitionModel } from '../models/api-definition';
import type { ApiTokenDoc, ApiTokenModel } from '../models/api-token';
import { hasExpired } from '../domain/expiry';
import { parseRoute } from '../domain/route-grammar';
import { BCRYPT_COST_MAX, BCRYPT_COST_MIN, packBcryptHash } from '../domain/bcrypt-hash';
import { digestKey, digestText } from '../domain/secrets';
import type { Logger, ObjectType } from '../types';
import { definitionFingerprint, tokenFingerprint } from './view-fingerprint';
import { TokenTable, type OrderPosition } from './token-table';
import type { CachedToken } from './cached-token';
import { NO_TOKENS, type CachedDefinition } from './cached-definition';
import { DefinitionTable } from './definition-table';
import { Interned } from './interned';
import { metadataView, scopesView } from './token-grants';

export type { CachedToken } from './cached-token';
export type { CachedDefinition } from './cached-definition';

const TOKEN_FIELDS = {
  _id: 1,
  name: 1,
  isDisabled: 1,
  rateLimit: 1,
  scopes: 1,
  metadata: 1,
  start: 1,
  expiresAt: 1,
  secretDigest: 1,
  secretHash: 1,
  previousSecretDigest: 1,
  previousSecretHash: 1,
  previousSecretExpiresAt: 1,
  lastUsedAt: 1,
  createdBy: 1,
  createdAt: 1,
  lastModifiedBy: 1,
  lastModified: 1,
} as const;
export type TokenRow = Pick<ApiTokenDoc, keyof typeof TOKEN_FIELDS>;

/** What the view reads of a definition: not its name, description, creation or route keys. */
const DEFINITION_FIELDS = {
  _id: 1,
  route: 1,
  securitySettings: 1,
  actionType: 1,
  actionMeta: 1,
  inputSchemas: 1,
  lastModified: 1,
} as const;
export type DefinitionRow = Pick<ApiDefinitionDoc, keyof typeof DEFINITION_FIELDS>;

/** One string per distinct user name, however many tokens name it (a few admins create most tokens). */
const userNames = new Interned<string>(10_000);
function shared(name: string): string {
  return userNames.of(name, name);
}

/** A definition's allowed token ids, sorted for allowsToken's binary search: an array costs a fraction of a Set. */
function allowedTokenList(ids: readonly string[]): readonly string[] {
  if (ids.length === 0) return NO_TOKENS;
  return Object.freeze([...new Set(ids)].sort());
}

/** Whether a definition's allowed tokens (sorted, as allowedTokenList makes them) include this id. */
export function allowsToken(allowed: readonly string[], id: string): boolean {
  let low = 0;
  let high = allowed.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    const candidate = allowed[middle]!;
    if (candidate === id) return true;
    if (candidate < id) low = middle + 1;
    else high = middle;
  }
  return false;
}

function cachedToken(row: TokenRow): CachedToken {
  const packedHash = packBcryptHash(row.secretHash);
  const inGrace = Boolean(row.previousSecretDigest && row.previousSecretExpiresAt);
  return {
    id: row._id,
    name: row.name,
    isDisabled: row.isDisabled,
    rateLimit: row.rateLimit ? { limit: row.rateLimit.limit, windowSeconds: row.rateLimit.windowSeconds } : null,
    scopes: scopesView(row.scopes),
    metadata: metadataView(row.metadata),
    start: row.start ?? null,
    expiresAt: row.expiresAt ? row.expiresAt.getTime() : null,
    secretDigest: digestKey(row.secretDigest),
    packedHash: packedHash ?? '',
    previousSecretDigest: inGrace ? digestKey(row.previousSecretDigest!) : null,
    previousSecretExpiresAt: inGrace ? row.previousSecretExpiresAt!.getTime() : null,
    lastUsedAt: row.lastUsedAt ? row.lastUsedAt.getTime() : null,
    viaPreviousSecret: false,
    createdBy: shared(row.createdBy),
    createdAt: row.createdAt.getTime(),
    lastModifiedBy: shared(row.lastModifiedBy),
    lastModified: row.lastModified.getTime(),
    confirmed: false,
    unusableHash: packedHash === null,
  };
}

/** The fingerprint of a token's view, over the stored text of its digests as view-fingerprint.ts defines it. */
function fingerprintOfToken(token: CachedToken): string {
  return tokenFingerprint({
    ...token,
    secretDigest: digestText(token.secretDigest),
    previousSecretDigest: token.previousSecretDigest === null ? null : digestText(token.previousSecretDigest),
  });
}

/** The view its previous secret finds while the grace period runs; none once it has ended. */
function previousSecretView(token: CachedToken, row: TokenRow, now = Date.now()): CachedToken | null {
  const graceEnd = token.previousSecretExpiresAt;
  if (token.previousSecretDigest === null || graceEnd === null || !row.previousSecretHash || hasExpired(graceEnd, now))
    return null;
  const packedHash = packBcryptHash(row.previousSecretHash);
  return {
    ...token,
    secretDigest: token.previousSecretDigest,
    packedHash: packedHash ?? '',
    expiresAt: token.expiresAt === null ? graceEnd : Math.min(token.expiresAt, graceEnd),
    viaPreviousSecret: true,
    // Each secret is judged by its own hash: a rotation away from a bad hash with a grace period keeps the new secret usable.
    unusableHash: packedHash === null,
  };
}

/** The hash fields of a token's views that bcrypt must never see, or null when there are none. */
function unusableHashes(token: CachedToken, previous: CachedToken | null): string[] | null {
  const fields = [
    ...(token.unusableHash ? ['secretHash'] : []),
    ...(previous?.unusableHash ? ['previousSecretHash'] : []),
  ];
  return fields.length > 0 ? fields : null;
}

/** Whether a digest belongs to a token: its current secret, or its previous one while the grace period runs. */
export function ownsDigest(token: CachedToken, now = Date.now()): boolean {
  return !token.viaPreviousSecret || !hasExpired(token.expiresAt, now);
}

function cachedDefinition(doc: DefinitionRow, basePath: string): CachedDefinition | null {
  const parsed = parseRoute(doc.route, basePath);
  // A stored route that no longer parses (e.g. written by a newer version) is skipped rather than crashing the load.
  if ('problem' in parsed) return null;
  return {
    id: doc._id,
    route: doc.route,
    segments: parsed.segments,
    allowedTokens: allowedTokenList(doc.securitySettings.allowedTokens),
    requiredScopes: scopesView(doc.securitySettings.requiredScopes),
    actionType: doc.actionType,
    // A copy: the writer's document (passed to refreshDefinition) stays its own.
    actionMeta: Object.freeze({ ...doc.actionMeta }),
    inputSchemas: doc.inputSchemas || null,
    lastModified: new Date(doc.lastModified).getTime(),
  };
}

/** Far more deletions than fit in the change log's retained records (1,000): a record older than that is reloaded over. */
const MAX_TOMBSTONES = 10_000;

export class Catalog {
  private tokens = new TokenTable();
  private definitions = new DefinitionTable();
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
  /**
   * Objects this view saw deleted (`type:id`), newest last, at most MAX_TOMBSTONES. A deleted object and one not yet
   * created both show as nothing, so a creation's record (its `before` is nothing) would match a view that went past
   * it: the writer's own view, which applies a delete before the log holds it, put a deleted token back until the
   * next poll (a full run's tokens.test saw a deleted secret verify). Such a record is re-read instead.
   */
  private tombstones = new Set<string>();
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
    return this.tokens.size;
  }

  get definitionCount(): number {
    return this.definitions.size;
  }

  /** The token a presented secret's digest key (LookupDigest.keyOf) finds, if its hash may be handed to bcrypt; else undefined, as for an unknown secret. */
  tokenByDigest(key: string): CachedToken | undefined {
    const token = this.tokens.findDigest(key);
    return token && !token.unusableHash ? token : undefined;
  }

  /** The token that holds a stored digest (its text), usable or not: a secret stays taken even while its stored hash is unusable. */
  holderOfDigest(digest: string): CachedToken | undefined {
    return this.tokens.findDigest(digestKey(digest));
  }

  tokenById(id: string): CachedToken | undefined {
    return this.tokens.get(id);
  }

  /** Marks a token's secret as checked by bcrypt (in this view, and in the view's copy while it still holds that secret). */
  confirm(token: CachedToken): void {
    this.tokens.confirm(token);
  }

  /** A page of the tokens that match, newest first, after the cursor position. `matches` must not keep its argument. */
  pageTokens(
    matches: (token: CachedToken) => boolean,
    limit: number,
    after?: OrderPosition,
  ): { items: CachedToken[]; hasMore: boolean } {
    return this.tokens.page(matches, limit, after);
  }

  countTokens(matches: (token: CachedToken) => boolean): number {
    return this.tokens.countMatching(matches);
  }

  definitionById(id: string): CachedDefinition | undefined {
    return this.definitions.get(id);
  }

  match(segments: readonly string[]) {
    return this.definitions.match(segments);
  }

  /** Reads everything and swaps it in at once, so readers never see a half-loaded view. */
  async load(): Promise<void> {
    const started = ++this.startedReads;
    const tokens = new TokenTable();
    const unusable = new Map<string, string>();
    for await (const row of this.tokenModel.find({}, TOKEN_FIELDS).lean<TokenRow>().cursor()) {
      const token = cachedToken(row);
      const previous = previousSecretView(token, row);
      // A current secret always wins over another token's previous one (the services never let both exist).
      tokens.put(token, previous, false);
      const fields = unusableHashes(token, previous);
      if (fields) {
        this.warnUnusable(token.id, fields);
        unusable.set(token.id, fields.join());
      }
    }
    const definitions = new DefinitionTable();
    for await (const doc of this.definitionModel.find({}, DEFINITION_FIELDS).lean<DefinitionRow>().cursor()) {
      const definition = cachedDefinition(doc, this.basePath);
      if (definition) definitions.put(definition);
    }
    // A load that started later (an import's, while the health check's was still reading) has read the database
    // after this one and is in place already: swapping this older read in would undo what came between (a token
    // imported back after its deletion vanished from the view, seen once in a fresh-clone test run).
    if (this.loadStartedAt > started) return;
    this.keepNewerRefreshes(started, tokens, unusable, definitions);
    tokens.sortOrder();
    this.tokens = tokens;
    this.unusable = unusable;
    this.definitions = definitions;
    this.loadStartedAt = started;
    // The refreshes kept above still outrank any read that started before them.
    this.appliedReads = new Map([...this.appliedReads].filter(([, applied]) => applied > started));
    this.loadedAt = new Date();
    this.stale = false;
  }

  /**
   * A refresh applied while a load was reading started after the load did, so it is newer than what the load read
   * of that object (a revocation applied by its writer must not come back for a poll interval): the view's
   * current state of those objects replaces the loaded one.
   */
  private keepNewerRefreshes(
    started: number,
    tokens: TokenTable,
    unusable: Map<string, string>,
    definitions: DefinitionTable,
  ): void {
    for (const [id, applied] of this.appliedReads) {
      if (applied <= started) continue;
      if (tokens.delete(id)) unusable.delete(id);
      const current = this.tokens.get(id);
      if (current) {
        const previous =
          current.previousSecretDigest !== null ? this.tokens.findDigest(current.previousSecretDigest) : undefined;
        tokens.put(current, previous?.id === id && previous.viaPreviousSecret ? previous : null, false);
        const fields = this.unusable.get(id);
        if (fields !== undefined) unusable.set(id, fields);
      }
      const definition = this.definitions.get(id);
      if (definition) definitions.put(definition);
      else if (!current) definitions.delete(id);
    }
  }

  /** A digest of what this view holds of an object (null: nothing), to tell which state a change was made over. */
  fingerprint(objectType: ObjectType, id: string): string | null {
    if (objectType === 'ApiToken') {
      const token = this.tokens.get(id);
      return token ? fingerprintOfToken(token) : null;
    }
    const definition = this.definitions.get(id);
    return definition ? definitionFingerprint(definition) : null;
  }

  /**
   * Applies the state another instance recorded with its change, without reading the database, when this view
   * holds the state that change was made over (`before`); true when done (or the view shows that state already).
   * False when the view holds something else (a concurrent write, a missed one): the caller re-reads the object.
   */
  async applyRecorded(
    objectType: ObjectType,
    id: string,
    state: TokenRow | DefinitionRow | null,
    before: string | null,
  ): Promise<boolean> {
    const current = this.fingerprint(objectType, id);
    if (current === this.stateFingerprint(objectType, state)) return true;
    if (current !== before) return false;
    if (current === null && this.tombstones.has(`${objectType}:${id}`)) return false;
    if (objectType === 'ApiToken') await this.refreshToken(id, state as TokenRow | null);
    else await this.refreshDefinition(id, state as DefinitionRow | null);
    return true;
  }

  private stateFingerprint(objectType: ObjectType, state: TokenRow | DefinitionRow | null): string | null {
    if (state === null) return null;
    if (objectType === 'ApiToken') return fingerprintOfToken(cachedToken(state as TokenRow));
    const definition = cachedDefinition(state as DefinitionRow, this.basePath);
    return definition ? definitionFingerprint(definition) : null;
  }

  /**
   * Re-reads one token after a write (or a change reported by another instance). A writer that knows the
   * stored state (the document it just inserted, or null after a delete) passes it and saves the read.
   */
  async refreshToken(id: string, known?: TokenRow | null): Promise<void> {
    const started = ++this.startedReads;
    const row = known !== undefined ? known : await this.tokenModel.findById(id, TOKEN_FIELDS).lean<TokenRow>().exec();
    if (!this.mayApply(id, started)) return;
    const before = this.tokens.get(id);
    if (!row) {
      if (before) this.bury('ApiToken', id);
      this.tokens.delete(id);
      this.unusable.delete(id);
      return;
    }
    const token = cachedToken(row);
    // A use this instance noted may not be written yet: never move the time back.
    if (before?.lastUsedAt && (token.lastUsedAt ?? 0) < before.lastUsedAt) token.lastUsedAt = before.lastUsedAt;
    const previous = previousSecretView(token, row);
    this.tokens.put(token, previous, true);
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
      `A stored bcrypt hash is malformed or of a cost outside ${BCRYPT_COST_MIN}-${BCRYPT_COST_MAX}, so this package never wrote it: ` +
        'its secret is refused without running bcrypt. Rotate the token, and find out who wrote to the database',
    );
  }

  /** Records a use in the token's view, if it is newer than the one known. */
  noteUse(id: string, at: number): void {
    this.tokens.noteUse(id, at);
  }

  /** Whether a read of an object that started as number `started` is newer than what the view shows of it; if so, records it. */
  private mayApply(id: string, started: number): boolean {
    if ((this.appliedReads.get(id) ?? this.loadStartedAt) > started) return false;
    this.appliedReads.set(id, started);
    return true;
  }

  async refreshDefinition(id: string, known?: DefinitionRow | null): Promise<void> {
    const started = ++this.startedReads;
    const doc =
      known !== undefined
        ? known
        : await this.definitionModel.findById(id, DEFINITION_FIELDS).lean<DefinitionRow>().exec();
    if (!this.mayApply(id, started)) return;
    const definition = doc ? cachedDefinition(doc, this.basePath) : null;
    if (definition) this.definitions.put(definition);
    else {
      if (this.definitions.get(id)) this.bury('ApiDefinition', id);
      this.definitions.delete(id);
    }
  }

  private bury(objectType: ObjectType, id: string): void {
    const key = `${objectType}:${id}`;
    this.tombstones.delete(key);
    this.tombstones.add(key);
    if (this.tombstones.size > MAX_TOMBSTONES) this.tombstones.delete(this.tombstones.values().next().value!);
  }
}
