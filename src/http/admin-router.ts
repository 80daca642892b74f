// The admin REST router: authentication, no-store caching, JSON bodies, the resource routes and the error renderer.
import { randomUUID } from 'node:crypto';
import { Router } from 'express';
import { AdminError } from '../errors';
import type { Config } from '../options';
import type { EventLog } from '../services/event-log';
import type { TokenService } from '../services/token-service';
import type { DefinitionService } from '../services/definition-service';
import type { ActionRegistry } from '../actions/registry';
import type { Logger } from '../types';
import { authenticate } from './admin-auth';
import { adminUiRoutes } from './admin-ui';
import { crossSiteGuard } from './cross-site-guard';
import { adminErrorHandler } from './admin-errors';
import { definitionRoutes } from './definition-routes';
import { eventRoutes } from './event-routes';
import { explainRoute } from './explain-route';
import type { Explainer } from '../services/explainer';
import { bodyLimits } from './json-body';
import { backupRoutes } from './backup-routes';
import type { BackupService } from '../services/backup';
import { referenceRoutes } from './reference-routes';
import { tokenRoutes } from './token-routes';

export interface AdminServices {
  tokens: TokenService;
  definitions: DefinitionService;
  actions: ActionRegistry;
  events: EventLog;
  explainer: Explainer;
  backups: BackupService;
}

export function createAdminRouter(config: Config, services: AdminServices, log: Logger): Router {
  const router = Router();
  router.use((_req, res, next) => {
    // Responses may carry a one-time secret and always carry admin data: never cache them anywhere.
    res.setHeader('Cache-Control', 'no-store');
    res.setHeader('X-Content-Type-Options', 'nosniff');
    next();
  });
  router.use(crossSiteGuard());
  router.use(authenticate(config.authenticateAdmin, randomUUID));
  // Only the limits: each operation reads its body after authentication and its permission check.
  router.use(bodyLimits({ admin: config.adminBodyLimitBytes, import: config.importBodyLimitBytes }));
  if (config.adminUi) router.use(adminUiRoutes(config.basePath));
  router.use(tokenRoutes(services.tokens));
  router.use(definitionRoutes(services.definitions, services.actions));
  router.use(eventRoutes(services.events));
  router.use(explainRoute(services.explainer, log));
  router.use(backupRoutes(services.backups, log));
  router.use(referenceRoutes(services.definitions, services.actions, config.basePath));
  router.use(() => {
    throw AdminError.of('NotFound', 'No admin route matches this method and path.');
  });
  router.use(adminErrorHandler(log));
  return router;
}
