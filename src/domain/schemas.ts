// JSON schemas of every admin request body and query; ajv validates with them (and OpenAPI is generated from them).
import { INPUT_SCHEMA_MAX_BYTES } from './input-schema';
import { MAX_URL_PATH_LENGTH } from './route-grammar';
import { SECRET_CHARACTERS, SECRET_MAX_LENGTH, SECRET_MIN_LENGTH } from './secrets';
import {
  DESCRIPTION_MAX_LENGTH,
  DESCRIPTION_PATTERN,
  GRACE_PERIOD_MAX_DAYS,
  ISO_TIME_PATTERN,
  NAME_MAX_LENGTH,
  NAME_PATTERN,
  OPTIONAL_NAME_PATTERN,
  METADATA_MAX_BYTES,
  RATE_LIMIT_MAX_REQUESTS,
  RATE_LIMIT_MAX_WINDOW_SECONDS,
  SCOPE_MAX_LENGTH,
  SCOPE_PATTERN,
  SCOPES_MAX_COUNT,
  UUID_LIST_PATTERN,
  UUID_PATTERN,
} from './validation-rules';

/**
 * The shape a time must have before a service looks at it: refused here with InvalidRequest, while a time of this
 * shape that breaks ISO_TIME_PATTERN or names no day (month 13) is the service's to refuse with its field's reason.
 */
const TIME_SHAPE = '^\\d{4}-\\d{2}-\\d{2}(T\\d{2}:\\d{2}(:\\d{2}(\\.\\d{1,9})?)?(Z|[+-]\\d{2}:\\d{2})?)?$';

const SHAPES = new WeakMap<object, object>();

/**
 * A field whose rule a service checks (src/domain/validation-rules.ts), with the reason, message and object id it
 * gives, for the admin API and the command line alike, and every problem of a request at once. The document states
 * `rule`, built from the same constants as the service's check, so schema-driven clients and the server agree;
 * the admin API's ajv checks only `shape` (see {@link requestShape}) before the service runs.
 */
function ruled<Rule extends object>(rule: Rule, shape: object): Rule {
  SHAPES.set(rule, shape);
  return rule;
}

/** The schema ajv checks a request with: `schema` with each {@link ruled} field cut down to the shape it must have. */
export function requestShape(schema: object): object {
  const shape = SHAPES.get(schema);
  if (shape) return shape;
  if (Array.isArray(schema)) return schema.map((item: unknown) => (isObject(item) ? requestShape(item) : item));
  return Object.fromEntries(
    Object.entries(schema).map(([key, value]) => [key, isObject(value) ? requestShape(value) : value]),
  );
}

function isObject(value: unknown): value is object {
  return typeof value === 'object' && value !== null;
}

const text = (maxLength: number) => ({ type: 'string', maxLength }) as const;
const isoTime = (description?: string) =>
  ({ type: 'string', pattern: ISO_TIME_PATTERN, ...(description ? { description } : {}) }) as const;

/** Filters that every list of tokens or definitions has besides its own fields. */
const lookupFilters = (searched: string) =>
  ({
    ids: {
      type: 'string',
      pattern: UUID_LIST_PATTERN,
      description: 'Up to 100 comma-separated ids: those objects only.',
    },
    search: {
      type: 'string',
      minLength: 1,
      maxLength: 200,
      description: `Objects whose ${searched} contains this text, ignoring case.`,
    },
  }) as const;

const rateLimitObject = {
  type: 'object',
  additionalProperties: false,
  required: ['limit', 'windowSeconds'],
  properties: {
    limit: { type: 'integer', minimum: 1, maximum: RATE_LIMIT_MAX_REQUESTS },
    windowSeconds: { type: 'integer', minimum: 1, maximum: RATE_LIMIT_MAX_WINDOW_SECONDS },
  },
} as const;

export const rateLimitSchema = ruled(
  {
    description: 'At most `limit` requests in any rolling `windowSeconds`; null means unlimited.',
    anyOf: [rateLimitObject, { type: 'null' }],
  } as const,
  {
    anyOf: [
      {
        ...rateLimitObject,
        properties: { limit: { type: 'integer' }, windowSeconds: { type: 'integer' } },
      },
      { type: 'null' },
    ],
  },
);

