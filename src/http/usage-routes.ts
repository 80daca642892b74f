// GET /usage: calls per bucket for a token, an API or everything, with the permissions of reading what it names.
import { Router } from 'express';
import { AdminError } from '../errors';
import { Permissions, type Permission } from '../permissions';
import { usageQuerySchema } from '../domain/schemas';
import type { UsageQuery, UsageReader } from '../usage/usage-reader';
import { adminState, hasPermission } from './admin-auth';
import { register, type AdminOperation } from './operation';
import { ref } from './response-schemas';

export const usageOperations = {
  report: {
    method: 'get',
    path: '/usage',
    operationId: 'getUsage',
    tag: 'Usage',
    summary: 'Calls per minute, hour or day: of one token, one API, or all of them',
    description: `A token's usage needs ${Permissions.TokenRead}, an API's ${Permissions.DefinitionRead}, everything (and groupBy) the permission of each kind it shows. Counts reach the database every usageIntervalMs.`,
    permissions: [],
    query: usageQuerySchema,
    success: {
      status: 200,
      description: 'The series, its totals and the groups asked for.',
      schema: ref('UsageReport'),
    },
    errors: ['InvalidRequest', 'MissingPermission', 'NotFound'],
  },
} as const satisfies Record<string, AdminOperation>;

/** The permissions a query needs: those of each kind of object it is about or shows. */
function permissionsOf(query: Partial<UsageQuery>): Permission[] {
  const needed = new Set<Permission>();
  if (query.tokenId !== undefined || query.groupBy === 'token') needed.add(Permissions.TokenRead);
  if (query.definitionId !== undefined || query.groupBy === 'definition') needed.add(Permissions.DefinitionRead);
  // Everyone's calls show both kinds at once.
  if (query.tokenId === undefined && query.definitionId === undefined) {
    needed.add(Permissions.TokenRead);
    needed.add(Permissions.DefinitionRead);
  }
  return [...needed];
}

/** Without a reader (usage: false) the route answers 404 NotFound, saying why. */
export function usageRoutes(reader: UsageReader | null): Router {
  const router = Router();
  register<Partial<UsageQuery>>(router, usageOperations.report, async (req, res, { query }) => {
    const { user } = adminState(req);
    const missing = permissionsOf(query).find((permission) => !hasPermission(user, permission));
    if (missing !== undefined)
      throw AdminError.of('MissingPermission', `Reading this usage needs the ${missing} permission.`, {
        permission: missing,
      });
    if (reader === null) throw AdminError.of('NotFound', 'Usage counting is off on this server (the usage option).');
    const report = await reader.report({ ...query, bucket: query.bucket ?? 'hour' });
    res.json(report);
  });
  return router;
}
