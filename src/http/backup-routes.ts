// GET /export and POST /import of the admin router: a whole backup out, or one restored all-or-nothing.
import { once } from 'node:events';
import { Router } from 'express';
import { Permissions } from '../permissions';
import type { BackupService } from '../services/backup';
import { errorSummary } from '../logging';
import type { Logger } from '../types';
import { adminState } from './admin-auth';
import { register, type AdminOperation, type NoQuery } from './operation';
import { ref } from './response-schemas';
import { emptyQuerySchema } from '../domain/schemas';

/** GET /export and POST /import. A backup holds every digest and bcrypt hash: only for whoever may hand out secrets and read every definition. */
export const backupOperations = {
  export: {
    method: 'get',
    path: '/export',
    operationId: 'exportBackup',
    tag: 'Backup',
    summary: 'Every token and definition, as a backup file',
    description: 'Digests and bcrypt hashes, never secrets; usable only under the same pepper.',
    permissions: [Permissions.TokenRead, Permissions.TokenCreateUpdate, Permissions.DefinitionRead],
    query: emptyQuerySchema,
    success: { status: 200, description: 'The backup, streamed, as an attachment.', schema: ref('Backup') },
    errors: ['InvalidRequest'],
  },
  import: {
    method: 'post',
    path: '/import',
    operationId: 'importBackup',
    tag: 'Backup',
    summary: 'Restore a backup, all or nothing',
    description:
      'Every object is checked before anything is written; ids, routes and secrets must not be taken. The body limit is importBodyLimitBytes.',
    permissions: [Permissions.TokenCreateUpdate, Permissions.DefinitionCreateUpdate],
    query: emptyQuerySchema,
    body: ref('Backup'),
    // The service checks the body with backupEnvelopeSchema and the per-object schemas that the Backup component is
    // made of, one object at a time, so that its errors are InvalidBackup or name the object at fault: one schema
    // checked here would answer other reasons and messages.
    bodyCheckedByHandler: true,
    bodyLimit: 'import',
    success: { status: 200, description: 'How many objects were restored.', schema: ref('ImportResult') },
    errors: [
      'InvalidBackup',
      'InvalidRequest',
      'IdInUse',
      'RouteInUse',
      'InvalidSecret',
      'InvalidActionMeta',
      'InvalidName',
      'InvalidRateLimit',
      'InvalidRoute',
      'InvalidAllowedTokens',
      'InvalidScopes',
      'InvalidMetadata',
      'InvalidInputSchema',
      'InvalidId',
    ],
  },
} as const satisfies Record<string, AdminOperation>;

export function backupRoutes(backups: BackupService, log: Logger): Router {
  const router = Router();
  register(router, backupOperations.export, async (req, res) => {
    const chunks = backups.exportJson(adminState(req));
    // The first piece is read before any header goes out, so a database that is down still gets a 503 body.
    const first = await chunks.next();
    res.status(200).type('application/json');
    res.setHeader(
      'Content-Disposition',
      `attachment; filename="udapi-backup-${new Date().toISOString().slice(0, 10)}.json"`,
    );
    try {
      if (!first.done) res.write(first.value);
      for await (const chunk of chunks) {
        if (res.destroyed) return;
        if (!res.write(chunk)) await once(res, 'drain');
      }
      res.end();
    } catch (error) {
      // Headers are gone: cut the response so the client gets invalid JSON rather than a backup that looks whole.
      log.error(
        { err: errorSummary(error), traceId: adminState(req).traceId },
        'An export failed midway; the response was cut off',
      );
      res.destroy();
    }
  });

  register<NoQuery, unknown>(router, backupOperations.import, async (req, res, { body }) => {
    res.json(await backups.import(body, adminState(req)));
  });
  return router;
}
