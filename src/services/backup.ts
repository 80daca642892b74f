// Export and import of every token (digests and hashes, never secrets) and definition: backup and restore.
import { createHmac } from 'node:crypto';
import Ajv, { type ValidateFunction } from 'ajv';
import { AdminError, type AdminErrorItem, type ErrorReason } from '../errors';
import { parseStoredInput } from '../domain/input-schema';
import { securitySettingsOf, type ApiDefinitionDoc, type ApiDefinitionModel } from '../models/api-definition';
import { isoOrNull, type ApiTokenDoc, type ApiTokenModel } from '../models/api-token';
import { backupDefinitionSchema, backupEnvelopeSchema, backupTokenSchema, requestShape } from '../domain/schemas';
import type { ApiInput, ApiToken, Logger } from '../types';
import { errorSummary } from '../logging';
import { isDuplicateKeyError } from '../database/mongo-errors';
import { batchesOf } from '../database/batches';
import { hasExpired } from '../domain/expiry';
import type { ChangeContext } from './change-context';
import type { DefinitionService } from './definition-service';
import { digestOwnerQuery, ownedDigests } from './token-service';
import type { EventLog } from './event-log';
import {
  expiryDate,
  gracePeriodProblem,
  isUuid,
  nameProblem,
  rateLimitProblem,
  scopesAndMetadataProblems,
} from '../domain/validation-rules';
import { bcryptHashProblem } from '../domain/bcrypt-hash';
import { makePepperCheck, parsePepperCheckText, pepperCheckText, pepperMatches } from '../domain/pepper-check';

export const BACKUP_FORMAT = 'express-user-defined-apis/backup';
export const BACKUP_VERSION = 1;
/** An import names at most this many problems; the last item says how many more there were. */
const MAX_PROBLEMS = 100;
const WRITE_BATCH = 500;
const DIGEST = /^[A-Za-z0-9_-]{43}$/;
/** How far ahead of this server's clock a restored audit time may be: another server's clock may run a little fast. */
export const CLOCK_SKEW_MS = 5 * 60_000;
/** Times that say when something happened: restored as they were, but never later than now. */
const TOKEN_AUDIT_TIMES = ['lastUsedAt', 'createdAt', 'lastModified'] as const;
const DEFINITION_AUDIT_TIMES = ['createdAt', 'lastModified'] as const;
/** Where in a definition a reason of its rules (DefinitionService.checkFields) points, when the problem does not say. */
const DEFINITION_FIELD_OF: Partial<Record<ErrorReason, string>> = {
  InvalidName: 'name',
  InvalidRoute: 'route',
  InvalidActionMeta: 'actionMeta',
  InvalidAllowedTokens: 'securitySettings',
  InvalidInputSchema: 'input',
};

/**
 * A token in a backup: its public view plus the secret's digest and bcrypt hash (never the secret). Backups made
 * before scopes, metadata and start lack them: none.
 */
export interface BackupToken extends Omit<ApiToken, 'scopes' | 'metadata' | 'start'> {
  scopes?: ApiToken['scopes'];
  metadata?: ApiToken['metadata'];
  start?: ApiToken['start'];
  secretDigest: string;
  secretHash: string;
  previousSecretDigest: string | null;
  previousSecretHash: string | null;
}

/** A definition in a backup: the public shape. */
export interface BackupDefinition {
  id: string;
  name: string | null;
  description: string | null;
  route: string;
  securitySettings: { allowedTokens: string[]; requiredScopes?: string[] };
  actionType: 'handler' | 'procedure';
  actionMeta: { name: string; inputType?: 'rawBody' | 'parameters' };
  /** Absent in backups of definitions without one, and in backups made before input schemas. */
  input?: ApiInput;
  createdBy: string;
  createdAt: string;
  lastModifiedBy: string;
  lastModified: string;
}

export interface Backup {
  format: typeof BACKUP_FORMAT;
  version: typeof BACKUP_VERSION;
  exportedAt: string;
  /** Tells whether a backup was made under the same pepper (its digests only work there); reveals nothing of it. */
  pepperCheck: string;
  tokens: BackupToken[];
  definitions: BackupDefinition[];
}

export interface ImportResult {
  tokens: number;
  definitions: number;
}

