// ApiDefinition use cases: create, read, list, count, update and delete, with the route and link rules.
import { randomUUID } from 'node:crypto';
import type { ActionRegistry } from '../actions/registry';
import { AdminError, type AdminErrorItem } from '../errors';
import {
  securitySettingsOf,
  toApiDefinition,
  type ApiDefinitionDoc,
  type ApiDefinitionModel,
} from '../models/api-definition';
import type { ApiTokenModel } from '../models/api-token';
import { foldCase, parseRoute } from '../domain/route-grammar';
import { inputProblems, routeParameterNames } from '../domain/input-schema';
import type { ActionMeta, ActionType, ApiDefinition, ApiInput, Logger, Page } from '../types';
import type { ChangeContext } from './change-context';
import type { EventLog } from './event-log';
import { KeyedMutex } from './keyed-mutex';
import { isDuplicateKeyError } from '../database/mongo-errors';
import { containsCondition, idCondition, timeRanges, type AuditFilter, type IdFilter } from './filters';
import { afterCursor, pageOf } from './pagination';
import { missingTokenIds } from './token-links';
import { descriptionProblem, isUuid, optionalNameProblem, scopesProblem } from '../domain/validation-rules';

export const MAX_ALLOWED_TOKENS = 1000;

export interface DefinitionCreateInput {
  id?: string;
  name?: string | null;
  description?: string | null;
  route: string;
  /** requiredScopes left out: none on a create, unchanged on a patch. */
  securitySettings?: { allowedTokens: string[]; requiredScopes?: string[] };
  actionType?: ActionType;
  actionMeta: ActionMeta;
  /** null or left out on a create: none; null on a patch removes it, left out keeps it. */
  input?: ApiInput | null;
}

export type DefinitionPatch = Partial<Omit<DefinitionCreateInput, 'id'>>;

export interface DefinitionFilter extends AuditFilter, IdFilter {
  name?: string;
  /** Definitions whose name, route or description contains this text, ignoring case. */
  search?: string;
  /** Matched ignoring case. */
  route?: string;
  /** Definitions that allow this token id. */
  allowedToken?: string;
  actionType?: ActionType;
}

/** The stored fields a create or update decides; the audit fields come on top. */
type DefinitionFields = Pick<
  ApiDefinitionDoc,
  'route' | 'routeKey' | 'routeLower' | 'securitySettings' | 'actionType' | 'actionMeta'
> & { name?: string; description?: string; inputSchemas?: string };

/** What a DefinitionService works with; plugin.ts builds it. */
export interface DefinitionServiceDeps {
  model: ApiDefinitionModel;
  /** Checks that the tokens a definition allows exist. */
  tokenModel: ApiTokenModel;
  /** Checks that a definition's action is registered. */
  actions: ActionRegistry;
  /** The endpoint's mount path: it counts towards a route's length limit. */
  basePath: string;
  events: EventLog;
  /** The manager log. */
  log: Logger;
  /** Called after every stored change, inside the per-definition lock, so this instance's view updates at once. */
  changed: (id: string, known?: ApiDefinitionDoc | null) => Promise<void>;
}

export class DefinitionService {
  private readonly writes = new KeyedMutex();

  constructor(private readonly deps: DefinitionServiceDeps) {}

  /** `checkActions: false` (the command line, which registers no actions) skips the registered-action check. */
  async create(input: DefinitionCreateInput, ctx: ChangeContext, { checkActions = true } = {}): Promise<ApiDefinition> {
    const id = input.id?.toLowerCase() ?? randomUUID();
    const problems: AdminErrorItem[] = [];
    if (input.id !== undefined && !isUuid(input.id))
      problems.push({ reason: 'InvalidId', id: input.id, message: 'The id must be a UUID.' });
    const fields = this.checkFields(id, input, problems, checkActions);
    await this.checkTokens(id, allowedTokensOf(input), problems);
    if (!fields || problems.length > 0) throw new AdminError(problems);

    this.logChange(ctx, id, `Creating ApiDefinition with route '${fields.route}' (${id})`);
    const now = new Date();
    const doc: ApiDefinitionDoc = {
      _id: id,
      ...fields,
      createdBy: ctx.user.name,
      createdAt: now,
      lastModifiedBy: ctx.user.name,
      lastModified: now,
    };
    try {
      await this.deps.model.collection.insertOne(doc as unknown as Record<string, unknown>);
    } catch (error) {
      if (!isDuplicateKeyError(error)) throw error;
      throw await this.duplicateError(id, fields, error);
    }
    // R2 of the token-links protocol: a token deleted meanwhile undoes this create.
    const vanished = await missingTokenIds(this.deps.tokenModel, fields.securitySettings.allowedTokens);
    if (vanished.length > 0) {
      await this.deps.model.deleteOne({ _id: id }).exec();
      throw unknownTokens(id, vanished);
    }
    await this.deps.changed(id, doc);
    this.logChange(ctx, id, `Created ApiDefinition with route '${doc.route}' (${id})`);
    await this.deps.events.record({
      objectType: 'ApiDefinition',
      action: 'created',
      objectId: id,
      route: doc.route,
      user: ctx.user.name,
    });
    return toApiDefinition(doc);
  }

