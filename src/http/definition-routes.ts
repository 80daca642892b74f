// The /definitions and /actions routes of the admin router: validation, permissions and status codes.
import { Router } from 'express';
import type { ActionRegistry } from '../actions/registry';
import { Permissions } from '../permissions';
import type {
  DefinitionCreateInput,
  DefinitionFilter,
  DefinitionPatch,
  DefinitionService,
} from '../services/definition-service';
import type { ActionType } from '../types';
import { inputProblems, routeParameterNames } from '../domain/input-schema';
import { adminState } from './admin-auth';
import { register, type AdminOperation, type NoQuery } from './operation';
import { ref } from './response-schemas';
import { auditFilterOf, idList, pageSize, type AuditQuery } from './query';
import {
  definitionCountQuerySchema,
  definitionCreateSchema,
  definitionListQuerySchema,
  definitionPatchSchema,
  emptyQuerySchema,
  inputCheckSchema,
} from '../domain/schemas';

interface DefinitionFilterQuery extends AuditQuery {
  id?: string;
  name?: string;
  route?: string;
  allowedToken?: string;
  actionType?: ActionType;
  ids?: string;
  search?: string;
}

type DefinitionListQuery = DefinitionFilterQuery & { limit?: number; cursor?: string };

interface InputCheckBody {
  route?: string;
  input: object;
}

// The service's reasons (InvalidRequest: a description with a control character); operationReasons() adds those of
// the steps before the handler.
const WRITE_ERRORS = [
  'InvalidName',
  'InvalidRoute',
  'InvalidActionMeta',
  'InvalidAllowedTokens',
  'InvalidScopes',
  'InvalidInputSchema',
  'InvalidRequest',
  'RouteInUse',
] as const;
const read = [Permissions.DefinitionRead] as const;
// Defining an API decides which action consumers may run, so it also needs the right to run actions.
const write = [Permissions.DefinitionCreateUpdate, Permissions.ActionExecute] as const;

/** The /actions and /definitions operations: routes, permissions and schemas in one place (OpenAPI reads them too). */
export const definitionOperations = {
  actions: {
    method: 'get',
    path: '/actions',
    operationId: 'listActions',
    tag: 'Actions',
    summary: 'The handlers and procedures registered on this instance',
    permissions: read,
    query: emptyQuerySchema,
    success: { status: 200, description: 'Registered actions, by name.', schema: ref('ActionList') },
    errors: ['InvalidRequest'],
  },
  list: {
    method: 'get',
    path: '/definitions',
    operationId: 'listDefinitions',
    tag: 'Definitions',
    summary: 'List API definitions, newest first, filtered and paged',
    permissions: read,
    query: definitionListQuerySchema,
    success: { status: 200, description: 'One page of definitions.', schema: ref('ApiDefinitionPage') },
    errors: ['InvalidRequest'],
  },
  count: {
    method: 'get',
    path: '/definitions/count',
    operationId: 'countDefinitions',
    tag: 'Definitions',
    summary: 'Count the definitions a filter matches',
    permissions: read,
    query: definitionCountQuerySchema,
    success: { status: 200, description: 'How many match.', schema: ref('Count') },
    errors: ['InvalidRequest'],
  },
  // A literal path beside /definitions/:id: no method of that path is POST, and ids are UUIDs.
  inputCheck: {
    method: 'post',
    path: '/definitions/input-check',
    operationId: 'checkDefinitionInput',
    tag: 'Definitions',
    summary: 'Check input schemas as a save would, storing nothing',
    description:
      'The problems POST /definitions and PATCH /definitions/:id would refuse with InvalidInputSchema, one item each; `route` gives the {name}s the route schema may describe. For editors that check while the user types.',
    // It changes nothing and reveals nothing stored: reading definitions is enough.
    permissions: read,
    query: emptyQuerySchema,
    body: inputCheckSchema,
    success: {
      status: 200,
      description: 'The problems; an empty list when a save would accept the input.',
      schema: ref('InputCheck'),
    },
    errors: [],
  },
  get: {
    method: 'get',
    path: '/definitions/:id',
    operationId: 'getDefinition',
    tag: 'Definitions',
    summary: 'Read one API definition',
    permissions: read,
    query: emptyQuerySchema,
    success: { status: 200, description: 'The definition.', schema: ref('ApiDefinition') },
    errors: ['NotFound'],
  },
  create: {
    method: 'post',
    path: '/definitions',
    operationId: 'createDefinition',
    tag: 'Definitions',
    summary: 'Define an API: a route bound to a registered action',
    permissions: write,
    query: emptyQuerySchema,
    body: definitionCreateSchema,
    success: { status: 201, description: 'The new definition.', schema: ref('ApiDefinition') },
    errors: [...WRITE_ERRORS, 'InvalidId', 'IdInUse'],
  },
  update: {
    method: 'patch',
    path: '/definitions/:id',
    operationId: 'updateDefinition',
    tag: 'Definitions',
    summary: 'Change a definition (fields left out stay as they are)',
    permissions: write,
    query: emptyQuerySchema,
    body: definitionPatchSchema,
    success: { status: 200, description: 'The definition after the change.', schema: ref('ApiDefinition') },
    errors: [...WRITE_ERRORS, 'NotFound'],
  },
  remove: {
    method: 'delete',
    path: '/definitions/:id',
    operationId: 'deleteDefinition',
    tag: 'Definitions',
    summary: 'Delete a definition',
    permissions: [Permissions.DefinitionDelete],
    query: emptyQuerySchema,
    success: { status: 204, description: 'Deleted.' },
    errors: ['NotFound'],
  },
} as const satisfies Record<string, AdminOperation>;

