// Builds the OpenAPI 3.1 document of the user-defined APIs as they are defined now: paths, methods, bearer security, errors.
import type { ActionInfo } from '../actions/types';
import { ENDPOINT_METHODS } from '../domain/endpoint-methods';
import { INPUT_PARTS, routeParameterNames, type InputPart } from '../domain/input-schema';
import { MAX_INPUT_PROBLEMS } from '../services/input-check';
import { ENDPOINT_ERROR_TITLE, ErrorCodes, type ErrorCodeName } from '../errors';
import type { ApiDefinition, JsonSchema } from '../types';
import { PACKAGE_VERSION } from './openapi';
import { inputComponentName, placeSchema, referencedComponents } from './openapi-input-schemas';

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
          inputErrors: {
            type: 'array',
            maxItems: MAX_INPUT_PROBLEMS,
            description: `Code 18: how the call breaks the input the API describes, at most ${MAX_INPUT_PROBLEMS} problems.`,
            items: {
              type: 'object',
              required: ['in', 'instancePath', 'message'],
              properties: {
                in: { enum: ['body', 'query', 'route'], description: 'The part of the call.' },
                instancePath: {
                  type: 'string',
                  description: 'A JSON Pointer into that part: "" for all of it, "/name" for one query or route value.',
                },
                message: { type: 'string', description: 'What is wrong there.' },
              },
            },
          },
        },
      },
    },
  },
} as const;

/** Methods whose calls carry a body: the endpoint refuses an empty one when the API describes its body (input-check.ts). */
const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH']);

/** What the document needs to know of one definition. */
interface Described {
  definition: ApiDefinition;
  /** A procedure's declared parameters; none for a handler, or when the action is not registered here. */
  procedureParameters: readonly string[];
  /** The action receives the body as a flat object of parameters (procedures and `parameters` handlers). */
  bodyAsParameters: boolean;
  /** Each part of the input the definition describes, its schema as the document holds it. */
  input: Partial<Record<InputPart, JsonSchema>>;
}

const ERROR_BODY_CONTENT = {
  'application/json': { schema: { $ref: '#/components/schemas/EndpointErrorBody' } },
} as const;

function codeList(names: readonly ErrorCodeName[]): string {
  return names.map((name) => `${ErrorCodes[name].code}: ${ErrorCodes[name].detail}`).join('\n\n');
}

/**
 * The error answers any call to a defined path can get, by status, each listing its codes. 400 is not among them:
 * which of its codes can answer depends on the definition (badRequestOf).
 */
function errorResponses(): Record<string, object> {
  const byStatus = new Map<number, ErrorCodeName[]>();
  for (const [name, { status }] of Object.entries(ErrorCodes) as [ErrorCodeName, { status: number }][]) {
    // 405 is for methods the document does not list; every listed method reaches the action. 403 is for host routes.
    if (status === 405 || status === 400 || name === 'InsufficientScope') continue;
    byStatus.set(status, [...(byStatus.get(status) ?? []), name]);
  }
  const responses: Record<string, object> = {};
  for (const [status, names] of [...byStatus].sort(([a], [b]) => a - b))
    responses[`Error${status}`] = { description: codeList(names), content: ERROR_BODY_CONTENT };
  return responses;
}

/** When each 400 code can answer a call to a definition; a 400 code not named here is listed for every definition. */
const BAD_REQUEST_WHEN: Partial<Record<ErrorCodeName, (described: Described) => boolean>> = {
  EmptyRoute: () => false, // a defined route is never empty
  BodyToParametersConversionFailed: (described) => described.bodyAsParameters,
  MissingScriptParameters: (described) => described.procedureParameters.length > 0,
  InvalidInput: (described) => Object.keys(described.input).length > 0,
};

