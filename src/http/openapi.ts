// Builds the OpenAPI 3.1 document of the admin REST API from the operations the routers register, never a second copy.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ErrorReasons, type ErrorReason } from '../errors';
import { operationReasons, type AdminOperation, type JsonSchema } from './operation';
import { RESPONSE_SCHEMAS, ref } from './response-schemas';

/** package.json sits two levels up from both src/http and dist/http. */
const PACKAGE = JSON.parse(readFileSync(path.join(__dirname, '..', '..', 'package.json'), 'utf8')) as {
  version: string;
  license: string;
};

/** The package's version, for `info.version`. */
export const PACKAGE_VERSION: string = PACKAGE.version;

/**
 * The host authenticates admin requests with its own authenticateAdmin, whatever it checks (HTTP Basic, a session
 * cookie, a proxy's header). OpenAPI has no scheme for "whatever the host does": this one stands for it, in the
 * header that most schemes use, and `x-authenticated-by` says so to tools and readers.
 */
const HOST_SECURITY_SCHEME = {
  type: 'apiKey',
  in: 'header',
  name: 'Authorization',
  description:
    "The host application authenticates every request with its own authenticateAdmin: send what it expects (the example app: HTTP Basic in Authorization; other hosts may use a session cookie or a proxy's header). Without an admin user: 401 Unauthenticated.",
  'x-authenticated-by': 'host',
} as const;

const TAGS = [
  { name: 'Tokens', description: 'API tokens: the bearer secrets consumers call with.' },
  { name: 'Definitions', description: 'API definitions: routes bound to registered actions.' },
  { name: 'Actions', description: 'The handlers and procedures the host registered.' },
  { name: 'Events', description: 'Information events of tokens and definitions.' },
  { name: 'Usage', description: 'Calls per token and API over time, counted by every instance.' },
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

/** One response per error status, with the reasons of that status (`x-error-reasons`, and in prose). */
function errorResponses(operation: AdminOperation): Record<string, object> {
  const reasons = operationReasons(operation);
  const byStatus = new Map<number, ErrorReason[]>();
  for (const reason of reasons) {
    const { status } = ErrorReasons[reason];
    byStatus.set(status, [...(byStatus.get(status) ?? []), reason]);
  }
  const responses: Record<string, object> = {};
  for (const [status, list] of [...byStatus].sort(([a], [b]) => a - b)) {
    list.sort();
    responses[String(status)] = {
      description: list.map((reason) => `${reason}: ${ErrorReasons[reason].description}`).join('\n\n'),
      'x-error-reasons': list,
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
    ...(operation.body
      ? { requestBody: { required: bodyRequired, content: { 'application/json': { schema: operation.body } } } }
      : {}),
    responses: {
      [String(success.status)]: {
        description: success.description,
        ...(success.schema
          ? { content: { [success.contentType ?? 'application/json']: { schema: success.schema } } }
          : {}),
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
      description:
        'Manage the API tokens and API definitions of the user-defined APIs. The host application authenticates ' +
        'every request (its authenticateAdmin, the `host` security scheme); each operation lists the permissions it ' +
        'needs (`x-permissions`). Unknown fields and query parameters are refused. Errors are ' +
        '`{ errors: [{ reason, message, ... }] }`; each error response lists its reasons (`x-error-reasons`), and the ' +
        'first error decides the status. A method or path that no operation takes (OPTIONS included) answers 404 ' +
        'NotFound, or 400 InvalidRequest when an id in the path is not valid percent-encoding; HEAD is answered as ' +
        'GET, without the body.',
      license: { name: PACKAGE.license, identifier: PACKAGE.license },
    },
    servers: [{ url: serverUrl === '' ? '/' : serverUrl }],
    security: [{ host: [] }],
    tags: TAGS,
    paths,
    components: { schemas: RESPONSE_SCHEMAS, securitySchemes: { host: HOST_SECURITY_SCHEME } },
  };
}
