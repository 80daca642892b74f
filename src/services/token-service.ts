// ApiToken use cases: create, read, list, count, update, rotate and delete (lists and counts from the in-memory view
// when it is usable). Verifying a presented secret is src/security/secret-verifier.ts's.
import { randomUUID } from 'node:crypto';
import { AdminError, type AdminErrorItem } from '../errors';
import { publicToken, toApiToken, type ApiTokenDoc, type ApiTokenModel } from '../models/api-token';
import type { BcryptPool } from '../security/bcrypt-pool';
import { digestKey, digestSecret, generateSecret, secretProblem, secretStart } from '../domain/secrets';
import type { VerifiedSecrets } from '../security/verified-secrets';
import type { ApiToken, Logger, Page, RateLimit, TokenMetadata } from '../types';
import type { WriteGate } from '../database/write-gate';
import type { ChangeContext } from './change-context';
import type { EventLog } from './event-log';
import { errorSummary } from '../logging';
import { KeyedMutex } from './keyed-mutex';
import { DELETE_DEADLINE_MS } from './token-links';
import { isDuplicateKeyError } from '../database/mongo-errors';
import {
  containsCondition,
  containsText,
  idCondition,
  idMatcher,
  timeRanges,
  type AuditFilter,
  type IdFilter,
} from './filters';
import { afterCursor, decodeCursor, encodeCursor, pageOf } from './pagination';
import type { CachedToken } from '../catalog/catalog';
import { hasExpired } from '../domain/expiry';
import type { OrderPosition } from '../catalog/token-table';
import {
  expiryDate,
  expiryProblem,
  gracePeriodProblem,
  isUuid,
  nameProblem,
  rateLimitProblem,
  scopesAndMetadataProblems,
} from '../domain/validation-rules';

export interface TokenCreateInput {
  id?: string;
  name: string;
  secret?: string;
  isDisabled?: boolean;
  rateLimit?: RateLimit | null;
  expiresAt?: string | null;
  scopes?: string[];
  /** null or left out: none. */
  metadata?: TokenMetadata | null;
}

export interface TokenPatch {
  name?: string;
  /** Non-empty: rotate to this secret. Empty string: keep the current secret (as the original does). */
  secret?: string;
  isDisabled?: boolean;
  rateLimit?: RateLimit | null;
  expiresAt?: string | null;
  /** Replaces the list; [] removes every scope. */
  scopes?: string[];
  /** Replaces the object; null removes it. */
  metadata?: TokenMetadata | null;
  /** Only null: ends a running grace period now, so the previous secret stops working at once. */
  previousSecretExpiresAt?: null;
}

export interface TokenRotateInput {
  /** Left out: the server generates one. */
  secret?: string;
  /** ISO-8601 time until which the secret being replaced keeps working too; left out: it stops at once. */
  previousSecretExpiresAt?: string;
}

/** Filters on the filterable fields. */
export interface TokenFilter extends AuditFilter, IdFilter {
  name?: string;
  /** Names that contain this text, ignoring case. */
  search?: string;
  /** Tokens that carry this scope. */
  scope?: string;
  /** true: tokens whose expiry has passed; false: tokens that never expire or have not expired yet. */
  expired?: boolean;
  /** Tokens that expire in [expiresAtFrom, expiresAtTo). */
  expiresAtFrom?: Date;
  expiresAtTo?: Date;
  /** Tokens with no successful call since this time, never used ones included. */
  unusedSince?: Date;
  isDisabled?: boolean;
}

/** Finds the ids of the definitions that allow a token; the definitions service provides it. */
export type LinkedDefinitionsLookup = (tokenId: string) => Promise<string[]>;

/** The id of the token that has this digest, if any; answered from memory when the in-memory view is complete. */
export type DigestOwnerLookup = (secretDigest: string) => Promise<string | undefined>;

/**
 * Answers token lists from the in-memory view: no database scan, whatever the number of tokens. `ready()`
 * first applies the changes other instances logged, so a list shows every write acknowledged before it; it
 * answers false when the view is incomplete (not loaded, stale, database unreachable) and the database answers.
 */