const ajv = new Ajv({ allErrors: false, strict: true, allowUnionTypes: true });
// The shapes only: the field rules are checked below, by the same functions as the admin API's, with their reasons.
const validEnvelope = ajv.compile<Backup>(requestShape(backupEnvelopeSchema));
const validToken = ajv.compile<BackupToken>(requestShape(backupTokenSchema));
const validDefinition = ajv.compile<BackupDefinition>(requestShape(backupDefinitionSchema));

/**
 * The pepper check of backups exported before they carried the store's (salted scrypt) kind: a keyed hash of a fixed
 * text, one HMAC per guess to test. Still accepted on import; no longer written.
 */
export function pepperCheckOf(pepper: Buffer): string {
  return createHmac('sha256', pepper)
    .update('express-user-defined-apis backup pepper check v1')
    .digest('base64url')
    .slice(0, 22);
}

function backupToken(doc: ApiTokenDoc): BackupToken {
  const inGrace = Boolean(doc.previousSecretDigest && doc.previousSecretHash && doc.previousSecretExpiresAt);
  return {
    id: doc._id,
    name: doc.name,
    isDisabled: doc.isDisabled,
    rateLimit: doc.rateLimit ? { limit: doc.rateLimit.limit, windowSeconds: doc.rateLimit.windowSeconds } : null,
    scopes: [...(doc.scopes ?? [])],
    metadata: doc.metadata ?? null,
    start: doc.start ?? null,
    expiresAt: isoOrNull(doc.expiresAt),
    secretDigest: doc.secretDigest,
    secretHash: doc.secretHash,
    previousSecretDigest: inGrace ? doc.previousSecretDigest! : null,
    previousSecretHash: inGrace ? doc.previousSecretHash! : null,
    previousSecretExpiresAt: inGrace ? isoOrNull(doc.previousSecretExpiresAt) : null,
    lastUsedAt: isoOrNull(doc.lastUsedAt),
    createdBy: doc.createdBy,
    createdAt: doc.createdAt.toISOString(),
    lastModifiedBy: doc.lastModifiedBy,
    lastModified: doc.lastModified.toISOString(),
  };
}

function backupDefinition(doc: ApiDefinitionDoc): BackupDefinition {
  return {
    id: doc._id,
    name: doc.name ?? null,
    description: doc.description ?? null,
    route: doc.route,
    securitySettings: securitySettingsOf(doc),
    actionType: doc.actionType,
    actionMeta:
      doc.actionType === 'handler'
        ? { name: doc.actionMeta.name, inputType: doc.actionMeta.inputType ?? 'rawBody' }
        : { name: doc.actionMeta.name },
    ...(doc.inputSchemas ? { input: parseStoredInput(doc.inputSchemas)! } : {}),
    createdBy: doc.createdBy,
    createdAt: doc.createdAt.toISOString(),
    lastModifiedBy: doc.lastModifiedBy,
    lastModified: doc.lastModified.toISOString(),
  };
}

/** Collects problems up to MAX_PROBLEMS and counts the rest. */
class Problems {
  readonly items: AdminErrorItem[] = [];
  private more = 0;

  add(reason: ErrorReason, id: string | undefined, field: string, message: string): void {
    if (this.items.length < MAX_PROBLEMS) this.items.push({ reason, ...(id !== undefined && { id }), field, message });
    else this.more++;
  }

  throwIfAny(): void {
    if (this.items.length === 0) return;
    const items = [...this.items];
    if (this.more > 0)
      items.push({
        reason: 'InvalidBackup',
        message: `${this.more} more problem(s) not listed; nothing was imported.`,
      });
    throw new AdminError(items);
  }
}

/** What a BackupService works with; plugin.ts builds it. */
export interface BackupServiceDeps {
  tokenModel: ApiTokenModel;
  definitionModel: ApiDefinitionModel;
  definitions: DefinitionService;
  /** Key of the HMAC that digests secrets: a backup made under another pepper is refused. */
  pepper: Buffer;
  events: EventLog;
  /** The manager log. */
  log: Logger;
  /** Brings this instance's view up to date and tells the other instances to reload theirs. */
  imported: () => Promise<void>;
  /** Refuses (503) to store digests under a pepper that is not the store's (services/pepper-guard.ts). */
  beforeSecretWrite?: () => Promise<void>;
}

