// The /tokens routes of the admin router: validation, permissions and status codes around TokenService.
import { Router } from 'express';
import { Permissions } from '../permissions';
import type {
  TokenCreateInput,
  TokenFilter,
  TokenPatch,
  TokenRotateInput,
  TokenService,
} from '../services/token-service';
import type { ApiToken, ApiTokenWithSecret } from '../types';
import { adminState } from './admin-auth';
import { register, type AdminOperation, type NoQuery } from './operation';
import { ref } from './response-schemas';
import { auditFilterOf, dateParam, idList, pageSize, type AuditQuery } from './query';
import {
  tokenCountQuerySchema,
  tokenCreateSchema,
  tokenListQuerySchema,
  tokenPatchSchema,
  tokenRotateSchema,
  emptyQuerySchema,
} from '../domain/schemas';

interface TokenFilterQuery extends AuditQuery {
  id?: string;
  name?: string;
  isDisabled?: boolean;
  ids?: string;
  search?: string;
  scope?: string;
  expired?: boolean;
  expiresAtFrom?: string;
  expiresAtTo?: string;
  unusedSince?: string;
}

type TokenListQuery = TokenFilterQuery & { limit?: number; cursor?: string };

// The service's reasons; operationReasons() adds those of the steps before the handler.
const FIELD_ERRORS = [
  'InvalidName',
  'InvalidSecret',
  'InvalidRateLimit',
  'InvalidExpiresAt',
  'InvalidScopes',
  'InvalidMetadata',
] as const;

/** The /tokens operations: routes, permissions and schemas in one place (the OpenAPI document reads them too). */
export const tokenOperations = {
  list: {
    method: 'get',
    path: '/tokens',
    operationId: 'listTokens',
    tag: 'Tokens',
    summary: 'List tokens, newest first, filtered and paged',
    permissions: [Permissions.TokenRead],
    query: tokenListQuerySchema,
    success: { status: 200, description: 'One page of tokens.', schema: ref('ApiTokenPage') },
    errors: ['InvalidRequest'], // a forged cursor, a time that names no day
  },
  count: {
    method: 'get',
    path: '/tokens/count',
    operationId: 'countTokens',
    tag: 'Tokens',
    summary: 'Count the tokens a filter matches',
    permissions: [Permissions.TokenRead],
    query: tokenCountQuerySchema,
    success: { status: 200, description: 'How many match.', schema: ref('Count') },
    errors: ['InvalidRequest'],
  },
  get: {
    method: 'get',
    path: '/tokens/:id',
    operationId: 'getToken',
    tag: 'Tokens',
    summary: 'Read one token',
    permissions: [Permissions.TokenRead],
    query: emptyQuerySchema,
    success: { status: 200, description: 'The token.', schema: ref('ApiToken') },
    errors: ['NotFound'],
  },
  create: {
    method: 'post',
    path: '/tokens',
    operationId: 'createToken',
    tag: 'Tokens',
    summary: 'Create a token',
    description: 'Without `secret` the server generates one and returns it in this answer only.',
    permissions: [Permissions.TokenCreateUpdate],
    query: emptyQuerySchema,
    body: tokenCreateSchema,
    success: {
      status: 201,
      description: 'The new token; with `secret` when the server generated it.',
      schema: { anyOf: [ref('ApiTokenWithSecret'), ref('ApiToken')] },
    },
    errors: [...FIELD_ERRORS, 'InvalidId', 'IdInUse'],
  },
  update: {
    method: 'patch',
    path: '/tokens/:id',
    operationId: 'updateToken',
    tag: 'Tokens',
    summary: 'Change a token (fields left out stay as they are)',
    permissions: [Permissions.TokenCreateUpdate],
    query: emptyQuerySchema,
    body: tokenPatchSchema,
    success: { status: 200, description: 'The token after the change.', schema: ref('ApiToken') },
    errors: [...FIELD_ERRORS, 'NotFound'],
  },
  rotate: {
    method: 'post',
    path: '/tokens/:id/rotate',
    operationId: 'rotateToken',
    tag: 'Tokens',
    summary: 'Give a token a new secret, optionally with a grace period for the old one',
    permissions: [Permissions.TokenCreateUpdate],
    query: emptyQuerySchema,
    body: tokenRotateSchema,
    success: {
      status: 200,
      description: 'The token; with `secret` when the server generated it.',
      schema: { anyOf: [ref('ApiTokenWithSecret'), ref('ApiToken')] },
    },
    errors: ['InvalidSecret', 'InvalidPreviousSecretExpiresAt', 'NotFound'],
  },
  remove: {
    method: 'delete',
    path: '/tokens/:id',
    operationId: 'deleteToken',
    tag: 'Tokens',
    summary: 'Delete a token that no definition allows',
    permissions: [Permissions.TokenDelete],
    query: emptyQuerySchema,
    success: { status: 204, description: 'Deleted.' },
    errors: ['NotFound', 'TokenInUse'],
  },
} as const satisfies Record<string, AdminOperation>;

function filterOf(query: TokenFilterQuery): TokenFilter {
  const filter: TokenFilter = auditFilterOf(query);
  if (query.id !== undefined) filter.id = query.id;
  if (query.name !== undefined) filter.name = query.name;
  if (query.ids !== undefined) filter.ids = idList(query.ids);
  if (query.search !== undefined) filter.search = query.search;
  if (query.scope !== undefined) filter.scope = query.scope;
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
  const ops = tokenOperations;

  register<TokenListQuery>(router, ops.list, async (_req, res, { query }) => {
    res.json(await tokens.list(filterOf(query), pageSize(query.limit), query.cursor));
  });

  register<TokenFilterQuery>(router, ops.count, async (_req, res, { query }) => {
    res.json({ count: await tokens.count(filterOf(query)) });
  });

  register(router, ops.get, async (req, res) => {
    res.json(await tokens.get(req.params.id as string));
  });

  register<NoQuery, TokenCreateInput>(router, ops.create, async (req, res, { body }) => {
    const { token, generatedSecret } = await tokens.create(body, adminState(req));
    res.status(201).json(withSecret(token, generatedSecret));
  });

  register<NoQuery, TokenPatch>(router, ops.update, async (req, res, { body }) => {
    res.json(await tokens.update(req.params.id as string, body, adminState(req)));
  });

  register<NoQuery, TokenRotateInput>(router, ops.rotate, async (req, res, { body }) => {
    const { token, generatedSecret } = await tokens.rotate(req.params.id as string, body, adminState(req));
    res.json(withSecret(token, generatedSecret));
  });

  register(router, ops.remove, async (req, res) => {
    await tokens.delete(req.params.id as string, adminState(req));
    res.status(204).end();
  });

  return router;
}
