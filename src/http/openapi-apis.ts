// Builds the OpenAPI 3.1 document of the user-defined APIs as they are defined now: paths, methods, bearer security, errors.
import type { ActionInfo } from '../actions/types';
import { ENDPOINT_METHODS } from '../domain/endpoint-methods';
import { ENDPOINT_ERROR_TITLE, ErrorCodes, type ErrorCodeName } from '../errors';
import type { ApiDefinition } from '../types';
import { PACKAGE_VERSION } from './openapi';

const ENDPOINT_ERROR_BODY = {
  type: 'object',
  required: ['errors'],
  properties: {
    errors: {
      type: 'array',
      items: {
        type: 'object',
        required: ['title', 'detail', 'errorCode', 'faultingNode'],
        properties: {
          title: { const: ENDPOINT_ERROR_TITLE },
          detail: { type: 'string' },
          errorCode: {
            type: 'integer',
            description: 'See the error catalogue; give it to the admin with faultingNode.',
          },
          faultingNode: { type: 'string', description: 'The instance that answered.' },
          missingScriptParameters: {
            type: 'array',
            items: { type: 'string' },
            description: 'Code 16: the body parameters the procedure needs.',
          },
        },
      },
    },
  },
} as const;

/** The error answers a consumer can get on a defined path, by status, each listing its codes. */
function errorResponses(): Record<string, object> {
  const byStatus = new Map<number, ErrorCodeName[]>();
  for (const [name, { status }] of Object.entries(ErrorCodes) as [ErrorCodeName, { status: number }][]) {
    // 405 is for methods the document does not list; every listed method reaches the action. 403 is for host routes.
    if (status === 405 || name === 'InsufficientScope') continue;
    byStatus.set(status, [...(byStatus.get(status) ?? []), name]);
  }
  const responses: Record<string, object> = {};
  for (const [status, names] of [...byStatus].sort(([a], [b]) => a - b)) {
    responses[`Error${status}`] = {
      description: names.map((name) => `${ErrorCodes[name].code}: ${ErrorCodes[name].detail}`).join('\n\n'),
      content: { 'application/json': { schema: { $ref: '#/components/schemas/EndpointErrorBody' } } },
    };
  }
  return responses;
}

/**
 * The path key of a route: literal segments percent-encoded where a URL needs it (the endpoint decodes each
 * segment once, so `/a%20b` reaches the route `a b`), parameters as they are.
 */
function openApiPathOf(route: string): string {
  return `/${route
    .split('/')
    .map((segment) =>
      segment.startsWith('{') && segment.endsWith('}')
        ? segment
        : segment.replace(/[^A-Za-z0-9\-._~!$&'()*+,;=@]/gu, (character) => {
            try {
              return encodeURIComponent(character);
            } catch {
              return character; // a lone surrogate: left as it is, as the route itself has it
            }
          }),
    )
    .join('/')}`;
}

function requestBodyOf(definition: ApiDefinition, action: ActionInfo | undefined): object {
  if (definition.actionType === 'procedure') {
    const parameters = action?.kind === 'procedure' ? (action.parameters ?? []) : [];
    return {
      required: parameters.length > 0,
      description: "A flat JSON object of the procedure's parameters (strings, numbers or booleans).",
      content: {
        'application/json': {
          schema: {
            type: 'object',
            required: parameters,
            properties: Object.fromEntries(parameters.map((name) => [name, { type: ['string', 'number', 'boolean'] }])),
            additionalProperties: { type: ['string', 'number', 'boolean'] },
          },
        },
      },
    };
  }
  if (definition.actionMeta.inputType === 'parameters') {
    return {
      required: false,
      description: 'A flat JSON object; the handler receives its values as strings.',
      content: {
        'application/json': {
          schema: { type: 'object', additionalProperties: { type: ['string', 'number', 'boolean'] } },
        },
      },
    };
  }
  return {
    required: false,
    description: 'Passed to the handler as it is.',
    content: { 'application/json': {}, 'application/xml': {}, 'text/xml': {}, 'text/plain': {} },
  };
}

function successResponses(definition: ApiDefinition): Record<string, object> {
  if (definition.actionType === 'procedure') return { 200: { description: 'The procedure ran. No body.' } };
  return { default: { description: 'What the handler answers: its status code, headers and body.' } };
}

/**
 * The user-defined APIs' document. `basePath` is where the endpoint is mounted; definitions come sorted by
 * route so the document only changes when they do. `actions` tells procedures' required parameters.
 */
export function apisOpenApiDocument(
  definitions: readonly ApiDefinition[],
  basePath: string,
  actions: readonly ActionInfo[],
): object {
  const actionByName = new Map(actions.map((action) => [action.name, action]));
  const errors = errorResponses();
  const errorRefs = Object.fromEntries(
    Object.keys(errors).map((key) => [key.slice('Error'.length), { $ref: `#/components/responses/${key}` }]),
  );
  const paths: Record<string, object> = {};
  for (const definition of [...definitions].sort((a, b) => a.route.localeCompare(b.route))) {
    const parameterNames = [...definition.route.matchAll(/\{([^}]+)\}/g)].map((match) => match[1]!);
    const operations: Record<string, object> = {};
    for (const method of ENDPOINT_METHODS) {
      operations[method.toLowerCase()] = {
        operationId: `${definition.id}-${method.toLowerCase()}`,
        // Linters and generated clients want one on every operation; a definition without a name has its route.
        summary: definition.name ?? `${method} ${definition.route}`,
        requestBody: requestBodyOf(definition, actionByName.get(definition.actionMeta.name)),
        responses: { ...successResponses(definition), ...errorRefs },
      };
    }
    paths[openApiPathOf(definition.route)] = {
      ...(definition.name ? { summary: definition.name } : {}),
      ...(definition.description ? { description: definition.description } : {}),
      parameters: parameterNames.map((name) => ({ name, in: 'path', required: true, schema: { type: 'string' } })),
      ...operations,
    };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'User-defined APIs',
      version: PACKAGE_VERSION,
      description:
        'The APIs defined on this server now. Call them with `Authorization: Bearer <secret>` of a token the API allows. ' +
        "Routes match ignoring case; every listed method reaches the API's action, which decides what it means.",
    },
    servers: [{ url: basePath }],
    security: [{ bearer: [] }],
    paths,
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: "The token's secret." } },
      schemas: { EndpointErrorBody: ENDPOINT_ERROR_BODY },
      responses: errors,
    },
  };
}