export class BackupService {
  constructor(private readonly deps: BackupServiceDeps) {}

  /**
   * The backup as JSON text, in pieces, read from the database with cursors (memory stays flat however many
   * objects). Not a point-in-time snapshot: take it while no admin is changing things; an import of an
   * inconsistent backup is refused as a whole.
   */
  async *exportJson(ctx: ChangeContext): AsyncGenerator<string> {
    this.deps.log.info({ traceId: ctx.traceId, user: ctx.user.name }, 'Exporting all tokens and definitions');
    const header = {
      format: BACKUP_FORMAT,
      version: BACKUP_VERSION,
      exportedAt: new Date().toISOString(),
      // Salted scrypt like the store's own check: testing a guess of the pepper against a backup costs that much.
      pepperCheck: pepperCheckText(await makePepperCheck(this.deps.pepper)),
    };
    yield `${JSON.stringify(header).slice(0, -1)},"tokens":[`;
    let tokens = 0;
    for await (const doc of this.deps.tokenModel.find({}).sort({ _id: 1 }).lean<ApiTokenDoc>().cursor()) {
      yield `${tokens++ === 0 ? '' : ','}\n${JSON.stringify(backupToken(doc))}`;
    }
    yield '],"definitions":[';
    let definitions = 0;
    for await (const doc of this.deps.definitionModel.find({}).sort({ _id: 1 }).lean<ApiDefinitionDoc>().cursor()) {
      yield `${definitions++ === 0 ? '' : ','}\n${JSON.stringify(backupDefinition(doc))}`;
    }
    yield ']}\n';
    this.deps.log.info(
      { traceId: ctx.traceId, user: ctx.user.name, tokens, definitions },
      `Exported ${tokens} token(s) and ${definitions} definition(s)`,
    );
  }

  /**
   * Restores a backup next to what is stored: validates everything first (shapes, the API's field rules, routes,
   * actions, links, bcrypt hashes that bcrypt may safely be run on, times that name an instant and none that has
   * not happened yet, and conflicts with stored ids, routes and secrets) and writes nothing if anything is wrong.
   * A write that fails midway (the database went away, or a conflicting write raced in) is undone.
   */
  async import(input: unknown, ctx: ChangeContext, { checkActions = true } = {}): Promise<ImportResult> {
    const backup = this.validate(input);
    await this.samePepper(backup.pepperCheck);
    await this.deps.beforeSecretWrite?.();
    const problems = new Problems();
    // One instant for every time rule of this import, so that no object is judged against a later clock than another.
    const now = Date.now();
    datesOf(backup, ['exportedAt'], '', undefined, problems, now, ['exportedAt']);
    const fields = new Map<string, string>();
    const tokenDocs = this.tokenDocs(backup.tokens, problems, fields, now);
    const definitionDocs = this.definitionDocs(backup.definitions, problems, fields, checkActions, now);
    // A malformed token is reported once, not again by every definition that allows it.
    const backupTokenIds = new Set(
      backup.tokens
        .map(idOf)
        .filter((id) => id !== undefined)
        .map((id) => id.toLowerCase()),
    );
    await this.checkStored(tokenDocs, definitionDocs, backupTokenIds, problems, fields);
    problems.throwIfAny();

    this.deps.log.info(
      { traceId: ctx.traceId, user: ctx.user.name, tokens: tokenDocs.length, definitions: definitionDocs.length },
      `Importing ${tokenDocs.length} token(s) and ${definitionDocs.length} definition(s)`,
    );
    await this.write(tokenDocs, definitionDocs);
    await this.deps.imported();
    for (const doc of tokenDocs)
      await this.deps.events.record({
        objectType: 'ApiToken',
        action: 'created',
        objectId: doc._id,
        tokenName: doc.name,
        user: ctx.user.name,
      });
    for (const doc of definitionDocs)
      await this.deps.events.record({
        objectType: 'ApiDefinition',
        action: 'created',
        objectId: doc._id,
        route: doc.route,
        user: ctx.user.name,
      });
    this.deps.log.info(
      { traceId: ctx.traceId, user: ctx.user.name },
      `Imported ${tokenDocs.length} token(s) and ${definitionDocs.length} definition(s)`,
    );
    return { tokens: tokenDocs.length, definitions: definitionDocs.length };
  }

