// Resolves the admin user of a request through the host's authenticateAdmin and enforces route permissions.
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { AdminError } from '../errors';
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
  return typeof user.name === 'string' && user.name.length > 0 && Array.isArray(user.permissions)
    && user.permissions.every((permission) => typeof permission === 'string');
}

/** Authenticates every request of the router; no user → 401 Unauthenticated. */
export function authenticate(
  authenticateAdmin: (req: Request) => AdminUser | null | undefined | Promise<AdminUser | null | undefined>,
  newTraceId: () => string,
): RequestHandler {
  const resolve = async (req: Request): Promise<void> => {
    const user = await authenticateAdmin(req);
    if (user === null || user === undefined) {
      throw AdminError.of('Unauthenticated', 'Sign in as an administrator to use this API.');
    }
    if (!isAdminUser(user)) {
      throw new TypeError('authenticateAdmin must resolve to { name: string, permissions: string[] } or null');
    }
    (req as WithState)[STATE] = { user: { name: user.name, permissions: [...user.permissions] }, traceId: newTraceId() };
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
