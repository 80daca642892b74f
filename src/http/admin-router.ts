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
import { adminErrorHandler } from './admin-errors';
import { definitionRoutes } from './definition-routes';
import { eventRoutes } from './event-routes';
import { jsonBody } from './json-body';
import { tokenRoutes } from './token-routes';

export interface AdminServices {
  tokens: TokenService;
  definitions: DefinitionService;
  actions: ActionRegistry;
  events: EventLog;
}

export function createAdminRouter(config: Config, services: AdminServices, log: Logger): Router {
  const router = Router();
  router.use((_req, res, next) => {
    // Responses may carry a one-time secret and always carry admin data: never cache them anywhere.
    res.setHeader('Cache-Control', 'no-store');
    res.setHeader('X-Content-Type-Options', 'nosniff');
    next();
  });
  router.use(authenticate(config.authenticateAdmin, randomUUID));
  router.use(jsonBody(config.adminBodyLimitBytes));
  router.use(tokenRoutes(services.tokens));
  router.use(definitionRoutes(services.definitions, services.actions));
  router.use(eventRoutes(services.events));
  router.use(() => {
    throw AdminError.of('NotFound', 'No admin route matches this method and path.');
  });
  router.use(adminErrorHandler(log));
  return router;
}