  private validate(input: unknown): Backup {
    if (!validEnvelope(input)) {
      const error = validEnvelope.errors?.[0];
      const where = error?.instancePath ? ` at ${error.instancePath}` : '';
      throw AdminError.of(
        'InvalidBackup',
        `Not a backup of this package, version ${BACKUP_VERSION}${where}: ${error?.message ?? 'malformed'}.`,
      );
    }
    return input;
  }

  /** Refuses a backup made under another pepper: none of its digests would ever match a secret here. */
  private async samePepper(pepperCheck: string): Promise<void> {
    const check = parsePepperCheckText(pepperCheck);
    const same = check ? await pepperMatches(this.deps.pepper, check) : pepperCheck === pepperCheckOf(this.deps.pepper);
    if (!same) {
      throw AdminError.of(
        'InvalidBackup',
        'The backup was made under another pepper: none of its secrets would work here. Import it where the pepper is the same.',
      );
    }
  }

  /** The documents to insert; `fields` learns where each id sits in the backup, for later problems. */
  private tokenDocs(
    tokens: readonly unknown[],
    problems: Problems,
    fields: Map<string, string>,
    now: number,
  ): ApiTokenDoc[] {
    const docs: ApiTokenDoc[] = [];
    const ids = new Set<string>();
    const digests = new Set<string>();
    tokens.forEach((raw, index) => {
      const identified = identify(raw, index, 'token', validToken, problems, fields, ids);
      if (!identified) return;
      const { value: token, id, field } = identified;
      const nameIssue = nameProblem(token.name);
      if (nameIssue) problems.add('InvalidName', id, `${field}.name`, nameIssue);
      const rateIssue = rateLimitProblem(token.rateLimit);
      if (rateIssue) problems.add('InvalidRateLimit', id, `${field}.rateLimit`, rateIssue);
      for (const problem of scopesAndMetadataProblems(token))
        problems.add(problem.reason, id, `${field}.${problem.field}`, problem.message);
      const dates = datesOf(
        token,
        ['expiresAt', 'previousSecretExpiresAt', ...TOKEN_AUDIT_TIMES],
        field,
        id,
        problems,
        now,
        TOKEN_AUDIT_TIMES,
      );
      checkSecret(token.secretDigest, token.secretHash, `${field}.secretDigest`, `${field}.secretHash`, id, problems);
      checkPreviousSecret(token, dates.previousSecretExpiresAt, field, id, problems, now);
      // A grace period that ended by now is dropped rather than restored.
      const inGrace =
        token.previousSecretDigest !== null &&
        dates.previousSecretExpiresAt !== null &&
        !hasExpired(dates.previousSecretExpiresAt.getTime(), now);
      for (const digest of inGrace ? [token.secretDigest, token.previousSecretDigest!] : [token.secretDigest]) {
        if (digests.has(digest))
          problems.add('InvalidSecret', id, `${field}.secretDigest`, 'Two tokens in the backup have the same secret.');
        digests.add(digest);
      }
      docs.push({
        _id: id,
        name: token.name,
        secretDigest: token.secretDigest,
        secretHash: token.secretHash,
        isDisabled: token.isDisabled,
        rateLimit: token.rateLimit,
        scopes: token.scopes ?? [],
        metadata: token.metadata ?? null,
        start: token.start ?? null,
        expiresAt: dates.expiresAt,
        previousSecretDigest: inGrace ? token.previousSecretDigest : null,
        previousSecretHash: inGrace ? token.previousSecretHash : null,
        previousSecretExpiresAt: inGrace ? dates.previousSecretExpiresAt : null,
        lastUsedAt: dates.lastUsedAt,
        createdBy: token.createdBy,
        createdAt: dates.createdAt ?? new Date(0),
        lastModifiedBy: token.lastModifiedBy,
        lastModified: dates.lastModified ?? new Date(0),
        deletingSince: null,
      });
    });
    return docs;
  }