function filterOf(query: DefinitionFilterQuery): DefinitionFilter {
  const filter: DefinitionFilter = auditFilterOf(query);
  if (query.id !== undefined) filter.id = query.id;
  if (query.name !== undefined) filter.name = query.name;
  if (query.ids !== undefined) filter.ids = idList(query.ids);
  if (query.search !== undefined) filter.search = query.search;
  if (query.route !== undefined) filter.route = query.route;
  if (query.allowedToken !== undefined) filter.allowedToken = query.allowedToken;
  if (query.actionType !== undefined) filter.actionType = query.actionType;
  return filter;
}

export function definitionRoutes(definitions: DefinitionService, actions: ActionRegistry): Router {
  const router = Router();
  const ops = definitionOperations;

  register(router, ops.actions, (_req, res) => {
    res.json({ items: actions.list() });
  });

  register<DefinitionListQuery>(router, ops.list, async (_req, res, { query }) => {
    res.json(await definitions.list(filterOf(query), pageSize(query.limit), query.cursor));
  });

  register<DefinitionFilterQuery>(router, ops.count, async (_req, res, { query }) => {
    res.json({ count: await definitions.count(filterOf(query)) });
  });

  // Before the /definitions/:id routes, so that no later route with that path ever takes it for an id.
  register<NoQuery, InputCheckBody>(router, ops.inputCheck, (_req, res, { body }) => {
    res.json({ problems: inputProblems(body.input, routeParameterNames(body.route ?? '')) });
  });

  register(router, ops.get, async (req, res) => {
    res.json(await definitions.get(req.params.id as string));
  });

  register<NoQuery, DefinitionCreateInput>(router, ops.create, async (req, res, { body }) => {
    res.status(201).json(await definitions.create(body, adminState(req)));
  });

  register<NoQuery, DefinitionPatch>(router, ops.update, async (req, res, { body }) => {
    res.json(await definitions.update(req.params.id as string, body, adminState(req)));
  });

  register(router, ops.remove, async (req, res) => {
    await definitions.delete(req.params.id as string, adminState(req));
    res.status(204).end();
  });

  return router;
}
