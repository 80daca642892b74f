// createUserDefinedApis: wires options, models, services and routers into the object the host uses.
import { EventEmitter } from 'node:events';
import type { RequestHandler, Router } from 'express';
import { ActionRegistry } from './actions/registry';
import type { ActionHandler, ProcedureHandler, ProcedureOptions } from './actions/types';
import { Catalog, ownsDigest } from './catalog/catalog';
import { LastUseRecorder } from './catalog/last-use';
import { EVERYTHING } from './models/change';
import { BackupService } from './services/backup';
import { ChangeFeed } from './catalog/change-feed';
import { changeModel } from './models/change';
import { createEndpointHandler } from './endpoint/endpoint-handler';
import { MemorySlidingWindow } from './endpoint/sliding-window';
import { HealthMonitor } from './health';
import { apiDefinitionModel, type ApiDefinitionDoc } from './models/api-definition';
import { apiTokenModel, type ApiTokenDoc } from './models/api-token';
import { eventModel } from './models/event';
import { createPluginMetrics } from './metrics/plugin-metrics';
import { OptionsError, parseOptions } from './options';
import { errorSummary, streamLogger } from './logging';
import { createAdminRouter } from './http/admin-router';
import { Explainer } from './services/explainer';
import { BcryptPool } from './security/bcrypt-pool';
import { SecretVerifier } from './security/secret-verifier';
import { VerifiedSecrets } from './security/verified-secrets';
import { EventLog } from './services/event-log';
import { DefinitionService } from './services/definition-service';
import { digestOwnerQuery, TokenService } from './services/token-service';
import type { ChangeEvent, ObjectType, UserDefinedApisOptions } from './types';

/** The object `createUserDefinedApis` returns. */
export interface UserDefinedApis {
  /** The admin REST API (mount it where admins reach it, e.g. `/admin/udapi`). Each call builds a new router. */
  adminRouter(): Router;
  /**
   * Resolves once the connection is open, the indexes exist and the in-memory view is loaded; until then the
   * endpoint answers 503, code 7. Call it before serving traffic; after a failure it may be called again.
   */
  ready(): Promise<void>;
  /**
   * Stops background timers, waiting up to 2 s for a change poll under way and up to 2 s to write pending last-use
   * times. The host's connection stays open: it belongs to the host.
   */
  close(): Promise<void>;
  /**
   * The user-defined APIs themselves: mount it at the base path (default `/api/custom`), before any body
   * parser. Consumers call it with `Authorization: Bearer <secret>`.
   */
  endpoint(): RequestHandler;
  /** Registers a handler `(input) => output` that definitions with actionType `handler` can run. Throws `RegistrationError` on a bad or taken name. */
  registerHandler(name: string, handler: ActionHandler): UserDefinedApis;
  /**
   * Registers a procedure `(parameters, context) => void` (actionType `procedure`) and the body parameters it requires
   * (at most 100). Throws `RegistrationError` on a bad or taken name.
   */
  registerProcedure(name: string, options: ProcedureOptions, procedure: ProcedureHandler): UserDefinedApis;
  /**
   * Serves the Prometheus metrics (text exposition of the `metrics` registry) to GET and HEAD; mount it where your
   * scraper reaches it, e.g. `app.get('/metrics', udapi.metricsHandler())`. Throws an `OptionsError` when the
   * `metrics` option was not given.
   */
  metricsHandler(): RequestHandler;
  /** Subscribes to information events (create, update, delete of tokens and definitions); a throwing listener is logged, never fails the request. */
  on(event: 'change', listener: (event: ChangeEvent) => void): UserDefinedApis;
  /** Unsubscribes a listener given to `on`. */
  off(event: 'change', listener: (event: ChangeEvent) => void): UserDefinedApis;
}