  private definitionDocs(
    definitions: readonly unknown[],
    problems: Problems,
    fields: Map<string, string>,
    checkActions: boolean,
    now: number,
  ): ApiDefinitionDoc[] {
    const docs: ApiDefinitionDoc[] = [];
    const ids = new Set<string>();
    const routes = new Map<string, string>();
    definitions.forEach((raw, index) => {
      const identified = identify(raw, index, 'definition', validDefinition, problems, fields, ids);
      if (!identified) return;
      const { value: definition, id, field } = identified;
      const fieldProblems: AdminErrorItem[] = [];
      // The API's own rules for a definition's fields (name, description, route, action, allowed tokens), not a copy.
      const stored = this.deps.definitions.checkFields(id, definition, fieldProblems, checkActions);
      for (const item of fieldProblems) {
        const at = item.field ?? DEFINITION_FIELD_OF[item.reason];
        problems.add(item.reason, id, at ? `${field}.${at}` : field, item.message);
      }
      const dates = datesOf(definition, DEFINITION_AUDIT_TIMES, field, id, problems, now, DEFINITION_AUDIT_TIMES);
      if (!stored) return;
      const other = routes.get(stored.routeKey);
      if (other !== undefined)
        problems.add(
          'RouteInUse',
          id,
          `${field}.route`,
          `The route conflicts with the route of definition ${other} in the backup.`,
        );
      routes.set(stored.routeKey, id);
      docs.push({
        _id: id,
        ...stored,
        createdBy: definition.createdBy,
        createdAt: dates.createdAt ?? new Date(0),
        lastModifiedBy: definition.lastModifiedBy,
        lastModified: dates.lastModified ?? new Date(0),
      });
    });
    return docs;
  }

  /** Conflicts with what is stored: ids, routes, secrets in use, and allowed tokens that exist nowhere. */
  private async checkStored(
    tokens: ApiTokenDoc[],
    definitions: ApiDefinitionDoc[],
    backupTokenIds: ReadonlySet<string>,
    problems: Problems,
    fields: ReadonlyMap<string, string>,
  ): Promise<void> {
    await this.checkStoredTokens(tokens, problems, fields);
    await this.checkStoredDefinitions(definitions, backupTokenIds, problems, fields);
  }

  /** Token ids and secrets that stored tokens already have. */
  private async checkStoredTokens(
    tokens: ApiTokenDoc[],
    problems: Problems,
    fields: ReadonlyMap<string, string>,
  ): Promise<void> {
    const tokenIds = tokens.map((doc) => doc._id);
    for (const row of await this.deps.tokenModel
      .find({ _id: { $in: tokenIds } }, { _id: 1 })
      .lean<{ _id: string }[]>()
      .exec()) {
      problems.add(
        'IdInUse',
        row._id,
        fields.get(`token:${row._id}`) ?? 'tokens',
        'A stored token already has this id.',
      );
    }
    const digests = tokens.flatMap((doc) =>
      doc.previousSecretDigest ? [doc.secretDigest, doc.previousSecretDigest] : [doc.secretDigest],
    );
    const now = new Date();
    const owners = await this.deps.tokenModel
      .find(digestOwnerQuery(digests, now), { secretDigest: 1, previousSecretDigest: 1, previousSecretExpiresAt: 1 })
      .lean<Pick<ApiTokenDoc, 'secretDigest' | 'previousSecretDigest' | 'previousSecretExpiresAt'>[]>()
      .exec();
    const taken = new Set(owners.flatMap((row) => ownedDigests(row, now)));
    // Names the backup's token, never the stored one that holds the secret.
    for (const doc of tokens) {
      if (taken.has(doc.secretDigest) || (doc.previousSecretDigest && taken.has(doc.previousSecretDigest))) {
        problems.add(
          'InvalidSecret',
          doc._id,
          fields.get(`token:${doc._id}`) ?? 'tokens',
          'A stored token already uses this secret.',
        );
      }
    }
  }