export interface TokenListing {
  ready(): Promise<boolean>;
  /** The token's name as this instance knows it, if it knows the token. */
  nameOf(id: string): string | undefined;
  page(
    matches: (token: CachedToken) => boolean,
    limit: number,
    after?: OrderPosition,
  ): { items: CachedToken[]; hasMore: boolean };
  count(matches: (token: CachedToken) => boolean): number;
}

/** What a TokenService works with; plugin.ts builds it. */
export interface TokenServiceDeps {
  model: ApiTokenModel;
  /** Key of the HMAC that digests secrets. */
  pepper: Buffer;
  /** The `secretPrefix` option: generated secrets carry it and a checksum; null: plain base64 secrets. */
  secretPrefix: string | null;
  /** Hashes new secrets off the event loop, with bounded concurrency and queue. */
  bcrypt: BcryptPool;
  /** The endpoint's cache of confirmed secrets: a deleted token's digests are forgotten at once. */
  verified: VerifiedSecrets;
  events: EventLog;
  /** The manager log. */
  log: Logger;
  /** Refuses the delete of a token that definitions still allow. */
  linkedDefinitions: LinkedDefinitionsLookup;
  /** Finds who holds a secret already, so a taken one is refused before bcrypt is paid for. */
  digestOwner: DigestOwnerLookup;
  /** Called after every stored change, inside the per-token lock, so this instance's view updates at once. */
  changed: (id: string, known?: ApiTokenDoc | null) => Promise<void>;
  /** Lists and counts from the in-memory view; without it (or while it is not ready) the database answers. */
  listing?: TokenListing | null;
  /** Shared with the last-use flush: updates of token documents never overlap (see database/write-gate.ts). */
  writeGate: WriteGate;
  /** Refuses (503) to digest a secret under a pepper that is not the store's (services/pepper-guard.ts). */
  beforeSecretWrite?: () => Promise<void>;
}

export class TokenService {
  private readonly writes = new KeyedMutex();

  constructor(private readonly deps: TokenServiceDeps) {}

  /** Creates a token. Returns the secret only when the server generated it. */
  async create(input: TokenCreateInput, ctx: ChangeContext): Promise<{ token: ApiToken; generatedSecret?: string }> {
    const id = input.id?.toLowerCase() ?? randomUUID();
    const problems: AdminErrorItem[] = [];
    if (input.id !== undefined && !isUuid(input.id))
      problems.push({ reason: 'InvalidId', id: input.id, message: 'The id must be a UUID.' });
    const nameIssue = nameProblem(input.name);
    if (nameIssue) problems.push({ reason: 'InvalidName', id, message: nameIssue });
    const secretIssue = input.secret === undefined ? null : secretProblem(input.secret, this.deps.secretPrefix);
    if (secretIssue) problems.push({ reason: 'InvalidSecret', id, message: secretIssue });
    const rateLimit = input.rateLimit ?? null;
    const rateIssue = rateLimitProblem(rateLimit);
    if (rateIssue) problems.push({ reason: 'InvalidRateLimit', id, message: rateIssue });
    const expiryIssue = expiryProblem(input.expiresAt ?? null);
    if (expiryIssue) problems.push({ reason: 'InvalidExpiresAt', id, message: expiryIssue });
    for (const problem of scopesAndMetadataProblems(input)) problems.push({ ...problem, id });
    if (problems.length > 0) throw new AdminError(problems);

    await this.deps.beforeSecretWrite?.();
    const secret = input.secret ?? this.generateSecret();
    const secretDigest = digestSecret(this.deps.pepper, secret);
    this.deps.log.info(
      { traceId: ctx.traceId, user: ctx.user.name, objectType: 'ApiToken', objectId: id },
      `Creating ApiToken '${input.name}' (${id})`,
    );
    // Cheap pre-check so a reused secret costs no bcrypt; the unique index stays the real guarantee.
    if ((await this.deps.digestOwner(secretDigest)) !== undefined) throw secretInUse(id);

    const secretHash = await this.deps.bcrypt.hash(secret);
    const now = new Date();
    const doc: ApiTokenDoc = {
      _id: id,
      name: input.name,
      secretDigest,
      secretHash,
      isDisabled: input.isDisabled ?? false,
      rateLimit,
      scopes: input.scopes ?? [],
      metadata: input.metadata ?? null,
      start: this.startOf(secret, input.secret === undefined),
      expiresAt: input.expiresAt ? expiryDate(input.expiresAt) : null,
      createdBy: ctx.user.name,
      createdAt: now,
      lastModifiedBy: ctx.user.name,
      lastModified: now,
    };
    try {
      await this.deps.model.collection.insertOne(doc as unknown as Record<string, unknown>);
    } catch (error) {
      if (!isDuplicateKeyError(error)) throw error;
      // FerretDB names no index in the error: tell the two unique keys apart by reading.
      if (await this.deps.model.exists({ secretDigest })) throw secretInUse(id);
      throw AdminError.of('IdInUse', `Another object already has the id ${id}.`, { id });
    }
    if (input.secret !== undefined && (await this.isAnotherTokensPreviousSecret(id, secretDigest))) {
      await this.deps.model.deleteOne({ _id: id, secretDigest }).exec();
      throw secretInUse(id);
    }
    await this.deps.changed(id, doc);
    await this.announce('created', id, doc.name, ctx);
    const token = toApiToken(doc);
    return input.secret === undefined ? { token, generatedSecret: secret } : { token };
  }

