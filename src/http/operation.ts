// One admin operation declared once: the router registers it and the OpenAPI document describes it from the same object.
import type { NextFunction, Request, RequestHandler, Response, Router } from 'express';
import type { Permission } from '../permissions';
import type { ErrorReason } from '../errors';
import { requirePermissions } from './admin-auth';
import { jsonBody, type BodyLimitName } from './json-body';

/** A JSON schema, as ajv validates it and OpenAPI 3.1 embeds it. */
export type JsonSchema = Readonly<Record<string, unknown>>;

export interface AdminOperation {
  method: 'get' | 'post' | 'patch' | 'delete';
  /** Express syntax (`/tokens/:id`), relative to the admin router's mount path. */
  path: string;
  /** Unique, stable: the OpenAPI operationId. */
  operationId: string;
  tag: 'Tokens' | 'Definitions' | 'Actions' | 'Events' | 'Explain' | 'Backup' | 'Session' | 'Reference';
  summary: string;
  description?: string;
  /** Every one is required (403 MissingPermission names the first one missing). */
  permissions: readonly Permission[];
  /** The query schema its validator compiles; operations without one take no query parameters. */
  query?: JsonSchema;
  /** The request body schema its validator compiles. */
  body?: JsonSchema;
  /** Which configured limit its body is held to (413 beyond): `import` for backups, else the admin limit. */
  bodyLimit?: BodyLimitName;
  /** The success answer: its status, what it means and the shape of its body (none: no body). */
  success: { status: number; description: string; schema?: JsonSchema; contentType?: string };
  /** Error reasons this operation can answer besides the ones every operation can (401, 403, 500, 503). */
  errors: readonly ErrorReason[];
}

type Handler = (req: Request, res: Response) => unknown;

/**
 * Registers the operation on the router behind its permission check, then its body parser: nothing of the body is
 * read for a caller who may not use the operation. A rejected promise goes to the router's error handler: Express 5
 * does that by itself, Express 4 does not, and the host may mount us in either.
 */
export function register(router: Router, operation: AdminOperation, handler: Handler): void {
  const run: RequestHandler = (req: Request, res: Response, next: NextFunction) => {
    let outcome: unknown;
    try {
      outcome = handler(req, res);
    } catch (error) {
      next(error);
      return;
    }
    if (outcome instanceof Promise) outcome.catch(next);
  };
  const guards = operation.permissions.length > 0 ? [requirePermissions(...operation.permissions)] : [];
  router[operation.method](operation.path, ...guards, jsonBody(operation.bodyLimit ?? 'admin'), run);
}