  /** Definition ids and routes stored definitions already have, and allowed tokens neither backed up nor stored. */
  private async checkStoredDefinitions(
    definitions: ApiDefinitionDoc[],
    backupTokenIds: ReadonlySet<string>,
    problems: Problems,
    fields: ReadonlyMap<string, string>,
  ): Promise<void> {
    const definitionIds = definitions.map((doc) => doc._id);
    for (const row of await this.deps.definitionModel
      .find({ _id: { $in: definitionIds } }, { _id: 1 })
      .lean<{ _id: string }[]>()
      .exec()) {
      problems.add(
        'IdInUse',
        row._id,
        fields.get(`definition:${row._id}`) ?? 'definitions',
        'A stored definition already has this id.',
      );
    }
    const routeKeys = definitions.map((doc) => doc.routeKey);
    const importedByRouteKey = new Map(definitions.map((doc) => [doc.routeKey, doc._id]));
    const storedRoutes = await this.deps.definitionModel
      .find({ routeKey: { $in: routeKeys } }, { _id: 1, route: 1, routeKey: 1 })
      .lean<{ _id: string; route: string; routeKey: string }[]>()
      .exec();
    for (const row of storedRoutes) {
      const id = importedByRouteKey.get(row.routeKey)!;
      problems.add(
        'RouteInUse',
        id,
        fields.get(`definition:${id}`) ?? 'definitions',
        `The route conflicts with the route '${row.route}' of the stored definition ${row._id}.`,
      );
    }
    const referenced = [...new Set(definitions.flatMap((doc) => doc.securitySettings.allowedTokens))].filter(
      (id) => !backupTokenIds.has(id),
    );
    const stored = new Set(
      (
        await this.deps.tokenModel
          .find({ _id: { $in: referenced } }, { _id: 1 })
          .lean<{ _id: string }[]>()
          .exec()
      ).map((row) => row._id),
    );
    for (const doc of definitions) {
      const unknownTokenIds = doc.securitySettings.allowedTokens.filter(
        (id) => !backupTokenIds.has(id) && !stored.has(id),
      );
      if (unknownTokenIds.length > 0) {
        problems.add(
          'InvalidAllowedTokens',
          doc._id,
          `${fields.get(`definition:${doc._id}`) ?? 'definitions'}.securitySettings`,
          `These allowed tokens are neither in the backup nor stored: ${unknownTokenIds.join(', ')}.`,
        );
      }
    }
  }

  /** Inserts tokens, then definitions; on any failure deletes what this import inserted and rethrows. */
  private async write(tokens: ApiTokenDoc[], definitions: ApiDefinitionDoc[]): Promise<void> {
    try {
      for (const batch of batchesOf(tokens, WRITE_BATCH)) {
        await this.deps.tokenModel.collection.insertMany(batch as unknown as Record<string, unknown>[], {
          ordered: true,
        });
      }
      for (const batch of batchesOf(definitions, WRITE_BATCH)) {
        await this.deps.definitionModel.collection.insertMany(batch as unknown as Record<string, unknown>[], {
          ordered: true,
        });
      }
    } catch (error) {
      await this.undo(tokens, definitions);
      if (isDuplicateKeyError(error)) {
        throw AdminError.of(
          'InvalidBackup',
          'Another write took an id, route or secret of the backup while it was being imported; nothing was imported. Retry.',
        );
      }
      throw error;
    }
  }

  /**
   * Deletes only documents this import wrote: a definition by id and conflict key and creation time, a token by
   * id and digest, so an object another writer created under a clashing id meanwhile survives.
   */
  private async undo(tokens: ApiTokenDoc[], definitions: ApiDefinitionDoc[]): Promise<void> {
    try {
      for (const batch of batchesOf(definitions, WRITE_BATCH)) {
        await this.deps.definitionModel
          .deleteMany({ $or: batch.map((doc) => ({ _id: doc._id, routeKey: doc.routeKey, createdAt: doc.createdAt })) })
          .exec();
      }
      for (const batch of batchesOf(tokens, WRITE_BATCH)) {
        await this.deps.tokenModel
          .deleteMany({ $or: batch.map((doc) => ({ _id: doc._id, secretDigest: doc.secretDigest })) })
          .exec();
      }
    } catch (undoError) {
      this.deps.log.error(
        { err: errorSummary(undoError) },
        'An import failed midway and could not be fully undone; some imported objects may remain',
      );
    }
  }
}

/**
 * The rules every object of a backup shares: its shape, then a UUID id used once in the backup. Records where the id
 * sits (`fields`) for later problems; null when the shape is wrong (already reported).
 */