  async get(id: string): Promise<ApiToken> {
    return toApiToken(await this.load(id));
  }

  async list(filter: TokenFilter, limit: number, cursor?: string): Promise<Page<ApiToken>> {
    const after = cursor === undefined ? undefined : decodeCursor(cursor);
    if (this.deps.listing && (await this.deps.listing.ready())) {
      const { items, hasMore } = this.deps.listing.page(
        matcherOf(filter),
        limit,
        after && { at: after.at.getTime(), id: after.id },
      );
      const last = items[items.length - 1];
      return {
        items: items.map(publicToken),
        nextCursor: hasMore && last ? encodeCursor(new Date(last.createdAt), last.id) : null,
      };
    }
    const query = { ...queryOf(filter), ...afterCursor('createdAt', cursor) };
    return pageOf(
      (n) => this.deps.model.find(query).sort({ createdAt: -1, _id: -1 }).limit(n).lean<ApiTokenDoc[]>().exec(),
      limit,
      (doc) => doc.createdAt,
      toApiToken,
    );
  }

  async count(filter: TokenFilter): Promise<number> {
    if (this.deps.listing && (await this.deps.listing.ready())) return this.deps.listing.count(matcherOf(filter));
    return this.deps.model.countDocuments(queryOf(filter)).exec();
  }

  /** Applies the given fields only, so concurrent updates of different fields never undo each other. */
  async update(id: string, patch: TokenPatch, ctx: ChangeContext): Promise<ApiToken> {
    const problems: AdminErrorItem[] = [];
    if (patch.name !== undefined) {
      const issue = nameProblem(patch.name);
      if (issue) problems.push({ reason: 'InvalidName', id, message: issue });
    }
    const rotating = patch.secret !== undefined && patch.secret !== '';
    if (rotating) {
      const issue = secretProblem(patch.secret!, this.deps.secretPrefix);
      if (issue) problems.push({ reason: 'InvalidSecret', id, message: issue });
    }
    for (const problem of scopesAndMetadataProblems(patch)) problems.push({ ...problem, id });
    if (patch.rateLimit !== undefined) {
      const issue = rateLimitProblem(patch.rateLimit);
      if (issue) problems.push({ reason: 'InvalidRateLimit', id, message: issue });
    }
    if (patch.expiresAt !== undefined) {
      const issue = expiryProblem(patch.expiresAt);
      if (issue) problems.push({ reason: 'InvalidExpiresAt', id, message: issue });
    }
    if (problems.length > 0) throw new AdminError(problems);
    return this.writes.run(id.toLowerCase(), () =>
      this.applyUpdate(
        id.toLowerCase(),
        patch,
        rotating ? { secret: patch.secret!, explicit: true, graceUntil: null } : null,
        ctx,
      ),
    );
  }