export const expiresAtSchema = ruled(
  {
    description:
      'An ISO-8601 date, or date and time (UTC without an offset), after which the secret is refused; null: never.',
    anyOf: [isoTime(), { type: 'null' }],
  } as const,
  { anyOf: [{ type: 'string', pattern: TIME_SHAPE }, { type: 'null' }] },
);

/** A list of scopes (a token's, or those a definition requires): checked by scopesProblem with its reason. */
const scopeList = (description: string) =>
  ruled(
    {
      type: 'array',
      maxItems: SCOPES_MAX_COUNT,
      uniqueItems: true,
      items: { type: 'string', pattern: SCOPE_PATTERN, maxLength: SCOPE_MAX_LENGTH },
      description: `${description} At most ${SCOPES_MAX_COUNT}, each 1-${SCOPE_MAX_LENGTH} characters of a-z 0-9 : . _ -; a scope listed twice is refused.`,
    } as const,
    { type: 'array', items: { type: 'string' } },
  );

const tokenScopes = scopeList(
  'What the token may do; a definition may require some (securitySettings.requiredScopes).',
);

export const metadataSchema = ruled(
  {
    description: `The admin's own JSON object about the token, at most ${METADATA_MAX_BYTES} bytes as JSON; no key, at any depth, starts with $, contains . or NUL, or is __proto__. null: none.`,
    anyOf: [{ type: 'object' }, { type: 'null' }],
  } as const,
  { anyOf: [{ type: 'object' }, { type: 'null' }] },
);

const tokenName = ruled(
  {
    type: 'string',
    maxLength: NAME_MAX_LENGTH,
    pattern: NAME_PATTERN,
    description: `Not empty or white space only; at most ${NAME_MAX_LENGTH} characters, no control characters, line separators or bidi overrides.`,
  } as const,
  { type: 'string' },
);

const secretRule = {
  type: 'string',
  minLength: SECRET_MIN_LENGTH,
  maxLength: SECRET_MAX_LENGTH,
  pattern: `^[${SECRET_CHARACTERS}]*$`,
} as const;

const newId = ruled(
  { type: 'string', pattern: UUID_PATTERN, description: 'A UUID; generated when left out.' } as const,
  { type: 'string', maxLength: 100 },
);

export const tokenCreateSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['name'],
  properties: {
    id: newId,
    name: tokenName,
    secret: ruled({ ...secretRule, description: 'Left out: the server generates one and returns it once.' } as const, {
      type: 'string',
    }),
    isDisabled: { type: 'boolean' },
    rateLimit: rateLimitSchema,
    expiresAt: expiresAtSchema,
    scopes: tokenScopes,
    metadata: metadataSchema,
  },
} as const;

export const tokenPatchSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    name: tokenName,
    secret: ruled(
      {
        type: 'string',
        maxLength: SECRET_MAX_LENGTH,
        pattern: `^(?:[${SECRET_CHARACTERS}]{${SECRET_MIN_LENGTH},${SECRET_MAX_LENGTH}})?$`,
        description: 'Non-empty: rotate to this secret. Empty: keep the current one.',
      } as const,
      { type: 'string' },
    ),
    isDisabled: { type: 'boolean' },
    rateLimit: rateLimitSchema,
    expiresAt: expiresAtSchema,
    scopes: tokenScopes,
    metadata: metadataSchema,
    previousSecretExpiresAt: {
      type: 'null',
      description: "null ends a rotation's grace period now: the previous secret stops working.",
    },
  },
} as const;

export const tokenRotateSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    secret: ruled({ ...secretRule, description: 'Left out: the server generates one and returns it once.' } as const, {
      type: 'string',
    }),
    previousSecretExpiresAt: ruled(
      isoTime(
        `ISO-8601 time (in the future, at most ${GRACE_PERIOD_MAX_DAYS} days ahead) until which the secret being replaced keeps working too; left out: it stops at once.`,
      ),
      { type: 'string', pattern: TIME_SHAPE },
    ),
  },
} as const;

