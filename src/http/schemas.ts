// JSON schemas of every admin request body and query; ajv validates with them (and OpenAPI is generated from them).

const DATE_PATTERN = '^\\d{4}-\\d{2}-\\d{2}(T\\d{2}:\\d{2}(:\\d{2}(\\.\\d{1,9})?)?(Z|[+-]\\d{2}:\\d{2})?)?$';

const UUID_BODY = '[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}';
const UUID_PATTERN = `^${UUID_BODY}$`;

const text = (maxLength: number) => ({ type: 'string', maxLength }) as const;

/** Filters that every list of tokens or definitions has besides its own fields. */
const lookupFilters = (searched: string) => ({
  ids: { type: 'string', pattern: `^${UUID_BODY}(,${UUID_BODY}){0,99}$`, description: 'Up to 100 comma-separated ids: those objects only.' },
  search: { type: 'string', minLength: 1, maxLength: 200, description: `Objects whose ${searched} contains this text, ignoring case.` },
}) as const;

export const rateLimitSchema = {
  description: 'At most `limit` requests in any rolling `windowSeconds`; null means unlimited.',
  anyOf: [
    {
      type: 'object',
      additionalProperties: false,
      required: ['limit', 'windowSeconds'],
      properties: { limit: { type: 'integer' }, windowSeconds: { type: 'integer' } },
    },
    { type: 'null' },
  ],
} as const;

export const expiresAtSchema = {
  description: 'An ISO-8601 date and time after which the secret is refused; null: never.',
  anyOf: [{ type: 'string', pattern: DATE_PATTERN }, { type: 'null' }],
} as const;

export const tokenCreateSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['name'],
  properties: {
    id: { type: 'string', maxLength: 100, description: 'A UUID; generated when left out.' },
    name: text(1000),
    secret: { type: 'string', maxLength: 4096, description: 'Left out: the server generates one and returns it once.' },
    isDisabled: { type: 'boolean' },
    rateLimit: rateLimitSchema,
    expiresAt: expiresAtSchema,
  },
} as const;

export const tokenPatchSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    name: text(1000),
    secret: { type: 'string', maxLength: 4096, description: 'Non-empty: rotate to this secret. Empty: keep the current one.' },
    isDisabled: { type: 'boolean' },
    rateLimit: rateLimitSchema,
    expiresAt: expiresAtSchema,
    previousSecretExpiresAt: { type: 'null', description: 'null ends a rotation\'s grace period now: the previous secret stops working.' },
  },
} as const;

export const tokenRotateSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    secret: { type: 'string', maxLength: 4096, description: 'Left out: the server generates one and returns it once.' },
    previousSecretExpiresAt: {
      type: 'string',
      pattern: DATE_PATTERN,
      description: 'ISO-8601 time (at most 90 days ahead) until which the secret being replaced keeps working too; left out: it stops at once.',
    },
  },
} as const;

const paging = {
  limit: { type: 'integer', minimum: 1, maximum: 500, description: 'Page size, default 100.' },
  cursor: { type: 'string', maxLength: 200, description: 'The nextCursor of the previous page.' },
} as const;

const auditFilters = {
  createdBy: text(1000),
  lastModifiedBy: text(1000),
  createdAtFrom: { type: 'string', pattern: DATE_PATTERN },
  createdAtTo: { type: 'string', pattern: DATE_PATTERN },
  lastModifiedFrom: { type: 'string', pattern: DATE_PATTERN },
  lastModifiedTo: { type: 'string', pattern: DATE_PATTERN },
} as const;

const tokenFilters = {
  id: { type: 'string', pattern: UUID_PATTERN },
  name: text(1000),
  isDisabled: { type: 'boolean' },
  expired: { type: 'boolean', description: 'true: tokens whose expiry has passed; false: the others.' },
  expiresAtFrom: { type: 'string', pattern: DATE_PATTERN },
  expiresAtTo: { type: 'string', pattern: DATE_PATTERN },
  unusedSince: { type: 'string', pattern: DATE_PATTERN, description: 'Tokens with no successful call since this time (never used ones included).' },
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

const actionMetaSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['name'],
  properties: {
    name: { type: 'string', maxLength: 200, description: 'A registered handler (actionType handler) or procedure (actionType procedure).' },
    inputType: { enum: ['rawBody', 'parameters'], description: 'Handlers only; default rawBody.' },
  },
} as const;

const definitionFields = {
  name: { type: ['string', 'null'], maxLength: 1000 },
  description: { type: ['string', 'null'], maxLength: 10000 },
  route: { type: 'string', maxLength: 1000, description: 'The suffix after the base path, e.g. tickets/{id}/status.' },
  securitySettings: {
    type: 'object',
    additionalProperties: false,
    required: ['allowedTokens'],
    properties: { allowedTokens: { type: 'array', maxItems: 1000, items: { type: 'string', maxLength: 100 } } },
  },
  actionType: { enum: ['handler', 'procedure'] },
  actionMeta: actionMetaSchema,
} as const;

export const definitionCreateSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['route', 'actionMeta'],
  properties: { id: { type: 'string', maxLength: 100, description: 'A UUID; generated when left out.' }, ...definitionFields },
} as const;

export const definitionPatchSchema = {
  type: 'object',
  additionalProperties: false,
  properties: definitionFields,
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
    ...paging,
  },
} as const;

export const explainSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['secret', 'method', 'path'],
  properties: {
    secret: { type: 'string', maxLength: 4096, description: 'The secret a consumer sends; never echoed or logged.' },
    method: { type: 'string', minLength: 1, maxLength: 20 },
    path: { type: 'string', maxLength: 4096, description: 'With the endpoint base path (/api/custom/x) or without it (x).' },
  },
} as const;

const isoDate = { type: 'string', pattern: DATE_PATTERN, maxLength: 40 } as const;
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
    pepperCheck: { type: 'string', maxLength: 100, description: 'Equal for backups made under the same pepper; reveals nothing of it.' },
    tokens: { type: 'array', maxItems: 1_000_000, items: { type: 'object' } },
    definitions: { type: 'array', maxItems: 1_000_000, items: { type: 'object' } },
  },
} as const;

export const backupTokenSchema = {
  type: 'object',
  additionalProperties: false,
  required: [
    'id', 'name', 'isDisabled', 'rateLimit', 'expiresAt', 'secretDigest', 'secretHash', 'previousSecretDigest', 'previousSecretHash',
    'previousSecretExpiresAt', 'lastUsedAt', 'createdBy', 'createdAt', 'lastModifiedBy', 'lastModified',
  ],
  properties: {
    id: { type: 'string', maxLength: 100 },
    name: text(1000),
    isDisabled: { type: 'boolean' },
    rateLimit: rateLimitSchema,
    expiresAt: nullable(isoDate),
    secretDigest: { type: 'string', maxLength: 100, description: 'HMAC-SHA256 of the secret under the pepper, base64url.' },
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
  required: ['id', 'name', 'description', 'route', 'securitySettings', 'actionType', 'actionMeta', 'createdBy', 'createdAt', 'lastModifiedBy', 'lastModified'],
  properties: {
    id: { type: 'string', maxLength: 100 },
    ...definitionFields,
    createdBy: text(1000),
    createdAt: isoDate,
    lastModifiedBy: text(1000),
    lastModified: isoDate,
  },
} as const;

export const emptyQuerySchema = { type: 'object', additionalProperties: false, properties: {} } as const;
