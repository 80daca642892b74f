// Builds the OpenAPI 3.1 document of the admin REST API from the operations the routers register, never a second copy.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ErrorReasons, type ErrorReason } from '../errors';
import type { AdminOperation, JsonSchema } from './operation';
import { RESPONSE_SCHEMAS, ref } from './response-schemas';

/** The package's version, for `info.version`: package.json sits two levels up from both src/http and dist/http. */
export const PACKAGE_VERSION: string = (JSON.parse(readFileSync(path.join(__dirname, '..', '..', 'package.json'), 'utf8')) as { version: string }).version;

/** Reasons any authenticated operation may answer, whatever it does. */
const COMMON_ERRORS: readonly ErrorReason[] = ['Unauthenticated', 'InternalError', 'ServiceUnavailable'];

const TAGS = [
  { name: 'Tokens', description: 'API tokens: the bearer secrets consumers call with.' },
  { name: 'Definitions', description: 'API definitions: routes bound to registered actions.' },
  { name: 'Actions', description: 'The handlers and procedures the host registered.' },
  { name: 'Events', description: 'Information events of tokens and definitions.' },
  { name: 'Explain', description: 'Why a call would be accepted or refused.' },
  { name: 'Backup', description: 'Export and import of every token and definition.' },
  { name: 'Session', description: 'The signed-in admin user.' },
  { name: 'Reference', description: 'These documents.' },
];

/** `/tokens/:id` → `/tokens/{id}` and its path parameters. */
function pathOf(expressPath: string): { path: string; names: string[] } {
  const names: string[] = [];
  const converted = expressPath.replace(/:([A-Za-z_][A-Za-z0-9_]*)/g, (_match, name: string) => {
    names.push(name);
    return `{${name}}`;
  });
  return { path: converted, names };
}

/** A schema property split into the parameter's description and its schema. */
function queryParameters(schema: JsonSchema | undefined): object[] {
  const properties = (schema?.properties ?? {}) as Record<string, JsonSchema>;
  const required = new Set((schema?.required ?? []) as string[]);
  return Object.entries(properties).map(([name, property]) => {
    const { description, ...rest } = property as { description?: string } & Record<string, unknown>;
    return { name, in: 'query', required: required.has(name), ...(description ? { description } : {}), schema: rest };
  });
}

function errorResponses(operation: AdminOperation): Record<string, object> {
  const reasons = new Set<ErrorReason>([...operation.errors, ...COMMON_ERRORS]);
  if (operation.permissions.length > 0) reasons.add('MissingPermission');
  const byStatus = new Map<number, ErrorReason[]>();
  for (const reason of reasons) {
    const { status } = ErrorReasons[reason];
    byStatus.set(status, [...(byStatus.get(status) ?? []), reason]);
  }
  const responses: Record<string, object> = {};
  for (const [status, list] of [...byStatus].sort(([a], [b]) => a - b)) {
    responses[String(status)] = {
      description: list.sort().map((reason) => `${reason}: ${ErrorReasons[reason].description}`).join('\n\n'),
      content: { 'application/json': { schema: ref('AdminErrorBody') } },
    };
  }
  return responses;
}

function operationObject(operation: AdminOperation, pathNames: string[]): object {
  const permissions = operation.permissions.length > 0 ? `Needs ${operation.permissions.join(' and ')}.` : '';
  const description = [operation.description, permissions].filter(Boolean).join('\n\n');
  const { success } = operation;
  const bodyRequired = ((operation.body?.required ?? []) as string[]).length > 0 || '$ref' in (operation.body ?? {});
  return {
    operationId: operation.operationId,
    tags: [operation.tag],
    summary: operation.summary,
    ...(description ? { description } : {}),
    'x-permissions': [...operation.permissions],
    parameters: [
      ...pathNames.map((name) => ({ name, in: 'path', required: true, schema: { type: 'string' } })),
      ...queryParameters(operation.query),
    ],
    ...(operation.body ? { requestBody: { required: bodyRequired, content: { 'application/json': { schema: operation.body } } } } : {}),
    responses: {
      [String(success.status)]: {
        description: success.description,
        ...(success.schema ? { content: { [success.contentType ?? 'application/json']: { schema: success.schema } } } : {}),
      },
      ...errorResponses(operation),
    },
  };
}

/**
 * The admin API's document. `serverUrl` is where the admin router is mounted (req.baseUrl), so the paths work
 * wherever the host put it.
 */
export function adminOpenApiDocument(operations: readonly AdminOperation[], serverUrl: string): object {
  const paths: Record<string, Record<string, object>> = {};
  for (const operation of operations) {
    const { path: openApiPath, names } = pathOf(operation.path);
    paths[openApiPath] ??= {};
    paths[openApiPath][operation.method] = operationObject(operation, names);
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'User-defined APIs: admin REST API',
      version: PACKAGE_VERSION,
      description: 'Manage the API tokens and API definitions of the user-defined APIs. The host application authenticates '
        + 'every request (its authenticateAdmin); each operation lists the permissions it needs (`x-permissions`). Unknown '
        + 'fields and query parameters are refused. Errors are `{ errors: [{ reason, message, ... }] }`.',
    },
    servers: [{ url: serverUrl === '' ? '/' : serverUrl }],
    tags: TAGS,
    paths,
    components: { schemas: RESPONSE_SCHEMAS },
  };
}