  /**
   * One round trip: the update returns the document as it was, and the stored state is that plus the fields
   * set (a $set of plain fields). Every read saved matters on FerretDB v1 as it comes, which scans the collection
   * even for an _id lookup. The name for the first log line comes from the in-memory view when it has the token.
   */
  private async applyUpdate(
    id: string,
    patch: TokenPatch,
    rotation: Rotation | null,
    ctx: ChangeContext,
  ): Promise<ApiToken> {
    if (!isUuid(id)) throw notFound(id);
    const rotating = rotation !== null;
    const set: Partial<ApiTokenDoc> = { lastModifiedBy: ctx.user.name, lastModified: new Date() };
    if (patch.name !== undefined) set.name = patch.name;
    if (patch.isDisabled !== undefined) set.isDisabled = patch.isDisabled;
    if (patch.rateLimit !== undefined) set.rateLimit = patch.rateLimit;
    if (patch.scopes !== undefined) set.scopes = patch.scopes;
    if (patch.metadata !== undefined) set.metadata = patch.metadata;
    if (patch.expiresAt !== undefined) set.expiresAt = patch.expiresAt === null ? null : expiryDate(patch.expiresAt);
    if (patch.previousSecretExpiresAt === null) Object.assign(set, NO_PREVIOUS_SECRET);
    const knownName = patch.name ?? this.deps.listing?.nameOf(id);
    this.deps.log.info(
      { traceId: ctx.traceId, user: ctx.user.name, objectType: 'ApiToken', objectId: id },
      knownName === undefined ? `Updating ApiToken (${id})` : `Updating ApiToken '${knownName}' (${id})`,
    );
    if (rotation)
      Object.assign(set, await this.newSecretFields(id, rotation.secret), NO_PREVIOUS_SECRET, {
        start: this.startOf(rotation.secret, !rotation.explicit),
      });

    const before = rotation?.graceUntil
      ? await this.applyGraceRotation(id, set, rotation.graceUntil)
      : await this.applySet(id, set);
    if (rotation && rotation.explicit && (await this.isAnotherTokensPreviousSecret(id, set.secretDigest!))) {
      await this.applySet(id, secretFieldsOf(before), { secretDigest: set.secretDigest });
      await this.deps.changed(id);
      throw secretInUse(id);
    }
    const after: ApiTokenDoc = { ...before, ...set };
    await this.deps.changed(id, after);
    await this.announce('updated', id, after.name, ctx, { rotated: rotating });
    return toApiToken(after);
  }

  /** The manager log line and the information event of a stored change, in that order. */
  private async announce(
    action: 'created' | 'updated' | 'deleted',
    id: string,
    name: string,
    ctx: ChangeContext,
    extra: Record<string, unknown> = {},
  ): Promise<void> {
    const verb = action.charAt(0).toUpperCase() + action.slice(1);
    this.deps.log.info(
      { traceId: ctx.traceId, user: ctx.user.name, objectType: 'ApiToken', objectId: id, ...extra },
      `${verb} ApiToken '${name}' (${id})`,
    );
    await this.deps.events.record({
      objectType: 'ApiToken',
      action,
      objectId: id,
      tokenName: name,
      user: ctx.user.name,
    });
  }

