// GET /export and POST /import of the admin router: a whole backup out, or one restored all-or-nothing.
import { once } from 'node:events';
import { Router } from 'express';
import { Permissions } from '../permissions';
import type { BackupService } from '../services/backup';
import { errorSummary } from '../logging';
import type { Logger } from '../types';
import { adminState, requirePermissions } from './admin-auth';
import { emptyQuerySchema } from './schemas';
import { queryValidator } from './validate';

const validateNoQuery = queryValidator<Record<string, never>>(emptyQuerySchema);

export function backupRoutes(backups: BackupService, log: Logger): Router {
  const router = Router();
  // A backup holds every digest and bcrypt hash: only for whoever may hand out secrets and read every definition.
  router.get('/export', requirePermissions(Permissions.TokenRead, Permissions.TokenCreateUpdate, Permissions.DefinitionRead), async (req, res) => {
    validateNoQuery(req.query);
    const chunks = backups.exportJson(adminState(req));
    // The first piece is read before any header goes out, so a database that is down still gets a 503 body.
    const first = await chunks.next();
    res.status(200).type('application/json');
    res.setHeader('Content-Disposition', `attachment; filename="udapi-backup-${new Date().toISOString().slice(0, 10)}.json"`);
    try {
      if (!first.done) res.write(first.value);
      for await (const chunk of chunks) {
        if (res.destroyed) return;
        if (!res.write(chunk)) await once(res, 'drain');
      }
      res.end();
    } catch (error) {
      // Headers are gone: cut the response so the client gets invalid JSON rather than a backup that looks whole.
      log.error({ err: errorSummary(error), traceId: adminState(req).traceId }, 'An export failed midway; the response was cut off');
      res.destroy();
    }
  });

  router.post('/import', requirePermissions(Permissions.TokenCreateUpdate, Permissions.DefinitionCreateUpdate), async (req, res) => {
    validateNoQuery(req.query);
    res.json(await backups.import(req.body, adminState(req)));
  });
  return router;
}
