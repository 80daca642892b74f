// GET /events: the information events of the object types the admin user may read.
import { Router } from 'express';
import { AdminError } from '../errors';
import { Permissions } from '../permissions';
import type { EventLog } from '../services/event-log';
import type { ChangeAction, ObjectType } from '../types';
import { adminState, hasPermission } from './admin-auth';
import { pageSize } from './query';
import { eventListQuerySchema } from './schemas';
import { queryValidator } from './validate';

const READ_PERMISSION = { ApiToken: Permissions.TokenRead, ApiDefinition: Permissions.DefinitionRead } as const;

const validateList = queryValidator<{ objectType?: ObjectType; objectId?: string; action?: ChangeAction; limit?: number; cursor?: string }>(
  eventListQuerySchema,
);

export function eventRoutes(events: EventLog): Router {
  const router = Router();
  router.get('/events', async (req, res) => {
    const query = validateList(req.query);
    const { user } = adminState(req);
    const wanted: ObjectType[] = query.objectType ? [query.objectType] : ['ApiToken', 'ApiDefinition'];
    const readable = wanted.filter((type) => hasPermission(user, READ_PERMISSION[type]));
    if (readable.length === 0) {
      const permission = READ_PERMISSION[wanted[0]!];
      throw AdminError.of('MissingPermission', `Reading these events needs the ${permission} permission.`, { permission });
    }
    const filter = { objectTypes: readable, ...(query.objectId ? { objectId: query.objectId } : {}), ...(query.action ? { action: query.action } : {}) };
    res.json(await events.list(filter, pageSize(query.limit), query.cursor));
  });
  return router;
}