const paging = {
  limit: { type: 'integer', minimum: 1, maximum: 500, description: 'Page size, default 100.' },
  cursor: { type: 'string', maxLength: 200, description: 'The nextCursor of the previous page.' },
} as const;

const auditFilters = {
  createdBy: text(1000),
  lastModifiedBy: text(1000),
  createdAtFrom: isoTime('Created at or after this time.'),
  createdAtTo: isoTime('Created before this time.'),
  lastModifiedFrom: isoTime('Last modified at or after this time.'),
  lastModifiedTo: isoTime('Last modified before this time.'),
} as const;

const tokenFilters = {
  id: { type: 'string', pattern: UUID_PATTERN },
  name: text(1000),
  isDisabled: { type: 'boolean' },
  scope: { type: 'string', maxLength: SCOPE_MAX_LENGTH, description: 'Tokens that carry this scope.' },
  expired: { type: 'boolean', description: 'true: tokens whose expiry has passed; false: the others.' },
  expiresAtFrom: isoTime('Tokens that expire at or after this time.'),
  expiresAtTo: isoTime('Tokens that expire before this time.'),
  unusedSince: isoTime('Tokens with no successful call since this time (never used ones included).'),
  ...lookupFilters('name'),
  ...auditFilters,
} as const;

export const tokenListQuerySchema = {
  type: 'object',
  additionalProperties: false,
  properties: { ...tokenFilters, ...paging },
} as const;

export const tokenCountQuerySchema = {
  type: 'object',
  additionalProperties: false,
  properties: tokenFilters,
} as const;

/** One part of a definition's input: a JSON Schema, checked by inputProblems (domain/input-schema.ts). */
const inputPart = (describes: string) =>
  ({ type: ['object', 'boolean'], description: `A JSON Schema (draft 2020-12) of ${describes}.` }) as const;

const actionMetaSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['name'],
  properties: {
    name: {
      type: 'string',
      maxLength: 200,
      description: 'A registered handler (actionType handler) or procedure (actionType procedure).',
    },
    inputType: { enum: ['rawBody', 'parameters'], description: 'Handlers only; default rawBody.' },
  },
} as const;

const definitionFields = {
  name: ruled(
    {
      type: ['string', 'null'],
      maxLength: NAME_MAX_LENGTH,
      pattern: OPTIONAL_NAME_PATTERN,
      description: `Empty or null: no name. Else not white space only; at most ${NAME_MAX_LENGTH} characters, no control characters, line separators or bidi overrides.`,
    } as const,
    { type: ['string', 'null'] },
  ),
  description: ruled(
    {
      type: ['string', 'null'],
      maxLength: DESCRIPTION_MAX_LENGTH,
      pattern: DESCRIPTION_PATTERN,
      description:
        'CommonMark; line feeds and tabs, but no other control characters, line separators or bidi overrides.',
    } as const,
    { type: ['string', 'null'], maxLength: DESCRIPTION_MAX_LENGTH },
  ),
  route: ruled(
    {
      type: 'string',
      minLength: 1,
      maxLength: MAX_URL_PATH_LENGTH - 1,
      description: `The suffix after the base path, e.g. tickets/{id}/status, following the route grammar; base path, slash and route together at most ${MAX_URL_PATH_LENGTH} characters.`,
    } as const,
    { type: 'string', maxLength: 1000 },
  ),
  securitySettings: ruled(
    {
      type: 'object',
      additionalProperties: false,
      required: ['allowedTokens'],
      properties: {
        allowedTokens: {
          type: 'array',
          maxItems: 1000,
          items: { type: 'string', pattern: UUID_PATTERN },
          description: 'Ids of existing tokens.',
        },
        requiredScopes: scopeList(
          'Scopes an allowed token must all carry too, or its calls are refused like a token not allowed; left out: none.',
        ),
      },
    } as const,
    {
      type: 'object',
      additionalProperties: false,
      required: ['allowedTokens'],
      properties: {
        allowedTokens: { type: 'array', maxItems: 1000, items: { type: 'string', maxLength: 100 } },
        requiredScopes: { type: 'array', items: { type: 'string' } },
      },
    },
  ),
  actionType: { enum: ['handler', 'procedure'] },
  actionMeta: actionMetaSchema,
  input: ruled(
    {
      type: ['object', 'null'],
      additionalProperties: false,
      properties: {
        body: inputPart('the JSON body (for parameters handlers and procedures, the flat object)'),
        query: inputPart(
          'the query parameters: an object of texts, a key given twice a list; types declared are coerced',
        ),
        route: inputPart('the route parameters ({name} values): an object of texts; types declared are coerced'),
      },
      description: `What the API takes, checked before its action runs (400, code 18). At most ${INPUT_SCHEMA_MAX_BYTES} bytes as JSON; $ref only inside the schema, no $id; pattern and format need maxLength, uniqueItems maxItems. null: none.`,
    } as const,
    { type: ['object', 'null'] },
  ),
} as const;