  /**
   * Replaces the secret; generates one when none is given and returns it, the only time it is shown. With
   * `previousSecretExpiresAt`, the secret being replaced keeps working until then (one previous secret at most).
   */
  async rotate(
    id: string,
    input: TokenRotateInput,
    ctx: ChangeContext,
  ): Promise<{ token: ApiToken; generatedSecret?: string }> {
    const problems: AdminErrorItem[] = [];
    if (input.secret !== undefined) {
      const issue =
        input.secret === ''
          ? 'A rotation needs a new secret; leave `secret` out to have one generated.'
          : secretProblem(input.secret, this.deps.secretPrefix);
      if (issue) problems.push({ reason: 'InvalidSecret', id, message: issue });
    }
    const graceUntil = input.previousSecretExpiresAt === undefined ? null : expiryDate(input.previousSecretExpiresAt);
    const graceIssue = graceUntil && gracePeriodProblem(input.previousSecretExpiresAt!, graceUntil);
    if (graceIssue) problems.push({ reason: 'InvalidPreviousSecretExpiresAt', id, message: graceIssue });
    if (problems.length > 0) throw new AdminError(problems);
    const secret = input.secret ?? this.generateSecret();
    const rotation: Rotation = { secret, explicit: input.secret !== undefined, graceUntil };
    const token = await this.writes.run(id.toLowerCase(), () => this.applyUpdate(id.toLowerCase(), {}, rotation, ctx));
    return input.secret === undefined ? { token, generatedSecret: secret } : { token };
  }

  async delete(id: string, ctx: ChangeContext): Promise<void> {
    await this.writes.run(id.toLowerCase(), () => this.applyDelete(id.toLowerCase(), ctx));
  }

  /** Steps W1 and R1 of the protocol in token-links.ts: mark, look for links, then delete or unmark. */
  private async applyDelete(id: string, ctx: ChangeContext): Promise<void> {
    const current = await this.load(id);
    const markedAt = Date.now();
    await this.applySet(id, { deletingSince: new Date(markedAt) });
    try {
      const links = await this.deps.linkedDefinitions(id);
      if (links.length > 0) {
        throw AdminError.of(
          'TokenInUse',
          `The token is allowed by ${links.length} API definition(s); remove it from them (or disable the token) first.`,
          {
            id,
            apiDefinitionIdLinks: links,
          },
        );
      }
      if (Date.now() - markedAt > DELETE_DEADLINE_MS) {
        throw AdminError.of('ServiceUnavailable', 'The database is too slow to delete the token safely; retry later.', {
          id,
        });
      }
      this.deps.log.info(
        { traceId: ctx.traceId, user: ctx.user.name, objectType: 'ApiToken', objectId: id },
        `Deleting ApiToken '${current.name}' (${id})`,
      );
      const result = await this.deps.model.deleteOne({ _id: id }).exec();
      if (result.deletedCount === 0) throw notFound(id);
    } catch (error) {
      await this.deps.writeGate
        .run(() =>
          this.deps.model.collection.updateOne({ _id: id } as Record<string, unknown>, {
            $set: { deletingSince: null },
          }),
        )
        .catch((unmarkError: unknown) => {
          this.deps.log.warn(
            { err: errorSummary(unmarkError), objectId: id },
            'Could not clear the delete mark of a token; it expires by itself',
          );
        });
      throw error;
    }
    this.deps.verified.forget(digestKey(current.secretDigest));
    if (current.previousSecretDigest) this.deps.verified.forget(digestKey(current.previousSecretDigest));
    await this.deps.changed(id, null);
    await this.announce('deleted', id, current.name, ctx);
  }

  private generateSecret(): string {
    return generateSecret(this.deps.secretPrefix ?? undefined);
  }

  private startOf(secret: string, generated: boolean): string {
    return secretStart(secret, generated, this.deps.secretPrefix);
  }

  private async load(id: string): Promise<ApiTokenDoc> {
    const doc = isUuid(id) ? await this.deps.model.findById(id.toLowerCase()).lean<ApiTokenDoc>().exec() : null;
    if (!doc) throw notFound(id);
    return doc;
  }

  private async newSecretFields(id: string, secret: string): Promise<Pick<ApiTokenDoc, 'secretDigest' | 'secretHash'>> {
    await this.deps.beforeSecretWrite?.();
    const secretDigest = digestSecret(this.deps.pepper, secret);
    const owner = await this.deps.digestOwner(secretDigest);
    if (owner !== undefined && owner !== id) throw secretInUse(id);
    return { secretDigest, secretHash: await this.deps.bcrypt.hash(secret) };
  }