  async get(id: string): Promise<ApiDefinition> {
    return toApiDefinition(await this.load(id));
  }

  async list(filter: DefinitionFilter, limit: number, cursor?: string): Promise<Page<ApiDefinition>> {
    const query = { ...queryOf(filter), ...afterCursor('createdAt', cursor) };
    return pageOf(
      (n) => this.deps.model.find(query).sort({ createdAt: -1, _id: -1 }).limit(n).lean<ApiDefinitionDoc[]>().exec(),
      limit,
      (doc) => doc.createdAt,
      toApiDefinition,
    );
  }

  /** Every definition, by route: for documents that describe them all (at most the few thousand a server holds). */
  async all(): Promise<ApiDefinition[]> {
    const docs = await this.deps.model.find({}).sort({ routeLower: 1, _id: 1 }).lean<ApiDefinitionDoc[]>().exec();
    return docs.map(toApiDefinition);
  }

  async count(filter: DefinitionFilter): Promise<number> {
    return this.deps.model.countDocuments(queryOf(filter)).exec();
  }

  /** The ids of the definitions that allow a token (R1 of the token-links protocol). */
  async linkedTo(tokenId: string): Promise<string[]> {
    const rows = await this.deps.model
      .find({ 'securitySettings.allowedTokens': tokenId }, { _id: 1 })
      .lean<{ _id: string }[]>()
      .exec();
    return rows.map((row) => row._id);
  }

  /** Validates the definition as it would be after the patch, then writes only what changed (checkActions: see create). */
  async update(
    id: string,
    patch: DefinitionPatch,
    ctx: ChangeContext,
    { checkActions = true } = {},
  ): Promise<ApiDefinition> {
    const key = id.toLowerCase();
    return this.writes.run(key, async () => {
      const current = await this.load(key);
      const merged: DefinitionCreateInput = { ...toApiDefinition(current), ...patch };
      // A client that knows nothing of required scopes (an older one) must not drop them by sending allowedTokens.
      if (patch.securitySettings)
        merged.securitySettings = { ...securitySettingsOf(current), ...patch.securitySettings };
      const problems: AdminErrorItem[] = [];
      const fields = this.checkFields(key, merged, problems, checkActions);
      // Only tokens this update adds need checking: the ones already linked cannot have been deleted.
      const addedTokens = allowedTokensOf(merged).filter(
        (token) => !current.securitySettings.allowedTokens.includes(token),
      );
      await this.checkTokens(key, addedTokens, problems);
      if (!fields || problems.length > 0) throw new AdminError(problems);

      this.logChange(ctx, key, `Updating ApiDefinition with route '${fields.route}' (${key})`);
      const set: Partial<ApiDefinitionDoc> = { ...fields, lastModifiedBy: ctx.user.name, lastModified: new Date() };
      const unset: Record<string, ''> = {};
      if (fields.name === undefined) unset.name = '';
      if (fields.description === undefined) unset.description = '';
      if (fields.inputSchemas === undefined) unset.inputSchemas = '';
      await this.write(key, set, unset, fields);

      const vanished = await missingTokenIds(this.deps.tokenModel, addedTokens);
      if (vanished.length > 0) {
        // Undo: put back the fields this update replaced (writes to this definition are serialised here).
        const { _id, ...previous } = current;
        void _id;
        await this.deps.model.collection.replaceOne({ _id: key } as Record<string, unknown>, previous);
        throw unknownTokens(key, vanished);
      }
      // Every field but the creation's is in `set`, so this is the stored document; no read needed (a scan on FerretDB).
      const after: ApiDefinitionDoc = { ...current, ...set };
      for (const field of Object.keys(unset)) delete (after as unknown as Record<string, unknown>)[field];
      await this.deps.changed(key, after);
      this.logChange(ctx, key, `Updated ApiDefinition with route '${fields.route}' (${key})`);
      await this.deps.events.record({
        objectType: 'ApiDefinition',
        action: 'updated',
        objectId: key,
        route: fields.route,
        user: ctx.user.name,
      });
      return toApiDefinition(after);
    });
  }

