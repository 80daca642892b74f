// One admin operation declared once: the router registers it and the OpenAPI document describes it from the same object.
import type { NextFunction, Request, RequestHandler, Response, Router } from 'express';
import type { Permission } from '../permissions';
import type { ErrorReason } from '../errors';
import { AUTHENTICATION_REASONS, PERMISSION_REASONS, requirePermissions } from './admin-auth';
import { CROSS_SITE_REASONS, isGuarded } from './cross-site-guard';
import { JSON_BODY_REASONS, jsonBody, type BodyLimitName } from './json-body';
import { emptyQuerySchema } from '../domain/schemas';
import { QUERY_REASONS, bodyReasons, bodyValidator, queryValidator, type Validator } from './validate';

/** A JSON schema, as ajv validates it and OpenAPI 3.1 embeds it. */
export type JsonSchema = Readonly<Record<string, unknown>>;

export interface AdminOperation {
  method: 'get' | 'post' | 'patch' | 'delete';
  /** Express syntax (`/tokens/:id`), relative to the admin router's mount path. */
  path: string;
  /** Unique, stable: the OpenAPI operationId. */
  operationId: string;
  tag: 'Tokens' | 'Definitions' | 'Actions' | 'Events' | 'Usage' | 'Explain' | 'Backup' | 'Session' | 'Reference';
  summary: string;
  description?: string;
  /** Every one is required (403 MissingPermission names the first one missing). */
  permissions: readonly Permission[];
  /** The query schema register() checks before the handler runs; operations without one take no query parameters. */
  query?: JsonSchema;
  /** The request body schema register() checks before the handler runs (unless `bodyCheckedByHandler`). */
  body?: JsonSchema;
  /**
   * The body schema only documents the body; the handler checks it. For a body whose errors say more than a schema
   * can: the backup import's reasons (InvalidBackup, and the field reasons naming the object at fault).
   */
  bodyCheckedByHandler?: true;
  /** Which configured limit its body is held to (413 beyond): `import` for backups, else the admin limit. */
  bodyLimit?: BodyLimitName;
  /** The success answer: its status, what it means and the shape of its body (none: no body). */
  success: { status: number; description: string; schema?: JsonSchema; contentType?: string };
  /**
   * The reasons its handler (the service it calls) can answer. The steps before the handler add theirs:
   * {@link operationReasons} lists them all, and the OpenAPI document is made from that list.
   */
  errors: readonly ErrorReason[];
}

/**
 * Reasons the router's error renderer (admin-errors.ts) gives any request: an unexpected failure, an unreachable
 * database or a full bcrypt queue.
 */
export const ANY_REQUEST_REASONS: readonly ErrorReason[] = ['InternalError', 'ServiceUnavailable'];

/**
 * The error renderer's reason for a path parameter that is not valid percent-encoding (`/tokens/%zz`). Express
 * decodes the parameters of every route whose path matches, before it looks at the method.
 */
export const PATH_DECODING_REASONS: readonly ErrorReason[] = ['InvalidRequest'];

/**
 * Every reason the operation can answer, step by step as register() and the admin router put them before its
 * handler: the cross-site guard (changes only), authentication, the permission check, the body parser, the query and
 * body checks, the path's decoding, then the handler's own and the error renderer's.
 */
export function operationReasons(operation: AdminOperation): ErrorReason[] {
  const bodyChecked = operation.body !== undefined && !operation.bodyCheckedByHandler;
  return [
    ...new Set<ErrorReason>([
      ...(isGuarded(operation.method) ? CROSS_SITE_REASONS : []),
      ...AUTHENTICATION_REASONS,
      ...(operation.permissions.length > 0 ? PERMISSION_REASONS : []),
      ...JSON_BODY_REASONS,
      ...QUERY_REASONS,
      ...(bodyChecked ? bodyReasons(operation.body as { properties?: object }) : []),
      ...(operation.path.includes('/:') ? PATH_DECODING_REASONS : []),
      ...operation.errors,
      ...ANY_REQUEST_REASONS,
    ]),
  ];
}

/** The query of an operation that takes no query parameters. */
export type NoQuery = Record<string, never>;

/** What the handler is given: the query and body as the operation's schemas let them through. */
export interface Checked<Query, Body> {
  query: Query;
  /** Undefined for an operation without a body schema; as sent (unknown) when `bodyCheckedByHandler`. */
  body: Body;
}

export type Handler<Query, Body> = (req: Request, res: Response, input: Checked<Query, Body>) => unknown;

function bodyCheck<Body>(operation: AdminOperation): Validator<Body> {
  if (operation.body === undefined) return () => undefined as Body;
  if (operation.bodyCheckedByHandler) return (body) => body as Body;
  return bodyValidator<Body>(operation.body);
}

/**
 * Registers the operation on the router behind its permission check, then its body parser: nothing of the body is
 * read for a caller who may not use the operation. Then the query and the body are checked against the operation's
 * schemas, the query first, and the handler gets them typed. A rejected promise goes to the router's error handler:
 * Express 5 does that by itself, Express 4 does not, and the host may mount us in either.
 */
export function register<Query = NoQuery, Body = undefined>(
  router: Router,
  operation: AdminOperation,
  handler: Handler<Query, Body>,
): void {
  const checkQuery = queryValidator<Query>(operation.query ?? emptyQuerySchema);
  const checkBody = bodyCheck<Body>(operation);
  // A change of one object names it in every schema error, as its body errors always have; a read's errors never
  // have, and clients may rely on either.
  const namesId = operation.method !== 'get' && /\/:id(\/|$)/.test(operation.path);
  const run: RequestHandler = (req: Request, res: Response, next: NextFunction) => {
    let outcome: unknown;
    try {
      const id = namesId ? (req.params.id as string) : undefined;
      const query = checkQuery(req.query, id);
      outcome = handler(req, res, { query, body: checkBody(req.body, id) });
    } catch (error) {
      next(error);
      return;
    }
    if (outcome instanceof Promise) outcome.catch(next);
  };
  const guards = operation.permissions.length > 0 ? [requirePermissions(...operation.permissions)] : [];
  router[operation.method](operation.path, ...guards, jsonBody(operation.bodyLimit ?? 'admin'), run);
}
