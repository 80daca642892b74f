// The /tokens routes of the admin router: validation, permissions and status codes around TokenService.
import { Router } from 'express';
import { Permissions } from '../permissions';
import type { TokenCreateInput, TokenFilter, TokenPatch, TokenRotateInput, TokenService } from '../services/token-service';
import type { ApiToken, ApiTokenWithSecret } from '../types';
import { adminState, requirePermissions } from './admin-auth';
import { auditFilterOf, dateParam, idList, pageSize, type AuditQuery } from './query';
import { tokenCountQuerySchema, tokenCreateSchema, tokenListQuerySchema, tokenPatchSchema, tokenRotateSchema, emptyQuerySchema } from './schemas';
import { bodyValidator, queryValidator } from './validate';

interface TokenFilterQuery extends AuditQuery {
  id?: string;
  name?: string;
  isDisabled?: boolean;
  ids?: string;
  search?: string;
  expired?: boolean;
  expiresAtFrom?: string;
  expiresAtTo?: string;
  unusedSince?: string;
}

const validateCreate = bodyValidator<TokenCreateInput>(tokenCreateSchema);
const validatePatch = bodyValidator<TokenPatch>(tokenPatchSchema);
const validateRotate = bodyValidator<TokenRotateInput>(tokenRotateSchema);
const validateList = queryValidator<TokenFilterQuery & { limit?: number; cursor?: string }>(tokenListQuerySchema);
const validateCount = queryValidator<TokenFilterQuery>(tokenCountQuerySchema);
const validateNoQuery = queryValidator<Record<string, never>>(emptyQuerySchema);

function filterOf(query: TokenFilterQuery): TokenFilter {
  const filter: TokenFilter = auditFilterOf(query);
  if (query.id !== undefined) filter.id = query.id;
  if (query.name !== undefined) filter.name = query.name;
  if (query.ids !== undefined) filter.ids = idList(query.ids);
  if (query.search !== undefined) filter.search = query.search;
  if (query.isDisabled !== undefined) filter.isDisabled = query.isDisabled;
  if (query.expired !== undefined) filter.expired = query.expired;
  const expiresAtFrom = dateParam(query.expiresAtFrom, 'expiresAtFrom');
  if (expiresAtFrom) filter.expiresAtFrom = expiresAtFrom;
  const expiresAtTo = dateParam(query.expiresAtTo, 'expiresAtTo');
  if (expiresAtTo) filter.expiresAtTo = expiresAtTo;
  const unusedSince = dateParam(query.unusedSince, 'unusedSince');
  if (unusedSince) filter.unusedSince = unusedSince;
  return filter;
}

function withSecret(token: ApiToken, secret: string | undefined): ApiToken | ApiTokenWithSecret {
  return secret === undefined ? token : { ...token, secret };
}

export function tokenRoutes(tokens: TokenService): Router {
  const router = Router();
  const read = requirePermissions(Permissions.TokenRead);
  const write = requirePermissions(Permissions.TokenCreateUpdate);
  const remove = requirePermissions(Permissions.TokenDelete);

  router.get('/tokens', read, async (req, res) => {
    const query = validateList(req.query);
    res.json(await tokens.list(filterOf(query), pageSize(query.limit), query.cursor));
  });

  router.get('/tokens/count', read, async (req, res) => {
    res.json({ count: await tokens.count(filterOf(validateCount(req.query))) });
  });

  router.get('/tokens/:id', read, async (req, res) => {
    validateNoQuery(req.query);
    res.json(await tokens.get(req.params.id as string));
  });

  router.post('/tokens', write, async (req, res) => {
    validateNoQuery(req.query);
    const input = validateCreate(req.body);
    const { token, generatedSecret } = await tokens.create(input, adminState(req));
    res.status(201).json(withSecret(token, generatedSecret));
  });

  router.patch('/tokens/:id', write, async (req, res) => {
    const id = req.params.id as string;
    validateNoQuery(req.query, id);
    res.json(await tokens.update(id, validatePatch(req.body, id), adminState(req)));
  });

  router.post('/tokens/:id/rotate', write, async (req, res) => {
    const id = req.params.id as string;
    validateNoQuery(req.query, id);
    const { token, generatedSecret } = await tokens.rotate(id, validateRotate(req.body, id), adminState(req));
    res.json(withSecret(token, generatedSecret));
  });

  router.delete('/tokens/:id', remove, async (req, res) => {
    const id = req.params.id as string;
    validateNoQuery(req.query, id);
    await tokens.delete(id, adminState(req));
    res.status(204).end();
  });

  return router;
}