  async delete(id: string, ctx: ChangeContext): Promise<void> {
    const key = id.toLowerCase();
    await this.writes.run(key, async () => {
      const current = await this.load(key);
      this.logChange(ctx, key, `Deleting ApiDefinition with route '${current.route}' (${key})`);
      const result = await this.deps.model.deleteOne({ _id: key }).exec();
      if (result.deletedCount === 0) throw notFound(key);
      await this.deps.changed(key, null);
      this.logChange(ctx, key, `Deleted ApiDefinition with route '${current.route}' (${key})`);
      await this.deps.events.record({
        objectType: 'ApiDefinition',
        action: 'deleted',
        objectId: key,
        route: current.route,
        user: ctx.user.name,
      });
    });
  }

  /**
   * Checks every field rule, collecting problems; returns the fields to store when the route parses. The
   * command line restores backups without the app's actions registered: it skips that one check.
   */
  checkFields(
    id: string,
    definition: DefinitionCreateInput,
    problems: AdminErrorItem[],
    checkActions = true,
  ): DefinitionFields | null {
    const name = definition.name ?? undefined;
    const nameIssue = name === undefined ? null : optionalNameProblem(name);
    if (nameIssue) problems.push({ reason: 'InvalidName', id, message: nameIssue });
    // A description has no reason of its own: InvalidRequest, as the schema answers one that is too long.
    const descriptionIssue =
      typeof definition.description === 'string' ? descriptionProblem(definition.description) : null;
    if (descriptionIssue)
      problems.push({ reason: 'InvalidRequest', id, field: 'description', message: descriptionIssue });

    const parsed = parseRoute(definition.route, this.deps.basePath);
    if ('problem' in parsed)
      problems.push({ reason: 'InvalidRoute', id, route: definition.route, message: parsed.problem });

    const actionType = definition.actionType ?? 'handler';
    const actionMeta = definition.actionMeta;
    const action = this.deps.actions.get(actionMeta.name);
    if (checkActions && (!action || action.kind !== actionType)) {
      problems.push({
        reason: 'InvalidActionMeta',
        id,
        message: `No ${actionType} named '${actionMeta.name}' is registered; GET /actions lists them.`,
      });
    } else if (actionType === 'procedure' && actionMeta.inputType !== undefined) {
      problems.push({
        reason: 'InvalidActionMeta',
        id,
        message: 'inputType applies to handlers only; leave it out for a procedure.',
      });
    }

    const allowedTokens = allowedTokensOf(definition);
    if (allowedTokens.length > MAX_ALLOWED_TOKENS) {
      problems.push({
        reason: 'InvalidAllowedTokens',
        id,
        message: `A definition may allow at most ${MAX_ALLOWED_TOKENS} tokens.`,
      });
    }

    const requiredScopes = definition.securitySettings?.requiredScopes ?? [];
    const scopesIssue = scopesProblem(requiredScopes, 'required scopes');
    if (scopesIssue)
      problems.push({ reason: 'InvalidScopes', id, field: 'securitySettings.requiredScopes', message: scopesIssue });

    const input = definition.input ?? null;
    if (input !== null) {
      for (const problem of inputProblems(input, routeParameterNames(definition.route)))
        problems.push({ reason: 'InvalidInputSchema', id, field: problem.field, message: problem.message });
    }

    if ('problem' in parsed) return null;
    const fields: DefinitionFields = {
      route: definition.route,
      routeKey: parsed.key,
      routeLower: foldCase(definition.route),
      securitySettings: { allowedTokens, requiredScopes },
      actionType,
      actionMeta:
        actionType === 'handler'
          ? { name: actionMeta.name, inputType: actionMeta.inputType ?? 'rawBody' }
          : { name: actionMeta.name },
    };
    if (name) fields.name = name;
    if (definition.description !== undefined && definition.description !== null && definition.description !== '')
      fields.description = definition.description;
    if (input !== null) fields.inputSchemas = JSON.stringify(input);
    return fields;
  }

