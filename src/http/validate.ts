// Compiles the admin JSON schemas with ajv and turns ajv's findings into admin errors with the right reasons.
import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv';
import { AdminError, type AdminErrorItem, type ErrorReason } from '../errors';
import { requestShape } from '../domain/schemas';

/** Body fields whose malformed values have a reason of their own; any other problem is InvalidRequest. */
const FIELD_REASONS: Record<string, ErrorReason> = {
  name: 'InvalidName',
  secret: 'InvalidSecret',
  rateLimit: 'InvalidRateLimit',
  id: 'InvalidId',
  route: 'InvalidRoute',
  actionType: 'InvalidActionMeta',
  actionMeta: 'InvalidActionMeta',
  securitySettings: 'InvalidAllowedTokens',
  scopes: 'InvalidScopes',
  metadata: 'InvalidMetadata',
  input: 'InvalidInputSchema',
};

const READ_ONLY_FIELDS = new Set(['createdBy', 'createdAt', 'lastModifiedBy', 'lastModified']);

// Bodies are never coerced: `"isDisabled": "true"` is a type error. Query strings arrive as text and are coerced.
const bodyAjv = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true });
const queryAjv = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true, coerceTypes: true });

export type Validator<T> = (value: unknown, id?: string) => T;

function itemsOf(
  errors: ErrorObject[],
  where: 'body' | 'query',
  id: string | undefined,
  value: unknown,
): AdminErrorItem[] {
  const seen = new Set<string>();
  const items: AdminErrorItem[] = [];
  for (const error of errors) {
    // anyOf reports each failed branch and then itself; the branches say more.
    if (error.keyword === 'anyOf') continue;
    // `field` is the top-level field at fault (it decides the reason); `path` names the exact spot.
    const topLevel = error.instancePath === '';
    const extra =
      error.keyword === 'additionalProperties'
        ? String((error.params as { additionalProperty: string }).additionalProperty)
        : error.keyword === 'required'
          ? String((error.params as { missingProperty: string }).missingProperty)
          : undefined;
    const field = topLevel ? (extra ?? '') : (error.instancePath.split('/')[1] ?? '');
    const path =
      [...error.instancePath.split('/').slice(1), ...(!topLevel && extra !== undefined ? [extra] : [])].join('.') ||
      field;
    if (seen.has(field)) continue;
    seen.add(field);
    let message: string;
    const noun = where === 'body' ? 'field' : 'query parameter';
    const Noun = where === 'body' ? 'Field' : 'Query parameter';
    if (error.keyword === 'additionalProperties') {
      if (where === 'body' && path === 'id') message = "Field 'id' cannot be changed.";
      else if (where === 'body' && READ_ONLY_FIELDS.has(path)) message = `Field '${path}' is set by the server.`;
      else message = `Unknown ${noun} '${path}'.`;
    } else if (error.keyword === 'required') {
      message = `${Noun} '${path}' is required.`;
    } else if (field === '') {
      message = where === 'body' ? 'The body must be a JSON object.' : 'The query is malformed.';
    } else {
      message = `${Noun} '${path}' ${error.message ?? 'is invalid'}.`;
    }
    // An unknown top-level field is a request-shape problem; anything inside a known field is that field's reason.
    const unknownTopLevel = error.keyword === 'additionalProperties' && topLevel;
    const reason = where === 'body' && !unknownTopLevel ? (FIELD_REASONS[field] ?? 'InvalidRequest') : 'InvalidRequest';
    const item: AdminErrorItem = { reason, message, field, ...(id === undefined ? {} : { id }) };
    // InvalidRoute always names the rejected route when there is one.
    const route = (value as { route?: unknown } | null)?.route;
    if (reason === 'InvalidRoute' && typeof route === 'string') item.route = route;
    items.push(item);
  }
  return items;
}

function compile<T>(ajv: Ajv, schema: object, where: 'body' | 'query'): Validator<T> {
  const validate: ValidateFunction = ajv.compile(schema);
  return (value, id) => {
    if (validate(value)) return value as T;
    throw new AdminError(itemsOf(validate.errors ?? [], where, id, value));
  };
}

/** Checks a body's shape; the rules of its fields are the services' to check (see requestShape). */
export function bodyValidator<T>(schema: object): Validator<T> {
  return compile<T>(bodyAjv, requestShape(schema), 'body');
}

/** The reasons a body check with this schema can answer: its fields' own, and InvalidRequest for anything else. */
export function bodyReasons(schema: { properties?: object }): ErrorReason[] {
  const fields = Object.keys(schema.properties ?? {});
  return [...new Set([...fields.flatMap((field) => FIELD_REASONS[field] ?? []), 'InvalidRequest' as const])];
}

/** The reasons a query check can answer. */
export const QUERY_REASONS: readonly ErrorReason[] = ['InvalidRequest'];

/** Query values arrive as strings (or arrays when repeated, which every schema refuses). */
export function queryValidator<T>(schema: object): Validator<T> {
  const validate = compile<T>(queryAjv, schema, 'query');
  return (value, id) => {
    // Copy into a plain object: ajv coerces in place, and Express's query object must stay untouched.
    const copy = Object.create(null) as Record<string, unknown>; // no prototype: a `__proto__` key stays a plain key
    for (const [key, entry] of Object.entries((value ?? {}) as Record<string, unknown>)) {
      if (Array.isArray(entry))
        throw AdminError.of('InvalidRequest', `Query parameter '${key}' may be given once.`, { field: key });
      copy[key] = entry;
    }
    const valid = validate(copy, id);
    // ajv coerces '1e309' to Infinity and lets it pass integer and maximum checks: refuse it here, for every number.
    for (const [key, entry] of Object.entries(copy)) {
      if (typeof entry === 'number' && !Number.isFinite(entry))
        throw AdminError.of('InvalidRequest', `Query parameter '${key}' must be a finite number.`, { field: key });
    }
    return valid;
  };
}