export const definitionCreateSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['route', 'actionMeta'],
  properties: {
    id: newId,
    ...definitionFields,
  },
} as const;

export const definitionPatchSchema = {
  type: 'object',
  additionalProperties: false,
  properties: definitionFields,
} as const;

/** POST /definitions/input-check: input schemas checked as a save would check them, nothing stored. */
export const inputCheckSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['input'],
  properties: {
    route: {
      type: 'string',
      maxLength: 1000,
      description: 'The route the schemas are for: the route schema may describe only its {name}s. Left out: none.',
    },
    // Only the shape is checked before the handler: each broken rule is a problem in the answer, not a 400.
    input: ruled(
      {
        type: 'object',
        additionalProperties: false,
        properties: definitionFields.input.properties,
        description: `The input as a definition would hold it; the answer lists what a save would refuse (InvalidInputSchema). At most ${INPUT_SCHEMA_MAX_BYTES} bytes as JSON.`,
      } as const,
      { type: 'object' },
    ),
  },
} as const;

const definitionFilters = {
  id: { type: 'string', pattern: UUID_PATTERN },
  name: text(1000),
  route: { type: 'string', maxLength: 1000, description: 'Exact route, ignoring case.' },
  allowedToken: { type: 'string', pattern: UUID_PATTERN, description: 'Definitions that allow this token.' },
  actionType: { enum: ['handler', 'procedure'] },
  ...lookupFilters('name, route or description'),
  ...auditFilters,
} as const;

export const definitionListQuerySchema = {
  type: 'object',
  additionalProperties: false,
  properties: { ...definitionFilters, ...paging },
} as const;

export const definitionCountQuerySchema = {
  type: 'object',
  additionalProperties: false,
  properties: definitionFilters,
} as const;

export const eventListQuerySchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    objectType: { enum: ['ApiToken', 'ApiDefinition'] },
    objectId: { type: 'string', maxLength: 100 },
    action: { enum: ['created', 'updated', 'deleted'] },
    user: { type: 'string', minLength: 1, maxLength: 1000, description: 'Events of changes made by this admin user.' },
    from: { type: 'string', pattern: TIME_SHAPE, description: 'Events at or after this ISO-8601 time.' },
    to: { type: 'string', pattern: TIME_SHAPE, description: 'Events before this ISO-8601 time.' },
    ...paging,
  },
} as const;

export const usageQuerySchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    tokenId: { type: 'string', pattern: UUID_PATTERN, description: "This token's calls only (needs token read)." },
    definitionId: {
      type: 'string',
      pattern: UUID_PATTERN,
      description: "This API's calls only (needs definition read).",
    },
    bucket: {
      enum: ['minute', 'hour', 'day'],
      description: 'The size of each point: at most 1440 minutes, 744 hours or 366 days per request. Default hour.',
    },
    from: {
      type: 'string',
      pattern: TIME_SHAPE,
      description: 'ISO-8601; default: 60 minutes, 24 hours or 30 days before `to`.',
    },
    to: { type: 'string', pattern: TIME_SHAPE, description: 'ISO-8601; default: now (its bucket included).' },
    groupBy: {
      enum: ['token', 'definition'],
      description: 'Also list the tokens or APIs of the period (at most 100), busiest first.',
    },
    sort: { enum: ['calls', 'refusals'], description: 'How groupBy orders them. Default calls.' },
  },
} as const;