  /**
   * A rotation that keeps the replaced secret as the previous one: reads the stored secret and writes only
   * if no other rotation replaced it in between (retried a few times before giving up).
   */
  private async applyGraceRotation(id: string, set: Partial<ApiTokenDoc>, graceUntil: Date): Promise<ApiTokenDoc> {
    for (let attempt = 0; attempt < 3; attempt++) {
      const current = await this.load(id);
      const keepsPrevious = current.secretDigest !== set.secretDigest;
      const previous = keepsPrevious
        ? {
            previousSecretDigest: current.secretDigest,
            previousSecretHash: current.secretHash,
            previousSecretExpiresAt: graceUntil,
          }
        : NO_PREVIOUS_SECRET;
      const before = await this.applySet(id, { ...set, ...previous }, { secretDigest: current.secretDigest });
      if (before) {
        Object.assign(set, previous);
        return before;
      }
    }
    throw AdminError.of('ServiceUnavailable', "The token's secret kept changing during the rotation; retry.", { id });
  }

  /**
   * True when a secret an admin chose is another token's previous secret in its grace period. Checked after
   * the write, so of two racing writers (a grace rotation freeing the digest, a create or rotation taking it)
   * at least one sees the other; the create or rotation then undoes itself.
   */
  private async isAnotherTokensPreviousSecret(id: string, secretDigest: string): Promise<boolean> {
    const query = {
      _id: { $ne: id },
      previousSecretDigest: secretDigest,
      previousSecretExpiresAt: { $gt: new Date() },
    };
    return (await this.deps.model.exists(query).exec()) !== null;
  }

  /** Sets the fields; returns the document as it was before (null if `expected` no longer matched). */
  private async applySet(id: string, set: Partial<ApiTokenDoc>): Promise<ApiTokenDoc>;
  private async applySet(
    id: string,
    set: Partial<ApiTokenDoc>,
    expected: Record<string, unknown>,
  ): Promise<ApiTokenDoc | null>;
  private async applySet(
    id: string,
    set: Partial<ApiTokenDoc>,
    expected?: Record<string, unknown>,
  ): Promise<ApiTokenDoc | null> {
    try {
      // No projection: FerretDB refuses findAndModify with one.
      const before = await this.deps.writeGate.run(() =>
        this.deps.model.collection.findOneAndUpdate(
          { ...expected, _id: id } as Record<string, unknown>,
          { $set: set },
          { returnDocument: 'before' },
        ),
      );
      if (!before) {
        if (expected) return null;
        throw notFound(id);
      }
      return before as unknown as ApiTokenDoc;
    } catch (error) {
      if (!isDuplicateKeyError(error, true)) throw error;
      if (set.secretDigest && (await this.deps.model.exists({ secretDigest: set.secretDigest, _id: { $ne: id } })))
        throw secretInUse(id);
      throw error;
    }
  }
}

function queryOf(filter: TokenFilter): Record<string, unknown> {
  const query: Record<string, unknown> = {};
  const id = idCondition(filter);
  if (id !== undefined) query._id = id;
  if (filter.name !== undefined || filter.search !== undefined) {
    query.name = {
      ...(filter.name !== undefined && { $eq: filter.name }),
      ...(filter.search !== undefined && containsCondition(filter.search)),
    };
  }
  if (filter.isDisabled !== undefined) query.isDisabled = filter.isDisabled;
  if (filter.scope !== undefined) query.scopes = filter.scope;
  const conditions = expiryConditions(filter, Date.now());
  if (filter.unusedSince) conditions.push({ $or: [{ lastUsedAt: null }, { lastUsedAt: { $lt: filter.unusedSince } }] });
  if (conditions.length > 0) query.$and = conditions;
  return Object.assign(query, timeRanges(filter));
}

