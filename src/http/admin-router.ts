// The admin REST router: authentication, no-store caching, JSON bodies, the resource routes and the error renderer.
import { Router, type Request } from 'express';
import { requestIdOf } from '../domain/request-id';
import { AdminError, type ErrorReason } from '../errors';
import type { Config } from '../domain/config';
import type { EventLog } from '../services/event-log';
import type { TokenService } from '../services/token-service';
import type { DefinitionService } from '../services/definition-service';
import type { ActionRegistry } from '../actions/registry';
import type { Logger } from '../types';
import { AUTHENTICATION_REASONS, authenticate } from './admin-auth';
import { adminUiRoutes } from './admin-ui';
import { CROSS_SITE_REASONS, crossSiteGuard, isGuarded } from './cross-site-guard';
import { ANY_REQUEST_REASONS, PATH_DECODING_REASONS } from './operation';
import { adminErrorHandler } from './admin-errors';
import { definitionRoutes } from './definition-routes';
import { eventRoutes } from './event-routes';
import { usageRoutes } from './usage-routes';
import type { UsageReader } from '../usage/usage-reader';
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
  /** Null with `usage: false`: GET /usage answers NotFound. */
  usage: UsageReader | null;
}

const noRoute = (): AdminError => AdminError.of('NotFound', 'No admin route matches this method and path.');

/**
 * What the router answers a request that no operation takes (OPTIONS included): NotFound, or an earlier step's
 * reason, or InvalidRequest when its path matches a route's but a parameter is not valid percent-encoding.
 */
export function unmatchedRequestReasons(method: string): ErrorReason[] {
  return [
    ...(isGuarded(method) ? CROSS_SITE_REASONS : []),
    ...AUTHENTICATION_REASONS,
    'NotFound',
    ...PATH_DECODING_REASONS,
    ...ANY_REQUEST_REASONS,
  ];
}

export function createAdminRouter(config: Config, services: AdminServices, log: Logger): Router {
  const router = Router();
  // The id of each request, taken before anything can refuse it, so that every answer carries it.
  const traceIds = new WeakMap<Request, string>();
  const { requestId } = config;
  router.use((req, res, next) => {
    // Responses may carry a one-time secret and always carry admin data: never cache them anywhere.
    res.setHeader('Cache-Control', 'no-store');
    res.setHeader('X-Content-Type-Options', 'nosniff');
    if (requestId !== null) {
      const id = requestIdOf(req, requestId);
      traceIds.set(req, id);
      if (requestId.responseHeader !== null) res.setHeader(requestId.responseHeader, id);
    }
    next();
  });
  router.use(crossSiteGuard());
  router.use(authenticate(config.authenticateAdmin, (req) => traceIds.get(req) ?? requestIdOf(req, null)));
  // Only the limits: each operation reads its body after authentication and its permission check.
  router.use(bodyLimits({ admin: config.adminBodyLimitBytes, import: config.importBodyLimitBytes }));
  // Express would answer OPTIONS by itself (200 and Allow). No operation takes it and no answer carries CORS headers,
  // so it gets what any other method no route takes gets: NotFound, as the OpenAPI document says.
  router.use((req, _res, next) => next(req.method === 'OPTIONS' ? noRoute() : undefined));
  if (config.adminUi) router.use(adminUiRoutes(config.basePath));
  router.use(tokenRoutes(services.tokens));
  router.use(definitionRoutes(services.definitions, services.actions));
  router.use(eventRoutes(services.events));
  router.use(usageRoutes(services.usage));
  router.use(explainRoute(services.explainer, log));
  router.use(backupRoutes(services.backups, log));
  router.use(referenceRoutes(services.definitions, services.actions, config.basePath));
  router.use(() => {
    throw noRoute();
  });
  router.use(adminErrorHandler(log, config.passErrorsToHost));
  return router;
}