function identify<T extends { id: string }>(
  raw: unknown,
  index: number,
  kind: 'token' | 'definition',
  validate: ValidateFunction<T>,
  problems: Problems,
  fields: Map<string, string>,
  ids: Set<string>,
): { value: T; id: string; field: string } | null {
  const field = `${kind}s[${index}]`;
  if (!validate(raw)) {
    const error = validate.errors?.[0];
    problems.add(
      'InvalidBackup',
      idOf(raw),
      `${field}${error?.instancePath.replaceAll('/', '.') ?? ''}`,
      `Malformed ${kind}: ${error?.message ?? 'malformed'}.`,
    );
    return null;
  }
  const id = raw.id.toLowerCase();
  fields.set(`${kind}:${id}`, field);
  if (!isUuid(id)) problems.add('InvalidId', raw.id, `${field}.id`, 'The id must be a UUID.');
  if (ids.has(id)) problems.add('IdInUse', id, `${field}.id`, `Two ${kind}s in the backup have this id.`);
  ids.add(id);
  return { value: raw, id, field };
}

function idOf(raw: unknown): string | undefined {
  const id = (raw as { id?: unknown } | null)?.id;
  return typeof id === 'string' && id.length <= 100 ? id : undefined;
}

/** A digest and a bcrypt hash of one secret: the hash must be one bcrypt may safely be run on (see bcrypt-hash.ts). */
function checkSecret(
  digest: string,
  hash: string,
  digestField: string,
  hashField: string,
  id: string,
  problems: Problems,
): void {
  if (!DIGEST.test(digest))
    problems.add(
      'InvalidBackup',
      id,
      digestField,
      'The secret digest is malformed: it must be 43 characters of base64url.',
    );
  const hashIssue = bcryptHashProblem(hash);
  if (hashIssue) problems.add('InvalidBackup', id, hashField, hashIssue);
}

/** A token's previous secret: all of digest, hash and end time or none, and a grace period the API would allow. */
function checkPreviousSecret(
  token: BackupToken,
  graceEnd: Date | null,
  field: string,
  id: string,
  problems: Problems,
  now: number,
): void {
  const previous = [token.previousSecretDigest, token.previousSecretHash, token.previousSecretExpiresAt];
  if (previous.some((value) => value !== null) && previous.some((value) => value === null)) {
    problems.add(
      'InvalidBackup',
      id,
      `${field}.previousSecretDigest`,
      'The previous secret needs its digest, hash and end time, or none of them.',
    );
  } else if (token.previousSecretDigest !== null) {
    checkSecret(
      token.previousSecretDigest,
      token.previousSecretHash!,
      `${field}.previousSecretDigest`,
      `${field}.previousSecretHash`,
      id,
      problems,
    );
    // The API's bound on a grace period. One that has ended is no threat (its secret works nowhere): tokenDocs drops it.
    const graceIssue =
      graceEnd && !hasExpired(graceEnd.getTime(), now)
        ? gracePeriodProblem(token.previousSecretExpiresAt!, graceEnd, now)
        : null;
    if (graceIssue) problems.add('InvalidBackup', id, `${field}.previousSecretExpiresAt`, graceIssue);
  }
}

/**
 * Parses the named ISO-8601 fields (null stays null) the way the API parses an expiry; a bad one is a problem, and so
 * is one of the `audit` times that lies ahead of `now` by more than CLOCK_SKEW_MS (nothing has happened in the future).
 */
function datesOf<K extends string>(
  object: Record<K, unknown> & object,
  names: readonly K[],
  field: string,
  id: string | undefined,
  problems: Problems,
  now: number,
  audit: readonly K[],
): Record<K, Date | null> {
  const dates = {} as Record<K, Date | null>;
  for (const name of names) {
    const value = object[name];
    dates[name] = null;
    if (value === null || value === undefined) continue;
    const date = expiryDate(String(value));
    const at = field ? `${field}.${name}` : name;
    if (Number.isNaN(date.getTime()))
      problems.add('InvalidBackup', id, at, `'${String(value)}' is not a valid date and time.`);
    else if (audit.includes(name) && date.getTime() > now + CLOCK_SKEW_MS)
      problems.add(
        'InvalidBackup',
        id,
        at,
        `'${String(value)}' is in the future; a restored time must have passed (a clock up to ${CLOCK_SKEW_MS / 60_000} minutes fast is allowed).`,
      );
    else dates[name] = date;
  }
  return dates;
}
