// The /definitions and /actions routes of the admin router: validation, permissions and status codes.
import { Router } from 'express';
import type { ActionRegistry } from '../actions/registry';
import { Permissions } from '../permissions';
import type { DefinitionCreateInput, DefinitionFilter, DefinitionPatch, DefinitionService } from '../services/definition-service';
import type { ActionType } from '../types';
import { adminState, requirePermissions } from './admin-auth';
import { auditFilterOf, idList, pageSize, type AuditQuery } from './query';
import { definitionCountQuerySchema, definitionCreateSchema, definitionListQuerySchema, definitionPatchSchema, emptyQuerySchema } from './schemas';
import { bodyValidator, queryValidator } from './validate';

interface DefinitionFilterQuery extends AuditQuery {
  id?: string;
  name?: string;
  route?: string;
  allowedToken?: string;
  actionType?: ActionType;
  ids?: string;
  search?: string;
}

const validateCreate = bodyValidator<DefinitionCreateInput>(definitionCreateSchema);
const validatePatch = bodyValidator<DefinitionPatch>(definitionPatchSchema);
const validateList = queryValidator<DefinitionFilterQuery & { limit?: number; cursor?: string }>(definitionListQuerySchema);
const validateCount = queryValidator<DefinitionFilterQuery>(definitionCountQuerySchema);
const validateNoQuery = queryValidator<Record<string, never>>(emptyQuerySchema);

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
  const read = requirePermissions(Permissions.DefinitionRead);
  // Defining an API decides which action consumers may run, so it also needs the right to run actions.
  const write = requirePermissions(Permissions.DefinitionCreateUpdate, Permissions.ActionExecute);
  const remove = requirePermissions(Permissions.DefinitionDelete);

  router.get('/actions', read, (req, res) => {
    validateNoQuery(req.query);
    res.json({ items: actions.list() });
  });

  router.get('/definitions', read, async (req, res) => {
    const query = validateList(req.query);
    res.json(await definitions.list(filterOf(query), pageSize(query.limit), query.cursor));
  });

  router.get('/definitions/count', read, async (req, res) => {
    res.json({ count: await definitions.count(filterOf(validateCount(req.query))) });
  });

  router.get('/definitions/:id', read, async (req, res) => {
    validateNoQuery(req.query);
    res.json(await definitions.get(req.params.id as string));
  });

  router.post('/definitions', write, async (req, res) => {
    validateNoQuery(req.query);
    res.status(201).json(await definitions.create(validateCreate(req.body), adminState(req)));
  });

  router.patch('/definitions/:id', write, async (req, res) => {
    const id = req.params.id as string;
    validateNoQuery(req.query, id);
    res.json(await definitions.update(id, validatePatch(req.body, id), adminState(req)));
  });

  router.delete('/definitions/:id', remove, async (req, res) => {
    const id = req.params.id as string;
    validateNoQuery(req.query, id);
    await definitions.delete(id, adminState(req));
    res.status(204).end();
  });

  return router;
}
