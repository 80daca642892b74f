// GET /me, /openapi.json and /openapi/apis.json of the admin router: who is signed in, and what the APIs look like.
import { Router } from 'express';
import type { ActionRegistry } from '../actions/registry';
import { Permissions } from '../permissions';
import type { DefinitionService } from '../services/definition-service';
import { adminState } from './admin-auth';
import { backupOperations } from './backup-routes';
import { definitionOperations } from './definition-routes';
import { eventOperations } from './event-routes';
import { usageOperations } from './usage-routes';
import { explainOperations } from './explain-route';
import { adminOpenApiDocument } from './openapi';
import { apisOpenApiDocument } from './openapi-apis';
import { register, type AdminOperation } from './operation';
import { ref } from './response-schemas';
import { emptyQuerySchema } from '../domain/schemas';
import { tokenOperations } from './token-routes';

const OPENAPI_DOCUMENT = ref('OpenApiDocument');

export const referenceOperations = {
  me: {
    method: 'get',
    path: '/me',
    operationId: 'getMe',
    tag: 'Session',
    summary: 'The signed-in admin user and their permissions',
    description: 'So that a client (the admin UI) offers only what the user may do.',
    permissions: [],
    query: emptyQuerySchema,
    success: {
      status: 200,
      description: "The user as the host's authenticateAdmin resolved it.",
      schema: ref('AdminUser'),
    },
    errors: [],
  },
  adminDocument: {
    method: 'get',
    path: '/openapi.json',
    operationId: 'getAdminOpenApi',
    tag: 'Reference',
    summary: 'The admin REST API as an OpenAPI 3.1 document',
    permissions: [],
    query: emptyQuerySchema,
    success: {
      status: 200,
      description: 'The document; its server URL is where the admin router is mounted.',
      schema: OPENAPI_DOCUMENT,
    },
    errors: ['InvalidRequest'],
  },
  apisDocument: {
    method: 'get',
    path: '/openapi/apis.json',
    operationId: 'getApisOpenApi',
    tag: 'Reference',
    summary: 'The user-defined APIs as defined now, in OpenAPI 3.1',
    description:
      'Paths with their parameters, methods, bearer security and error bodies, for the consumers of the APIs.',
    permissions: [Permissions.DefinitionRead],
    query: emptyQuerySchema,
    success: {
      status: 200,
      description: "The document; its server URL is the endpoint's base path.",
      schema: OPENAPI_DOCUMENT,
    },
    errors: ['InvalidRequest'],
  },
} as const satisfies Record<string, AdminOperation>;

/** Every admin operation, in the order the document lists them. */
export const ADMIN_OPERATIONS: readonly AdminOperation[] = [
  ...Object.values(tokenOperations),
  ...Object.values(definitionOperations),
  ...Object.values(eventOperations),
  ...Object.values(usageOperations),
  ...Object.values(explainOperations),
  ...Object.values(backupOperations),
  ...Object.values(referenceOperations),
];

export function referenceRoutes(
  definitions: DefinitionService,
  actions: ActionRegistry,
  endpointBasePath: string,
): Router {
  const router = Router();
  register(router, referenceOperations.me, (req, res) => {
    const { user } = adminState(req);
    res.json({ name: user.name, permissions: user.permissions });
  });
  register(router, referenceOperations.adminDocument, (req, res) => {
    res.json(adminOpenApiDocument(ADMIN_OPERATIONS, req.baseUrl));
  });
  register(router, referenceOperations.apisDocument, async (_req, res) => {
    res.json(apisOpenApiDocument(await definitions.all(), endpointBasePath, actions.list()));
  });
  return router;
}