/** The endpoint's 400 for one definition, listing the codes that can answer its calls; none when no code can. */
function badRequestOf(described: Described): object | undefined {
  const names = (Object.keys(ErrorCodes) as ErrorCodeName[]).filter(
    (name) => ErrorCodes[name].status === 400 && (BAD_REQUEST_WHEN[name]?.(described) ?? true),
  );
  if (names.length === 0) return undefined;
  // A handler chooses its own statuses: a 400 from it has its body, not this one, and OpenAPI has one 400 entry.
  const handlerNote =
    described.definition.actionType === 'procedure'
      ? ''
      : "\n\nThe handler may answer 400 itself, with a body of its own: the endpoint's error body is the one whose " +
        'items carry `title`, `errorCode` and `faultingNode`.';
  return {
    description: `The endpoint refused the call before the action ran:\n\n${codeList(names)}${handlerNote}`,
    content: ERROR_BODY_CONTENT,
  };
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

/** Whether the endpoint refuses a body sent as an empty object: a parameters body that is empty is `{}`. */
function refusesEmptyObject(schema: JsonSchema | undefined): boolean {
  if (schema === false) return true;
  if (typeof schema !== 'object') return false;
  // The plain cases only: a body the schema refuses in some other way is still refused, just not documented as required.
  return (
    (Array.isArray(schema.required) && schema.required.length > 0) ||
    (typeof schema.minProperties === 'number' && schema.minProperties > 0)
  );
}

function requestBodyOf(described: Described, method: string): object {
  const { definition, procedureParameters: parameters } = described;
  const body = definition.input?.body;
  const bodySchema =
    body === undefined ? undefined : { $ref: `#/components/schemas/${inputComponentName(definition.id, 'body')}` };
  if (definition.actionType === 'procedure') {
    const declared = {
      type: 'object',
      required: parameters,
      properties: Object.fromEntries(parameters.map((name) => [name, { type: ['string', 'number', 'boolean'] }])),
      additionalProperties: { type: ['string', 'number', 'boolean'] },
    };
    return {
      // An empty body is {}: it lacks the declared parameters, and passes the input schema only if that allows {}.
      required: parameters.length > 0 || refusesEmptyObject(body),
      description: "A flat JSON object of the procedure's parameters (strings, numbers or booleans).",
      content: { 'application/json': { schema: bodySchema ? { allOf: [declared, bodySchema] } : declared } },
    };
  }
  if (definition.actionMeta.inputType === 'parameters') {
    const flat = { type: 'object', additionalProperties: { type: ['string', 'number', 'boolean'] } };
    return {
      required: refusesEmptyObject(body),
      description: 'A flat JSON object; the handler receives its values as strings.',
      // Both hold: a body that is not flat is refused (code 10) before the input schema is looked at (code 18).
      content: { 'application/json': { schema: bodySchema ? { allOf: [flat, bodySchema] } : flat } },
    };
  }
  if (bodySchema)
    return {
      // Only these methods are refused an empty body; a GET or DELETE without one passes.
      required: BODY_METHODS.has(method),
      description: 'JSON, as the API describes it; passed to the handler as it is.',
      content: { 'application/json': { schema: bodySchema } },
    };
  return {
    required: false,
    description: 'Passed to the handler as it is.',
    content: { 'application/json': {}, 'application/xml': {}, 'text/xml': {}, 'text/plain': {} },
  };
}

function successResponses(definition: ApiDefinition): Record<string, object> {
  if (definition.actionType === 'procedure') return { 200: { description: 'The procedure ran. No body.' } };
  return {
    default: {
      description:
        'What the handler answers: the status code it chooses, its headers and body. Where that status is one listed ' +
        "here too, the body is still the handler's: the endpoint's error body is the one whose items carry `title`, " +
        '`errorCode` and `faultingNode`.',
    },
  };
}

function isSchemaObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * The query parameters an input's query schema names: each property with its schema, required as the schema says.
 * What the schema says beyond its properties (additionalProperties and so on) is still checked, in the schema.
 */
function queryParametersOf(query: JsonSchema | undefined): object[] {
  if (!isSchemaObject(query) || !isSchemaObject(query.properties)) return [];
  const required = Array.isArray(query.required) ? (query.required as unknown[]) : [];
  return Object.entries(query.properties).map(([name, schema]) => {
    const type = isSchemaObject(schema) ? schema.type : undefined;
    const isArray = type === 'array' || (Array.isArray(type) && type.includes('array'));
    return {
      name,
      in: 'query',
      required: required.includes(name),
      // A key given again is a list: `?tag=a&tag=b`.
      ...(isArray ? { style: 'form', explode: true } : {}),
      schema,
    };
  });
}

/** The route's parameters, each with its schema from the input's route schema, or text. */
function pathParametersOf(route: string, routeSchema: JsonSchema | undefined): object[] {
  const properties =
    isSchemaObject(routeSchema) && isSchemaObject(routeSchema.properties) ? routeSchema.properties : {};
  return routeParameterNames(route).map((name) => ({
    name,
    in: 'path',
    required: true,
    schema: Object.prototype.hasOwnProperty.call(properties, name) ? properties[name] : { type: 'string' },
  }));
}

/** A definition's input schemas as the document holds them; what they become under components goes to `candidates`. */
function placeInput(definition: ApiDefinition, candidates: Record<string, JsonSchema>): Described['input'] {
  const placed: Described['input'] = {};
  for (const part of INPUT_PARTS) {
    const schema = definition.input?.[part];
    if (schema === undefined) continue;
    const { root, components } = placeSchema(schema, inputComponentName(definition.id, part));
    placed[part] = root;
    Object.assign(candidates, components);
  }
  return placed;
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
  const candidates: Record<string, JsonSchema> = {};
  const paths: Record<string, object> = {};
  for (const definition of [...definitions].sort((a, b) => a.route.localeCompare(b.route))) {
    const action = actionByName.get(definition.actionMeta.name);
    const described: Described = {
      definition,
      procedureParameters:
        definition.actionType === 'procedure' && action?.kind === 'procedure' ? (action.parameters ?? []) : [],
      bodyAsParameters: definition.actionType === 'procedure' || definition.actionMeta.inputType === 'parameters',
      input: placeInput(definition, candidates),
    };
    const badRequest = badRequestOf(described);
    const operations: Record<string, object> = {};
    for (const method of ENDPOINT_METHODS) {
      operations[method.toLowerCase()] = {
        operationId: `${definition.id}-${method.toLowerCase()}`,
        // Linters and generated clients want one on every operation; a definition without a name has its route.
        summary: definition.name ?? `${method} ${definition.route}`,
        requestBody: requestBodyOf(described, method),
        responses: {
          ...successResponses(definition),
          ...(badRequest ? { 400: badRequest } : {}),
          ...errorRefs,
        },
      };
    }
    paths[openApiPathOf(definition.route)] = {
      summary: definition.name ?? definition.route,
      ...(definition.description ? { description: definition.description } : {}),
      parameters: [
        ...pathParametersOf(definition.route, described.input.route),
        ...queryParametersOf(described.input.query),
      ],
      ...operations,
    };
  }
  const used = referencedComponents(paths, candidates);
  // In the order of the paths, whatever order the references were found in: the document changes only with them.
  const inputSchemas = Object.fromEntries(Object.entries(candidates).filter(([name]) => name in used));
  return {
    openapi: '3.1.0',
    info: {
      title: 'User-defined APIs',
      version: PACKAGE_VERSION,
      description:
        'The APIs defined on this server now. Call them with `Authorization: Bearer <secret>` of a token the API allows. ' +
        "Routes match ignoring case; every listed method reaches the API's action, which decides what it means. " +
        'Where an API describes its input, a call that does not match it is refused (400, code 18) before the action runs.',
    },
    servers: [{ url: basePath }],
    security: [{ bearer: [] }],
    paths,
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: "The token's secret." } },
      schemas: { EndpointErrorBody: ENDPOINT_ERROR_BODY, ...inputSchemas },
      responses: errors,
    },
  };
}
