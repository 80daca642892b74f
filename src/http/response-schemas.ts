// JSON schemas of what the admin API answers: the OpenAPI document's components, checked against real answers by the tests.
import { ErrorReasons } from '../errors';
import {
  backupDefinitionSchema,
  backupEnvelopeSchema,
  backupTokenSchema,
  metadataSchema,
  rateLimitSchema,
} from '../domain/schemas';
import type { JsonSchema } from './operation';

const isoTime = { type: 'string', format: 'date-time', description: 'ISO-8601 UTC time.' } as const;
const nullableIsoTime = (description: string) => ({ anyOf: [isoTime, { type: 'null' }], description }) as const;
const page = (item: string): JsonSchema =>
  ({
    type: 'object',
    additionalProperties: false,
    required: ['items', 'nextCursor'],
    properties: {
      items: { type: 'array', items: ref(item) },
      nextCursor: {
        type: ['string', 'null'],
        description: 'Pass it as `cursor` for the next page; null on the last page.',
      },
    },
  }) as const;

/** A reference to one of {@link RESPONSE_SCHEMAS} from inside the OpenAPI document. */
export function ref(name: string): JsonSchema {
  return { $ref: `#/components/schemas/${name}` };
}

/** What happened in a bucket or a period, with `extra` fields (a point's time, a group's id). */
function usageCounts(extra: Record<string, JsonSchema> = {}): JsonSchema {
  const count = { type: 'integer', minimum: 0 } as const;
  return {
    type: 'object',
    additionalProperties: false,
    required: [...Object.keys(extra), 'calls', 'ok', 'clientErrors', 'serverErrors', 'durationMs', 'refusals'],
    properties: {
      ...extra,
      calls: { ...count, description: 'Every call counted.' },
      ok: { ...count, description: 'Answered below 400.' },
      clientErrors: { ...count, description: 'Answered 400-499 (499: the client went away).' },
      serverErrors: { ...count, description: 'Answered 500 and over.' },
      durationMs: { type: 'number', minimum: 0, description: "The sum of the calls' durations, in ms." },
      refusals: {
        type: 'object',
        additionalProperties: count,
        description:
          "The endpoint's refusals and failures by reason (unknown_secret, rate_limited, InvalidInput, ...).",
      },
    },
  };
}

/** A JSON Schema as a definition's input holds it: an object or a boolean. */
const jsonSchema = { type: ['object', 'boolean'] } as const;

const audit = {
  createdBy: { type: 'string' },
  createdAt: isoTime,
  lastModifiedBy: { type: 'string' },
  lastModified: isoTime,
} as const;

const tokenProperties = {
  id: { type: 'string', format: 'uuid' },
  name: { type: 'string' },
  isDisabled: { type: 'boolean' },
  rateLimit: rateLimitSchema,
  scopes: { type: 'array', items: { type: 'string' }, description: 'What the token may do; empty: none.' },
  metadata: metadataSchema,
  start: {
    type: ['string', 'null'],
    description:
      "The current secret's first characters, to tell keys apart (a generated secret's prefix and 6 more, a supplied one's first 4); null for secrets set before the package kept it.",
  },
  expiresAt: nullableIsoTime('After this time the secret is refused like an unknown one; null: never.'),
  previousSecretExpiresAt: nullableIsoTime(
    "While a rotation's grace period runs: until when the previous secret works too.",
  ),
  lastUsedAt: nullableIsoTime('The newest successful call, exact to about two lastUsedIntervalMs; null: never used.'),
  ...audit,
} as const;
const TOKEN_FIELDS = Object.keys(tokenProperties);

const errorItem = {
  type: 'object',
  required: ['reason', 'message'],
  properties: {
    reason: { enum: Object.keys(ErrorReasons) },
    message: { type: 'string' },
    id: { type: 'string', description: 'The object the error is about.' },
    field: { type: 'string', description: 'The request field at fault (`tokens[3].rateLimit` in an import).' },
    permission: { type: 'string', description: 'MissingPermission: the permission that is missing.' },
    route: { type: 'string' },
    conflictingDefinitionId: { type: 'string' },
    apiDefinitionIdLinks: { type: 'array', items: { type: 'string' } },
    unknownTokenIds: { type: 'array', items: { type: 'string' } },
  },
} as const;

