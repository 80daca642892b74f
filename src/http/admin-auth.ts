// Resolves the admin user of a request through the host's authenticateAdmin and enforces route permissions.
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { AdminError, type ErrorReason } from '../errors';
import type { Permission } from '../permissions';
import type { AdminUser } from '../types';

/** What the admin router attaches to each request it serves. */
export interface AdminRequestState {
  user: AdminUser;
  traceId: string;
}

const STATE = Symbol('udapi.admin');

type WithState = Request & { [STATE]?: AdminRequestState };

export function adminState(req: Request): AdminRequestState {
  const state = (req as WithState)[STATE];
  if (!state) throw new Error('adminState() called before authentication');
  return state;
}

function isAdminUser(value: unknown): value is AdminUser {
  if (typeof value !== 'object' || value === null) return false;
  const user = value as AdminUser;
  return (
    typeof user.name === 'string' &&
    user.name.length > 0 &&
    Array.isArray(user.permissions) &&
    user.permissions.every((permission) => typeof permission === 'string')
  );
}

/**
 * The reasons authentication answers, to any request of the router: no user, or the host's own 401 or 403
 * thrown by authenticateAdmin (see userOf).
 */
export const AUTHENTICATION_REASONS: readonly ErrorReason[] = ['Unauthenticated', 'MissingPermission'];
/** The reason a permission check answers, to the operations that need a permission. */
export const PERMISSION_REASONS: readonly ErrorReason[] = ['MissingPermission'];

const UNAUTHENTICATED_MESSAGE = 'Sign in as an administrator to use this API.';

/** `status`, else `statusCode`: the http-errors, express-jwt and Express convention for an error's HTTP status. */
function statusOf(error: unknown): unknown {
  if (typeof error !== 'object' || error === null) return undefined;
  const { status, statusCode } = error as { status?: unknown; statusCode?: unknown };
  return status ?? statusCode;
}

/**
 * authenticateAdmin, with the refusals it throws in the usual convention (a 401 or 403 with `status` or
 * `statusCode`) answered as the package's own; its message is not shown (it may say more than a client should read).
 */
async function userOf(
  authenticateAdmin: (req: Request) => AdminUser | null | undefined | Promise<AdminUser | null | undefined>,
  req: Request,
): Promise<AdminUser | null | undefined> {
  try {
    return await authenticateAdmin(req);
  } catch (error) {
    const status = statusOf(error);
    if (status === 401) throw AdminError.of('Unauthenticated', UNAUTHENTICATED_MESSAGE);
    if (status === 403) throw AdminError.of('MissingPermission', 'You may not use this API.');
    throw error;
  }
}

/** Authenticates every request of the router; no user → 401 Unauthenticated. */
export function authenticate(
  authenticateAdmin: (req: Request) => AdminUser | null | undefined | Promise<AdminUser | null | undefined>,
  traceIdOf: (req: Request) => string,
): RequestHandler {
  const resolve = async (req: Request): Promise<void> => {
    const user = await userOf(authenticateAdmin, req);
    if (user === null || user === undefined) {
      throw AdminError.of('Unauthenticated', UNAUTHENTICATED_MESSAGE);
    }
    if (!isAdminUser(user)) {
      throw new TypeError('authenticateAdmin must resolve to { name: string, permissions: string[] } or null');
    }
    (req as WithState)[STATE] = {
      user: { name: user.name, permissions: [...user.permissions] },
      traceId: traceIdOf(req),
    };
  };
  // Not an async middleware: an Express 4 router would drop its rejection and leave the request hanging.
  return (req: Request, _res: Response, next: NextFunction) => {
    resolve(req).then(() => next(), next);
  };
}

export function hasPermission(user: AdminUser, permission: Permission): boolean {
  return user.permissions.includes(permission);
}

/** Requires every listed permission; the first one missing is reported (403 MissingPermission). */
export function requirePermissions(...permissions: Permission[]): RequestHandler {
  return (req: Request, _res: Response, next: NextFunction) => {
    const { user } = adminState(req);
    for (const permission of permissions) {
      if (!hasPermission(user, permission)) {
        throw AdminError.of('MissingPermission', `This action needs the ${permission} permission.`, { permission });
      }
    }
    next();
  };
}