  /** Adds an InvalidAllowedTokens problem naming every id that is malformed or names no token. */
  private async checkTokens(id: string, tokens: string[], problems: AdminErrorItem[]): Promise<void> {
    const malformed = tokens.filter((token) => !isUuid(token));
    const missing = [...malformed, ...(await missingTokenIds(this.deps.tokenModel, tokens.filter(isUuid)))];
    if (missing.length > 0) problems.push(...unknownTokens(id, missing).items);
  }

  private async write(
    id: string,
    set: Partial<ApiDefinitionDoc>,
    unset: Record<string, ''>,
    fields: DefinitionFields,
  ): Promise<void> {
    try {
      const update = Object.keys(unset).length > 0 ? { $set: set, $unset: unset } : { $set: set };
      const result = await this.deps.model.collection.updateOne({ _id: id } as Record<string, unknown>, update);
      if (result.matchedCount === 0) throw notFound(id);
    } catch (error) {
      if (!isDuplicateKeyError(error, true)) throw error;
      throw await this.duplicateError(id, fields, error);
    }
  }

  /** Tells a route conflict from an id clash by reading (FerretDB names no index); anything else is rethrown. */
  private async duplicateError(id: string, fields: DefinitionFields, error: unknown): Promise<unknown> {
    const conflicting = await this.deps.model
      .findOne({ routeKey: fields.routeKey, _id: { $ne: id } }, { _id: 1, route: 1 })
      .lean<{ _id: string; route: string }>()
      .exec();
    if (conflicting) {
      return AdminError.of(
        'RouteInUse',
        `The route conflicts with the route '${conflicting.route}' of definition ${conflicting._id}.`,
        {
          id,
          route: fields.route,
          conflictingDefinitionId: conflicting._id,
        },
      );
    }
    if (await this.deps.model.exists({ _id: id }))
      return AdminError.of('IdInUse', `Another object already has the id ${id}.`, { id });
    return error;
  }

  private async load(id: string): Promise<ApiDefinitionDoc> {
    const doc = isUuid(id) ? await this.deps.model.findById(id.toLowerCase()).lean<ApiDefinitionDoc>().exec() : null;
    if (!doc) throw notFound(id);
    return doc;
  }

  private logChange(ctx: ChangeContext, id: string, message: string): void {
    this.deps.log.info(
      { traceId: ctx.traceId, user: ctx.user.name, objectType: 'ApiDefinition', objectId: id },
      message,
    );
  }
}

function queryOf(filter: DefinitionFilter): Record<string, unknown> {
  const query: Record<string, unknown> = {};
  const id = idCondition(filter);
  if (id !== undefined) query._id = id;
  if (filter.search !== undefined) {
    const contains = containsCondition(filter.search);
    query.$or = [{ name: contains }, { route: contains }, { description: contains }];
  }
  if (filter.name !== undefined) query.name = filter.name;
  if (filter.route !== undefined) query.routeLower = foldCase(filter.route);
  if (filter.allowedToken !== undefined) query['securitySettings.allowedTokens'] = filter.allowedToken.toLowerCase();
  if (filter.actionType !== undefined) query.actionType = filter.actionType;
  return Object.assign(query, timeRanges(filter));
}

/** The allowed tokens of an input, each once, ids in lower case. */
function allowedTokensOf(input: DefinitionCreateInput): string[] {
  return [...new Set((input.securitySettings?.allowedTokens ?? []).map((token) => token.toLowerCase()))];
}

function unknownTokens(id: string, unknownTokenIds: string[]): AdminError {
  return AdminError.of('InvalidAllowedTokens', `These allowed tokens do not exist: ${unknownTokenIds.join(', ')}.`, {
    id,
    unknownTokenIds,
  });
}

function notFound(id: string): AdminError {
  return AdminError.of('NotFound', `No API definition has the id ${id}.`, { id });
}