export const explainSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['secret', 'method', 'path'],
  properties: {
    secret: { type: 'string', maxLength: 4096, description: 'The secret a consumer sends; never echoed or logged.' },
    method: { type: 'string', minLength: 1, maxLength: 20 },
    path: {
      type: 'string',
      maxLength: 4096,
      description: 'With the endpoint base path (/api/custom/x) or without it (x); a query string is checked too.',
    },
    body: {
      type: 'string',
      maxLength: 65_536,
      description: "The body the call would send, as text: checked against the API's input as the endpoint would.",
    },
  },
} as const;

const isoDate = { type: 'string', pattern: TIME_SHAPE, maxLength: 40 } as const;
const storedId = ruled({ type: 'string', pattern: UUID_PATTERN } as const, { type: 'string', maxLength: 100 });
const nullable = <T extends object>(schema: T) => ({ anyOf: [schema, { type: 'null' }] }) as const;

/** The outer shape of a backup (GET /export, POST /import); each token and definition is checked on its own. */
export const backupEnvelopeSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['format', 'version', 'exportedAt', 'pepperCheck', 'tokens', 'definitions'],
  properties: {
    format: { const: 'express-user-defined-apis/backup' },
    version: { const: 1 },
    exportedAt: isoDate,
    pepperCheck: {
      type: 'string',
      maxLength: 100,
      description:
        'Tells whether the importer has the same pepper: a salted scrypt of a fixed text under it (scrypt$N$r$p$salt$value; older backups: a keyed hash). Reveals nothing of the pepper.',
    },
    tokens: { type: 'array', maxItems: 1_000_000, items: { type: 'object' } },
    definitions: { type: 'array', maxItems: 1_000_000, items: { type: 'object' } },
  },
} as const;

export const backupTokenSchema = {
  type: 'object',
  additionalProperties: false,
  required: [
    'id',
    'name',
    'isDisabled',
    'rateLimit',
    'expiresAt',
    'secretDigest',
    'secretHash',
    'previousSecretDigest',
    'previousSecretHash',
    'previousSecretExpiresAt',
    'lastUsedAt',
    'createdBy',
    'createdAt',
    'lastModifiedBy',
    'lastModified',
  ],
  properties: {
    id: storedId,
    name: tokenName,
    isDisabled: { type: 'boolean' },
    rateLimit: rateLimitSchema,
    scopes: tokenScopes,
    metadata: metadataSchema,
    start: nullable({
      type: 'string',
      maxLength: 32,
      pattern: `^[${SECRET_CHARACTERS}]*$`,
      description: "The current secret's first characters (absent in older backups: none).",
    }),
    expiresAt: nullable(isoDate),
    secretDigest: {
      type: 'string',
      maxLength: 100,
      description: 'HMAC-SHA256 of the secret under the pepper, base64url.',
    },
    secretHash: { type: 'string', maxLength: 100, description: 'bcrypt hash of the secret.' },
    previousSecretDigest: nullable({ type: 'string', maxLength: 100 }),
    previousSecretHash: nullable({ type: 'string', maxLength: 100 }),
    previousSecretExpiresAt: nullable(isoDate),
    lastUsedAt: nullable(isoDate),
    createdBy: text(1000),
    createdAt: isoDate,
    lastModifiedBy: text(1000),
    lastModified: isoDate,
  },
} as const;

export const backupDefinitionSchema = {
  type: 'object',
  additionalProperties: false,
  required: [
    'id',
    'name',
    'description',
    'route',
    'securitySettings',
    'actionType',
    'actionMeta',
    'createdBy',
    'createdAt',
    'lastModifiedBy',
    'lastModified',
  ],
  properties: {
    id: storedId,
    ...definitionFields,
    createdBy: text(1000),
    createdAt: isoDate,
    lastModifiedBy: text(1000),
    lastModified: isoDate,
  },
} as const;

export const emptyQuerySchema = { type: 'object', additionalProperties: false, properties: {} } as const;