/** What tests and the benchmark inspect; reached through `internalsOf`, never exported from the package root. */
export interface Internals {
  tokens: TokenService;
  definitions: DefinitionService;
  events: EventLog;
  bcrypt: BcryptPool;
  verified: VerifiedSecrets;
  verifier: SecretVerifier;
  lastUse: LastUseRecorder;
  backups: BackupService;
  catalog: Catalog;
  health: HealthMonitor;
  feed: ChangeFeed;
}

const INTERNALS = new WeakMap<UserDefinedApis, Internals>();

export function internalsOf(udapi: UserDefinedApis): Internals {
  const internals = INTERNALS.get(udapi);
  if (!internals) throw new TypeError('Not an object created by createUserDefinedApis');
  return internals;
}

/**
 * Builds the plugin. Options are checked now; a bad one throws an error that says how to fix it.
 * @example
 * const udapi = createUserDefinedApis({ connection: mongoose.connection, pepper: process.env.UDAPI_PEPPER!, authenticateAdmin });
 * app.use('/admin/udapi', udapi.adminRouter());
 * await udapi.ready();
 */
export function createUserDefinedApis(options: UserDefinedApisOptions): UserDefinedApis {
  const config = parseOptions(options);
  const managerLog = streamLogger(config.logger, 'manager', config.instanceId);
  const emitter = new EventEmitter();
  // Listeners are the host's business; without a limit warning hosts may attach many.
  emitter.setMaxListeners(0);

  const tokenModel = apiTokenModel(config.connection, config.collections.tokens);
  const eventsModel = eventModel(config.connection, config.collections.events);
  const events = new EventLog(eventsModel, config.eventRetentionDays,
    (event) => emitter.emit('change', event), managerLog);
  const bcrypt = new BcryptPool(config.bcryptRounds, config.bcryptConcurrency, config.bcryptQueueLimit);
  const verified = new VerifiedSecrets(config.verifiedSecretCacheSize);
  const actions = new ActionRegistry();
  const definitionModel = apiDefinitionModel(config.connection, config.collections.definitions);
  const catalog = new Catalog(tokenModel, definitionModel, config.basePath, managerLog);
  const changes = changeModel(config.connection, config.collections.changes);
  const feed = new ChangeFeed(changes, catalog, managerLog);
  const lastUse = new LastUseRecorder(tokenModel, catalog, config.lastUsedIntervalMs, managerLog);
  const health = new HealthMonitor(config.connection, catalog, () => feed.reload(), config.healthCheckIntervalMs, managerLog);
  /**
   * After every stored change: update this instance's view at once, then log the change for the other
   * instances. In that order, because a writer's own view may come from the document it wrote (not re-read):
   * its own log record, applied by its own poll like anyone else's, re-reads the object afterwards, so a
   * concurrent write from another instance can never be overwritten in this view by a stale copy for good.
   * A refresh failure leaves the view possibly behind, so it is marked stale and the health check reloads it.
   */
  const refreshing = <Doc>(objectType: ObjectType, refresh: (id: string, known?: Doc | null) => Promise<void>) => async (id: string, known?: Doc | null): Promise<void> => {
    try {
      await refresh(id, known);
    } catch (error) {
      catalog.stale = true;
      managerLog.error({ err: errorSummary(error), objectId: id }, 'Could not refresh the in-memory view after a change; it will be reloaded');
    }
    try {
      await feed.record(objectType, id);
    } catch (error) {
      managerLog.error({ err: errorSummary(error), objectId: id }, 'Could not log a change for the other instances; their periodic reload will catch up');
    }
  };
  const definitions = new DefinitionService(definitionModel, tokenModel, actions, config.basePath, events, managerLog,
    refreshing<ApiDefinitionDoc>('ApiDefinition', (id, known) => catalog.refreshDefinition(id, known)));
  const digestOwner = async (secretDigest: string): Promise<string | undefined> => {
    if (catalog.loaded && !catalog.stale) {
      // A token whose stored hash is unusable still holds its secret: nobody else may take it.
      const token = catalog.holderOfDigest(secretDigest);
      return token && ownsDigest(token) ? token.id : undefined;
    }
    const row = await tokenModel.findOne(digestOwnerQuery([secretDigest]), { _id: 1 }).lean<{ _id: string }>().exec();
    return row?._id;
  };
  const tokens = new TokenService(tokenModel, config.pepper, bcrypt, verified, events, managerLog, (tokenId) => definitions.linkedTo(tokenId),
    digestOwner, refreshing<ApiTokenDoc>('ApiToken', (id, known) => catalog.refreshToken(id, known)), {
      ready: async () => {
        if (!health.ready) return false;
        await feed.catchUp();
        return health.ready;
      },
      nameOf: (id) => catalog.tokenById(id)?.name,
      page: (matches, limit, after) => catalog.pageTokens(matches, limit, after),
      count: (matches) => catalog.countTokens(matches),
    });
  const backups = new BackupService(tokenModel, definitionModel, definitions, config.pepper, events, managerLog, async () => {
    await feed.reload();
    await feed.record(EVERYTHING, '*');
  });
  const verifier = new SecretVerifier(catalog, config.pepper, bcrypt, verified, managerLog);
  const endpointLog = streamLogger(config.logger, 'endpoint', config.instanceId);
  const rateLimits = config.rateLimitStore ?? new MemorySlidingWindow();
  const explainer = new Explainer({ basePath: config.basePath, catalog, verifier, actions, rateLimits });
  const metrics = config.metrics && createPluginMetrics(config.metrics, {
    bcryptQueued: () => bcrypt.queued,
    revisionLagSeconds: () => feed.lagSeconds(),
    ready: () => health.ready,
  });

  let readyPromise: Promise<void> | undefined;
  const udapi: UserDefinedApis = {
    adminRouter: () => createAdminRouter(config, { tokens, definitions, actions, events, explainer, backups }, managerLog),
    endpoint: () => {
      const handler = createEndpointHandler({ config, catalog, health, verifier, actions, rateLimits, log: endpointLog,
        recordUse: (id) => lastUse.record(id), metrics: metrics?.endpoint ?? null });
      metrics?.watchLimiter(handler.limiter);
      return handler;
    },
    metricsHandler: () => {
      if (!metrics) {
        throw new OptionsError("metricsHandler() needs the `metrics` option: createUserDefinedApis({ ..., metrics: { promClient: require('prom-client') } }).");
      }
      return metrics.handler();
    },
    registerHandler: (name, handler) => {
      actions.registerHandler(name, handler);
      return udapi;
    },
    registerProcedure: (name, procedureOptions, procedure) => {
      actions.registerProcedure(name, procedureOptions, procedure);
      return udapi;
    },
    ready: () => {
      readyPromise ??= (async () => {
        await config.connection.asPromise();
        await tokenModel.createIndexes();
        await definitionModel.createIndexes();
        await changes.createIndexes();
        await eventsModel.createIndexes();
        await health.start();
        if (!health.ready) throw new Error('The database did not answer during ready(); see the manager log');
        events.startPruning();
        feed.start(config.changePollIntervalMs, config.fullReloadIntervalMs);
        lastUse.start();
        managerLog.info({ bcryptRounds: config.bcryptRounds, bcryptConcurrency: config.bcryptConcurrency }, 'User-defined APIs ready');
      })();
      readyPromise.catch(() => {
        readyPromise = undefined; // let the host retry ready() after a failure
      });
      return readyPromise;
    },
    close: async () => {
      events.stopPruning();
      health.stop();
      await lastUse.stop();
      await feed.stop();
    },
    on: (event, listener) => {
      emitter.on(event, listener);
      return udapi;
    },
    off: (event, listener) => {
      emitter.off(event, listener);
      return udapi;
    },
  };
  INTERNALS.set(udapi, { tokens, definitions, events, bcrypt, verified, verifier, catalog, health, feed, lastUse, backups });
  return udapi;
}