/** Every named schema of the admin API's answers (and the backup format), by OpenAPI component name. */
export const RESPONSE_SCHEMAS = {
  ApiToken: {
    type: 'object',
    description: 'A token as the admin API shows it: never its secret, digest or hash.',
    additionalProperties: false,
    required: TOKEN_FIELDS,
    properties: tokenProperties,
  },
  ApiTokenWithSecret: {
    type: 'object',
    description:
      'The answer of a create or rotation whose secret the server generated: the only time a secret is shown.',
    additionalProperties: false,
    required: [...TOKEN_FIELDS, 'secret'],
    properties: { ...tokenProperties, secret: { type: 'string' } },
  },
  ApiTokenPage: page('ApiToken'),
  ApiDefinition: {
    type: 'object',
    additionalProperties: false,
    required: [
      'id',
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
      id: { type: 'string', format: 'uuid' },
      name: { type: 'string' },
      description: { type: 'string' },
      route: { type: 'string', description: "The suffix after the endpoint's base path, e.g. tickets/{id}/status." },
      securitySettings: {
        type: 'object',
        additionalProperties: false,
        required: ['allowedTokens', 'requiredScopes'],
        properties: {
          allowedTokens: { type: 'array', items: { type: 'string' } },
          requiredScopes: {
            type: 'array',
            items: { type: 'string' },
            description: 'Scopes an allowed token must all carry too; empty: none.',
          },
        },
      },
      actionType: { enum: ['handler', 'procedure'] },
      actionMeta: {
        type: 'object',
        additionalProperties: false,
        required: ['name'],
        properties: { name: { type: 'string' }, inputType: { enum: ['rawBody', 'parameters'] } },
      },
      input: {
        type: 'object',
        additionalProperties: false,
        properties: { body: jsonSchema, query: jsonSchema, route: jsonSchema },
        description: 'The JSON Schemas of what the API takes (draft 2020-12); absent: it does not say.',
      },
      ...audit,
    },
  },
  ApiDefinitionPage: page('ApiDefinition'),
  Count: {
    type: 'object',
    additionalProperties: false,
    required: ['count'],
    properties: { count: { type: 'integer', minimum: 0 } },
  },
  InputCheck: {
    type: 'object',
    additionalProperties: false,
    required: ['problems'],
    properties: {
      problems: {
        type: 'array',
        items: {
          type: 'object',
          additionalProperties: false,
          required: ['field', 'message'],
          properties: {
            field: { type: 'string', description: 'Where, such as input.body/properties/name/pattern.' },
            message: { type: 'string' },
          },
        },
        description: 'What a save would refuse with InvalidInputSchema, one item per problem; empty: none.',
      },
    },
  },
  ActionList: {
    type: 'object',
    additionalProperties: false,
    required: ['items'],
    properties: {
      items: {
        type: 'array',
        items: {
          type: 'object',
          additionalProperties: false,
          required: ['name', 'kind'],
          properties: {
            name: { type: 'string' },
            kind: { enum: ['handler', 'procedure'] },
            parameters: {
              type: 'array',
              items: { type: 'string' },
              description: 'Procedures only: the body parameters they require.',
            },
          },
        },
      },
    },
  },
  ChangeEvent: {
    type: 'object',
    additionalProperties: false,
    required: ['id', 'name', 'objectType', 'action', 'objectId', 'user', 'at', 'message'],
    properties: {
      id: { type: 'string' },
      name: { const: 'User-defined APIs' },
      objectType: { enum: ['ApiToken', 'ApiDefinition'] },
      action: { enum: ['created', 'updated', 'deleted'] },
      objectId: { type: 'string' },
      tokenName: { type: 'string' },
      route: { type: 'string' },
      user: { type: 'string' },
      at: isoTime,
      message: { type: 'string' },
    },
  },
  ChangeEventPage: page('ChangeEvent'),
  UsageCounts: usageCounts(),
  UsageReport: {
    type: 'object',
    additionalProperties: false,
    required: ['bucket', 'from', 'to', 'series', 'totals'],
    properties: {
      bucket: { enum: ['minute', 'hour', 'day'] },
      from: isoTime,
      to: isoTime,
      series: {
        type: 'array',
        items: usageCounts({ at: { ...isoTime, description: "The bucket's start." } }),
        description: 'Every bucket of the period, oldest first, zeros included.',
      },
      totals: ref('UsageCounts'),
      groups: {
        type: 'array',
        items: usageCounts({
          id: { type: 'string', description: "The token's or definition's id; '' for calls without one." },
          label: {
            type: ['string', 'null'],
            description: "The token's name or the API's route now; null when there is none (deleted).",
          },
        }),
        description: 'With groupBy: at most 100, most calls (or refusals) first.',
      },
    },
  },
  AdminUser: {
    type: 'object',
    additionalProperties: false,
    required: ['name', 'permissions'],
    properties: { name: { type: 'string' }, permissions: { type: 'array', items: { type: 'string' } } },
  },
  Explanation: {
    type: 'object',
    additionalProperties: false,
    required: ['verdict', 'status', 'errorCode', 'explanation', 'token', 'definition', 'rateLimitChecked'],
    properties: {
      verdict: {
        enum: [
          'allowed',
          'methodNotAllowed',
          'emptyRoute',
          'unknownSecret',
          'disabled',
          'expired',
          'rateLimited',
          'noDefinition',
          'notAllowed',
          'missingScope',
          'actionMissing',
          'invalidParameters',
          'missingParameters',
          'invalidInput',
          'inputSchemaUnusable',
        ],
      },
      status: { type: 'integer' },
      errorCode: { type: ['integer', 'null'] },
      explanation: { type: 'string' },
      token: {
        anyOf: [
          {
            type: 'object',
            additionalProperties: false,
            required: ['id', 'name'],
            properties: { id: { type: 'string' }, name: { type: 'string' } },
          },
          { type: 'null' },
        ],
      },
      definition: {
        anyOf: [
          {
            type: 'object',
            additionalProperties: false,
            required: ['id', 'route'],
            properties: { id: { type: 'string' }, route: { type: 'string' } },
          },
          { type: 'null' },
        ],
      },
      rateLimitChecked: {
        type: 'boolean',
        description: 'False when the rate-limit store cannot be read without counting.',
      },
      missingScriptParameters: {
        type: 'array',
        items: { type: 'string' },
        description: "missingParameters: the procedure's parameters the body lacks.",
      },
      inputErrors: {
        type: 'array',
        items: {
          type: 'object',
          additionalProperties: false,
          required: ['in', 'instancePath', 'message'],
          properties: {
            in: { enum: ['body', 'query', 'route'] },
            instancePath: { type: 'string' },
            message: { type: 'string' },
          },
        },
        description: 'invalidInput: the problems the endpoint would list (code 18).',
      },
    },
  },
  ImportResult: {
    type: 'object',
    additionalProperties: false,
    required: ['tokens', 'definitions'],
    properties: { tokens: { type: 'integer', minimum: 0 }, definitions: { type: 'integer', minimum: 0 } },
  },
  BackupToken: backupTokenSchema,
  BackupDefinition: backupDefinitionSchema,
  Backup: {
    ...backupEnvelopeSchema,
    properties: {
      ...backupEnvelopeSchema.properties,
      tokens: { ...backupEnvelopeSchema.properties.tokens, items: ref('BackupToken') },
      definitions: { ...backupEnvelopeSchema.properties.definitions, items: ref('BackupDefinition') },
    },
  },
  OpenApiDocument: {
    type: 'object',
    description: 'An OpenAPI 3.1 document (https://spec.openapis.org/oas/v3.1.0).',
    required: ['openapi', 'info', 'paths'],
    properties: {
      openapi: { type: 'string', pattern: '^3\\.1\\.\\d+$' },
      info: {
        type: 'object',
        required: ['title', 'version'],
        properties: { title: { type: 'string' }, version: { type: 'string' }, description: { type: 'string' } },
      },
      servers: {
        type: 'array',
        items: { type: 'object', required: ['url'], properties: { url: { type: 'string' } } },
      },
      security: { type: 'array', items: { type: 'object' } },
      tags: { type: 'array', items: { type: 'object' } },
      paths: {
        type: 'object',
        description: 'Path templates, relative to servers[0].url, and their operations.',
        additionalProperties: { type: 'object' },
      },
      components: { type: 'object' },
    },
  },
  AdminErrorBody: {
    type: 'object',
    additionalProperties: false,
    required: ['errors'],
    properties: { errors: { type: 'array', minItems: 1, items: errorItem } },
  },
} as const satisfies Record<string, JsonSchema>;