/** The same conditions as queryOf, on the in-memory view. */
function matcherOf(filter: TokenFilter): (token: CachedToken) => boolean {
  const idMatches = idMatcher(filter);
  const search = filter.search?.toLowerCase();
  const inRange = (value: number, from?: Date, to?: Date): boolean =>
    (!from || value >= from.getTime()) && (!to || value < to.getTime());
  const now = Date.now();
  const expiryMatches = (expiresAt: number | null): boolean =>
    (filter.expired === undefined || filter.expired === hasExpired(expiresAt, now)) &&
    (!(filter.expiresAtFrom || filter.expiresAtTo) ||
      (expiresAt !== null && inRange(expiresAt, filter.expiresAtFrom, filter.expiresAtTo)));
  return (token) =>
    idMatches(token.id) &&
    (filter.name === undefined || token.name === filter.name) &&
    (search === undefined || containsText(token.name, search)) &&
    (filter.isDisabled === undefined || token.isDisabled === filter.isDisabled) &&
    (filter.scope === undefined || token.scopes.includes(filter.scope)) &&
    expiryMatches(token.expiresAt) &&
    (filter.unusedSince === undefined ||
      token.lastUsedAt === null ||
      token.lastUsedAt < filter.unusedSince.getTime()) &&
    (filter.createdBy === undefined || token.createdBy === filter.createdBy) &&
    (filter.lastModifiedBy === undefined || token.lastModifiedBy === filter.lastModifiedBy) &&
    inRange(token.createdAt, filter.createdAtFrom, filter.createdAtTo) &&
    inRange(token.lastModified, filter.lastModifiedFrom, filter.lastModifiedTo);
}

/** The database conditions of the expiry filters, as of `now` (the same instant the in-memory matcher uses). */
function expiryConditions(filter: TokenFilter, now: number): Record<string, unknown>[] {
  const conditions: Record<string, unknown>[] = [];
  if (filter.expired === true) conditions.push({ expiresAt: { $ne: null, $lte: new Date(now) } });
  if (filter.expired === false) conditions.push({ $or: [{ expiresAt: null }, { expiresAt: { $gt: new Date(now) } }] });
  if (filter.expiresAtFrom || filter.expiresAtTo) {
    conditions.push({
      expiresAt: {
        $ne: null,
        ...(filter.expiresAtFrom && { $gte: filter.expiresAtFrom }),
        ...(filter.expiresAtTo && { $lt: filter.expiresAtTo }),
      },
    });
  }
  return conditions;
}

/** The tokens these digests authenticate: current secrets always, previous secrets while their grace period runs. */
export function digestOwnerQuery(secretDigests: readonly string[], now = new Date()): Record<string, unknown> {
  const digests = { $in: secretDigests };
  return { $or: [{ secretDigest: digests }, { previousSecretDigest: digests, previousSecretExpiresAt: { $gt: now } }] };
}

/** The digests a stored token still answers to at `now` (what digestOwnerQuery matched it by). */
export function ownedDigests(
  row: Pick<ApiTokenDoc, 'secretDigest' | 'previousSecretDigest' | 'previousSecretExpiresAt'>,
  now = new Date(),
): string[] {
  const inGrace = row.previousSecretDigest && row.previousSecretExpiresAt && row.previousSecretExpiresAt > now;
  return inGrace ? [row.secretDigest, row.previousSecretDigest!] : [row.secretDigest];
}

interface Rotation {
  secret: string;
  /** Chosen by the admin (a generated secret cannot collide, so it skips the after-write check). */
  explicit: boolean;
  graceUntil: Date | null;
}

const NO_PREVIOUS_SECRET = {
  previousSecretDigest: null,
  previousSecretHash: null,
  previousSecretExpiresAt: null,
} as const;

function secretFieldsOf(doc: ApiTokenDoc): Partial<ApiTokenDoc> {
  return {
    secretDigest: doc.secretDigest,
    secretHash: doc.secretHash,
    previousSecretDigest: doc.previousSecretDigest ?? null,
    previousSecretHash: doc.previousSecretHash ?? null,
    previousSecretExpiresAt: doc.previousSecretExpiresAt ?? null,
    start: doc.start ?? null,
  };
}

function secretInUse(id: string): AdminError {
  // Deliberately says nothing about which token has it.
  return AdminError.of('InvalidSecret', 'The secret is already in use; choose another one.', { id });
}

function notFound(id: string): AdminError {
  return AdminError.of('NotFound', `No API token has the id ${id}.`, { id });
}
