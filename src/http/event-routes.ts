// GET /events: the information events of the object types the admin user may read.
import { Router } from 'express';
import { AdminError } from '../errors';
import { Permissions } from '../permissions';
import type { EventLog } from '../services/event-log';
import type { ChangeAction, ObjectType } from '../types';
import { adminState, hasPermission } from './admin-auth';
import { pageSize } from './query';
import { eventListQuerySchema } from '../domain/schemas';
import { register, type AdminOperation } from './operation';
import { ref } from './response-schemas';

const READ_PERMISSION = { ApiToken: Permissions.TokenRead, ApiDefinition: Permissions.DefinitionRead } as const;

/** GET /events: its permission depends on the object types asked for, so the handler checks it. */
export const eventOperations = {
  list: {
    method: 'get',
    path: '/events',
    operationId: 'listEvents',
    tag: 'Events',
    summary: 'Information events (created, updated, deleted), newest first',
    description: `Events of tokens need ${Permissions.TokenRead}, of definitions ${Permissions.DefinitionRead}; without objectType, the types the user may read.`,
    permissions: [],
    query: eventListQuerySchema,
    success: { status: 200, description: 'One page of events.', schema: ref('ChangeEventPage') },
    errors: ['InvalidRequest', 'MissingPermission'],
  },
} as const satisfies Record<string, AdminOperation>;

interface EventListQuery {
  objectType?: ObjectType;
  objectId?: string;
  action?: ChangeAction;
  user?: string;
  from?: string;
  to?: string;
  limit?: number;
  cursor?: string;
}

function timeOf(text: string, field: string): Date {
  const time = new Date(text);
  if (Number.isNaN(time.getTime()))
    throw AdminError.of('InvalidRequest', `\`${field}\` must be an ISO-8601 date and time.`, { field });
  return time;
}

export function eventRoutes(events: EventLog): Router {
  const router = Router();
  register<EventListQuery>(router, eventOperations.list, async (req, res, { query }) => {
    const { user } = adminState(req);
    const wanted: ObjectType[] = query.objectType ? [query.objectType] : ['ApiToken', 'ApiDefinition'];
    const readable = wanted.filter((type) => hasPermission(user, READ_PERMISSION[type]));
    if (readable.length === 0) {
      const permission = READ_PERMISSION[wanted[0]!];
      throw AdminError.of('MissingPermission', `Reading these events needs the ${permission} permission.`, {
        permission,
      });
    }
    const filter = {
      objectTypes: readable,
      ...(query.objectId ? { objectId: query.objectId } : {}),
      ...(query.action ? { action: query.action } : {}),
      ...(query.user ? { user: query.user } : {}),
      ...(query.from ? { from: timeOf(query.from, 'from') } : {}),
      ...(query.to ? { to: timeOf(query.to, 'to') } : {}),
    };
    res.json(await events.list(filter, pageSize(query.limit), query.cursor));
  });
  return router;
}
