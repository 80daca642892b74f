// createUserDefinedApis: wires options, models, services and routers into the object the host uses.
import { EventEmitter } from 'node:events';
import type { RequestHandler, Router } from 'express';
import { ActionRegistry } from './actions/registry';
import type { ActionHandler, ProcedureHandler, ProcedureOptions } from './actions/types';
import { Catalog, ownsDigest, type TokenRow } from './catalog/catalog';
import { LastUseRecorder } from './catalog/last-use';
import { usageModel, type UsageModel } from './models/usage';
import { lastUseModel, type LastUseModel } from './models/last-use';
import { UsageCounter } from './usage/usage-counter';
import { UsageReader } from './usage/usage-reader';
import { WriteGate } from './database/write-gate';
import { EVERYTHING } from './models/change';
import { BackupService } from './services/backup';
import { ChangeFeed } from './catalog/change-feed';
import { ChangeHints } from './catalog/change-hints';
import { changeModel, type ChangeModel } from './models/change';
import { createEndpointHandler } from './endpoint/endpoint-handler';
import type { RateLimitStore } from './domain/rate-limit-store';
import { MemorySlidingWindow } from './endpoint/sliding-window';
import { HealthMonitor } from './health';
import { ServerPresence } from './database/server-presence';
import { LoopWatch } from './shared/loop-watch';
import { apiDefinitionModel, type ApiDefinitionDoc, type ApiDefinitionModel } from './models/api-definition';
import { apiTokenModel, type ApiTokenDoc, type ApiTokenModel } from './models/api-token';
import { eventModel, type EventModel } from './models/event';
import { metaModel, type MetaModel } from './models/meta';
import { PepperGuard } from './services/pepper-guard';
import { createPluginMetrics, type PluginMetrics } from './metrics/plugin-metrics';
import { OptionsError } from './errors';
import type { Config } from './domain/config';
import { parseOptions } from './options';
import { errorSummary, streamLogger } from './logging';
import { createAdminRouter } from './http/admin-router';
import { Explainer } from './services/explainer';
import { BcryptPool } from './security/bcrypt-pool';
import { SecretVerifier } from './security/secret-verifier';
import { VerifiedSecrets } from './security/verified-secrets';
import { EventLog } from './services/event-log';
import { DefinitionService } from './services/definition-service';
import { digestOwnerQuery, TokenService, type DigestOwnerLookup, type TokenListing } from './services/token-service';
import type {
  ChangeEvent,
  Logger,
  ObjectType,
  RequireTokenOptions,
  UserDefinedApisOptions,
  VerifyOptions,
  VerifyResult,
} from './types';
import { Authorization } from './endpoint/authorization';
import { FailedAuthThrottle } from './endpoint/failed-auth-throttle';
import { AccessDecider } from './services/access-decision';
import { createRequireToken } from './host-routes/require-token';
import { createVerify } from './host-routes/verify';

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
   * Stops background timers and, at once, waits up to 2 s for a change poll under way and up to 10 s each to write
   * pending last-use times and usage counts (a warning says when it stopped waiting: closing the connection then
   * loses what was still being written). The host's connection stays open: it belongs to the host; close it after
   * `close()` resolves.
   */
  close(): Promise<void>;
  /**
   * The user-defined APIs themselves: mount it at the base path (default `/api/custom`), before any body
   * parser. Consumers call it with `Authorization: Bearer <secret>`.
   */
  endpoint(): RequestHandler;
  /**
   * Express middleware that protects one of the host's own routes with the same tokens: it authenticates
   * `Authorization: Bearer <secret>` exactly as the endpoint does (disabled, expired and grace rules, the token's rate
   * limit, the failed-authentication throttle, last use, metrics), checks `scopes` and `allow`, sets `req.udapi` and
   * calls `next()`; else it refuses per RFC 6750 (401 invalid_token, 403 insufficient_scope, 429 and 503 with
   * Retry-After). Throws an `OptionsError` on a bad option.
   */
  requireToken(options?: RequireTokenOptions): RequestHandler;
  /**
   * The check of `requireToken()` without Express (WebSocket upgrades, queues, GraphQL contexts): resolves
   * `{ valid: true, token }` or `{ valid: false, reason }`, the reason for the host's logs only. A bad secret never
   * rejects; a bad option throws an `OptionsError`.
   */
  verify(secret: string, options?: VerifyOptions): Promise<VerifyResult>;
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
  /** Null with `usage: false`. */
  usage: UsageCounter | null;
  /** Null with `usage: false`; `udapi usage` reads through it. */
  usageReader: UsageReader | null;
}

const INTERNALS = new WeakMap<UserDefinedApis, Internals>();

export function internalsOf(udapi: UserDefinedApis): Internals {
  const internals = INTERNALS.get(udapi);
  if (!internals) throw new TypeError('Not an object created by createUserDefinedApis');
  return internals;
}

/** The database models of one plugin object, bound to the host's connection (no global models). */
interface Models {
  tokens: ApiTokenModel;
  events: EventModel;
  definitions: ApiDefinitionModel;
  changes: ChangeModel;
  meta: MetaModel;
  usage: UsageModel;
  lastUses: LastUseModel;
}

/** Everything one plugin object is made of, wired once by {@link buildParts}. */
interface Parts extends Internals {
  config: Config;
  managerLog: Logger;
  endpointLog: Logger;
  emitter: EventEmitter;
  models: Models;
  actions: ActionRegistry;
  rateLimits: RateLimitStore;
  explainer: Explainer;
  metrics: PluginMetrics | null;
  pepperGuard: PepperGuard;
  /** With the changeHints option: the Redis nudge to poll the change log now. */
  hints: ChangeHints | null;
}

/**
 * Builds the plugin. Options are checked now; a bad one throws an error that says how to fix it.
 * @example
 * const udapi = createUserDefinedApis({ connection: mongoose.connection, pepper: process.env.UDAPI_PEPPER!, authenticateAdmin });
 * app.use('/admin/udapi', udapi.adminRouter());
 * await udapi.ready();
 */
export function createUserDefinedApis(options: UserDefinedApisOptions): UserDefinedApis {
  const parts = buildParts(parseOptions(options));
  const udapi = publicObject(parts);
  const { tokens, definitions, events, bcrypt, verified, verifier, catalog, health, feed, lastUse, backups } = parts;
  INTERNALS.set(udapi, {
    usage: parts.usage,
    usageReader: parts.usageReader,
    tokens,
    definitions,
    events,
    bcrypt,
    verified,
    verifier,
    catalog,
    health,
    feed,
    lastUse,
    backups,
  });
  return udapi;
}

function bindModels(config: Config): Models {
  return {
    tokens: apiTokenModel(config.connection, config.collections.tokens),
    events: eventModel(config.connection, config.collections.events),
    definitions: apiDefinitionModel(config.connection, config.collections.definitions),
    changes: changeModel(config.connection, config.collections.changes),
    meta: metaModel(config.connection, config.collections.meta),
    usage: usageModel(config.connection, config.collections.usage),
    lastUses: lastUseModel(config.connection, config.collections.lastUses),
  };
}

/** The health check, which also judges the view's lag against maxViewLagMs. */
function healthMonitor(
  config: Config,
  catalog: Catalog,
  feed: ChangeFeed,
  log: Logger,
  loop: LoopWatch,
): HealthMonitor {
  return new HealthMonitor(
    config.connection,
    catalog,
    () => feed.reload(),
    () => feed.catchUp(),
    config.healthCheckIntervalMs,
    log,
    {
      // Before the poll timer runs (ready() in progress) the view is as fresh as its load: the lag rule starts with it.
      current: () => (feed.polling ? feed.lagSeconds() * 1000 : 0),
      maxMs: config.maxViewLagMs,
      recentPoll: (maxAgeMs, startedAfter) => feed.recentPoll(maxAgeMs, startedAfter),
      pollUnderWayMs: () => feed.pollUnderWayMs(),
    },
    loop,
    new ServerPresence(config.connection),
  );
}

function buildParts(config: Config): Parts {
  const managerLog = streamLogger(config.logger, 'manager', config.instanceId);
  const emitter = new EventEmitter();
  // Listeners are the host's business; without a limit warning hosts may attach many.
  emitter.setMaxListeners(0);

  const models = bindModels(config);
  const events = new EventLog({
    model: models.events,
    retentionDays: config.eventRetentionDays,
    emit: (event) => emitter.emit('change', event),
    logger: managerLog,
  });
  const bcrypt = new BcryptPool(config.bcryptRounds, config.bcryptConcurrency, config.bcryptQueueLimit);
  const verified = new VerifiedSecrets(config.verifiedSecretCacheSize);
  const actions = new ActionRegistry();
  const catalog = new Catalog(models.tokens, models.definitions, config.basePath, managerLog);
  // One watch of the event loop's holds, started and stopped with the health check, for the feed's and its waits.
  const loop = new LoopWatch();
  const feed = new ChangeFeed(models.changes, catalog, managerLog, loop);
  const hints = config.changeHints && new ChangeHints(config.changeHints.redis, config.changeHints.channel, managerLog);
  // Updates of token documents from this instance (admin writes, the last-use flush) never overlap.
  const writeGate = new WriteGate();
  const lastUse = new LastUseRecorder(models, catalog, config, managerLog, writeGate);
  const health = healthMonitor(config, catalog, feed, managerLog, loop);
  const view = { catalog, feed, health, managerLog };
  const pepperGuard = new PepperGuard({
    model: models.meta,
    tokenModel: models.tokens,
    pepper: config.pepper,
    collection: config.collections.meta,
    instanceId: config.instanceId,
    log: managerLog,
  });
  const { definitions, tokens, backups } = buildServices(config, models, view, {
    events,
    bcrypt,
    verified,
    actions,
    writeGate,
    pepperGuard,
  });
  const verifier = new SecretVerifier(catalog, config.pepper, bcrypt, verified, managerLog, config.secretPrefix);
  const endpointLog = streamLogger(config.logger, 'endpoint', config.instanceId);
  const rateLimits = config.rateLimitStore ?? new MemorySlidingWindow();
  const explainer = new Explainer({ basePath: config.basePath, catalog, verifier, actions, rateLimits });
  const { usage, usageReader } = usageParts(config, models.usage, catalog, managerLog);
  const metrics =
    config.metrics &&
    createPluginMetrics(config.metrics, {
      bcryptQueued: () => bcrypt.queued,
      revisionLagSeconds: () => feed.lagSeconds(),
      ready: () => health.ready,
    });
  return {
    config,
    hints,
    managerLog,
    endpointLog,
    emitter,
    models,
    events,
    bcrypt,
    verified,
    actions,
    catalog,
    feed,
    lastUse,
    health,
    definitions,
    tokens,
    backups,
    verifier,
    rateLimits,
    explainer,
    metrics,
    pepperGuard,
    usage,
    usageReader,
  };
}

/** The usage counter and its reader; both null with `usage: false`. */
function usageParts(
  config: Config,
  model: UsageModel,
  catalog: Catalog,
  log: Logger,
): { usage: UsageCounter | null; usageReader: UsageReader | null } {
  if (!config.usage) return { usage: null, usageReader: null };
  return {
    usage: new UsageCounter(model, { ...config.usage, instanceId: config.instanceId }, log),
    usageReader: new UsageReader({
      model,
      labelOf: (kind, id) =>
        (kind === 'token' ? catalog.tokenById(id)?.name : catalog.definitionById(id)?.route) ?? null,
    }),
  };
}

/** The in-memory view as the services see it: kept current after their writes, asked for lists. */
interface ServiceView {
  catalog: Catalog;
  feed: ChangeFeed;
  health: HealthMonitor;
  managerLog: Logger;
}

function buildServices(
  config: Config,
  models: Models,
  view: ServiceView,
  shared: {
    events: EventLog;
    bcrypt: BcryptPool;
    verified: VerifiedSecrets;
    actions: ActionRegistry;
    writeGate: WriteGate;
    pepperGuard: PepperGuard;
  },
): { definitions: DefinitionService; tokens: TokenService; backups: BackupService } {
  const { catalog, feed, managerLog } = view;
  const { events } = shared;
  const definitions = new DefinitionService({
    model: models.definitions,
    tokenModel: models.tokens,
    actions: shared.actions,
    basePath: config.basePath,
    events,
    log: managerLog,
    changed: refreshing<ApiDefinitionDoc>(view, 'ApiDefinition', (id, known) => catalog.refreshDefinition(id, known)),
  });
  const tokens = new TokenService({
    model: models.tokens,
    pepper: config.pepper,
    secretPrefix: config.secretPrefix,
    bcrypt: shared.bcrypt,
    verified: shared.verified,
    events,
    log: managerLog,
    linkedDefinitions: (tokenId) => definitions.linkedTo(tokenId),
    digestOwner: digestOwnerLookup(catalog, models.tokens),
    changed: refreshing<ApiTokenDoc>(view, 'ApiToken', (id, known) => catalog.refreshToken(id, known)),
    listing: tokenListing(view),
    writeGate: shared.writeGate,
    beforeSecretWrite: () => shared.pepperGuard.beforeSecretWrite(),
  });
  const backups = new BackupService({
    tokenModel: models.tokens,
    definitionModel: models.definitions,
    definitions,
    pepper: config.pepper,
    events,
    log: managerLog,
    beforeSecretWrite: () => shared.pepperGuard.beforeSecretWrite(),
    imported: async () => {
      await feed.reload();
      await feed.record(EVERYTHING, '*');
    },
  });
  return { definitions, tokens, backups };
}

/**
 * After every stored change: update this instance's view at once, then log the change for the other
 * instances. A writer that knows the stored state (the document it wrote, or null after a delete) records it
 * with its view's fingerprint from before the change: other instances holding that same state apply it without
 * reading the object, and re-read it otherwise (a concurrent write, a missed change), so a stale copy never
 * wins for good. The writer's own record finds its view showing that state already and changes nothing.
 * A refresh failure leaves the view possibly behind, so it is marked stale and the health check reloads it.
 */
function refreshing<Doc extends TokenRow | ApiDefinitionDoc>(
  { catalog, feed, managerLog }: ServiceView,
  objectType: ObjectType,
  refresh: (id: string, known?: Doc | null) => Promise<void>,
): (id: string, known?: Doc | null) => Promise<void> {
  return async (id, known) => {
    const before = catalog.loaded && !catalog.stale ? catalog.fingerprint(objectType, id) : undefined;
    try {
      await refresh(id, known);
    } catch (error) {
      catalog.stale = true;
      managerLog.error(
        { err: errorSummary(error), objectId: id },
        'Could not refresh the in-memory view after a change; it will be reloaded',
      );
    }
    try {
      const recorded = known === undefined || before === undefined ? undefined : { state: known, before };
      await feed.record(objectType, id, recorded);
    } catch (error) {
      managerLog.error(
        { err: errorSummary(error), objectId: id },
        'Could not log a change for the other instances; their periodic reload will catch up',
      );
    }
  };
}

function digestOwnerLookup(catalog: Catalog, tokenModel: ApiTokenModel): DigestOwnerLookup {
  return async (secretDigest) => {
    if (catalog.loaded && !catalog.stale) {
      // A token whose stored hash is unusable still holds its secret: nobody else may take it.
      const token = catalog.holderOfDigest(secretDigest);
      return token && ownsDigest(token) ? token.id : undefined;
    }
    const row = await tokenModel
      .findOne(digestOwnerQuery([secretDigest]), { _id: 1 })
      .lean<{ _id: string }>()
      .exec();
    return row?._id;
  };
}

function tokenListing({ catalog, feed, health }: ServiceView): TokenListing {
  return {
    ready: async () => {
      if (!health.ready && !(await health.catchUp())) return false;
      await feed.catchUp();
      return health.ready;
    },
    nameOf: (id) => catalog.tokenById(id)?.name,
    page: (matches, limit, after) => catalog.pageTokens(matches, limit, after),
    count: (matches) => catalog.countTokens(matches),
  };
}

/** The object the host holds. */
function publicObject(parts: Parts): UserDefinedApis {
  const { config, managerLog, emitter, actions, catalog, health, verifier, rateLimits, endpointLog, lastUse } = parts;
  const { tokens, definitions, events, explainer, backups, metrics, usage, usageReader } = parts;
  // Failures only are counted, in the shared store when there is one, so instances share one budget per address;
  // the endpoint and the host routes share it too, so an attacker gets no second budget on another surface.
  const throttle = config.failedAuthThrottle
    ? new FailedAuthThrottle(
        config.failedAuthThrottle,
        config.rateLimitStore ?? new MemorySlidingWindow(undefined, { remaining: false }),
      )
    : null;
  const hostRoutes = new Authorization({
    decider: new AccessDecider({ catalog, verifier, actions, rateLimits }),
    health,
    throttle,
    log: endpointLog,
    recordUse: (id) => lastUse.record(id),
    metrics: metrics?.endpoint ?? null,
  });
  const verify = createVerify(hostRoutes);
  const udapi: UserDefinedApis = {
    adminRouter: () =>
      createAdminRouter(
        config,
        { tokens, definitions, actions, events, explainer, backups, usage: usageReader },
        managerLog,
      ),
    endpoint: () => {
      const handler = createEndpointHandler({
        config,
        catalog,
        health,
        verifier,
        actions,
        rateLimits,
        log: endpointLog,
        recordUse: (id) => lastUse.record(id),
        metrics: metrics?.endpoint ?? null,
        throttle,
        usage,
      });
      metrics?.watchLimiter(handler.limiter);
      return handler;
    },
    requireToken: (requireOptions) =>
      createRequireToken({ config, authorization: hostRoutes, log: endpointLog }, requireOptions),
    verify,
    metricsHandler: () => {
      if (!metrics) {
        throw new OptionsError(
          "metricsHandler() needs the `metrics` option: createUserDefinedApis({ ..., metrics: { promClient: require('prom-client') } }).",
        );
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
    ready: readyOnce(parts),
    close: () => stop(parts),
    on: (event, listener) => {
      emitter.on(event, listener);
      return udapi;
    },
    off: (event, listener) => {
      emitter.off(event, listener);
      return udapi;
    },
  };
  return udapi;
}

/** ready(): concurrent calls share one start; after a failed start the host may call it again. */
function readyOnce(parts: Parts): () => Promise<void> {
  let readyPromise: Promise<void> | undefined;
  return () => {
    readyPromise ??= start(parts);
    readyPromise.catch(() => {
      readyPromise = undefined; // let the host retry ready() after a failure
    });
    return readyPromise;
  };
}

async function start(parts: Parts): Promise<void> {
  const { config, models, health, events, feed, hints, lastUse, managerLog, pepperGuard, usage } = parts;
  await config.connection.asPromise();
  await models.tokens.createIndexes();
  await models.definitions.createIndexes();
  await models.changes.createIndexes();
  await models.events.createIndexes();
  await models.lastUses.createIndexes();
  if (usage) await models.usage.createIndexes();
  // Before anything is served: a wrong pepper would refuse every stored secret and make new ones that work nowhere else.
  await pepperGuard.check();
  await health.start();
  if (!health.ready) throw new Error('The database did not answer during ready(); see the manager log');
  events.startPruning();
  feed.start(config.changePollIntervalMs, config.fullReloadIntervalMs);
  // A first poll now: a load that took longer than maxViewLagMs must not leave the view 'lagging' until the timer's.
  await feed.pollOrWarn();
  if (hints) await subscribeToHints(feed, hints, managerLog);
  lastUse.start();
  usage?.start();
  managerLog.info(
    { bcryptRounds: config.bcryptRounds, bcryptConcurrency: config.bcryptConcurrency },
    'User-defined APIs ready',
  );
}

/** How long ready() waits for the hint subscription; Redis down must not hold the start (the timer still polls). */
const HINT_SUBSCRIBE_WAIT_MS = 2000;

async function subscribeToHints(feed: ChangeFeed, hints: ChangeHints, log: Logger): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const subscribed = feed.hintedBy(hints).then(
    () => true,
    (error: unknown) => {
      log.warn({ err: errorSummary(error) }, 'Could not subscribe to change hints; changes arrive at each poll');
      return true;
    },
  );
  const waited = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), HINT_SUBSCRIBE_WAIT_MS);
  });
  if (!(await Promise.race([subscribed, waited])))
    log.warn({}, 'The change-hint subscription is not confirmed yet; changes arrive at each poll until it is');
  clearTimeout(timer);
}

async function stop({ events, health, lastUse, feed, hints, usage }: Parts): Promise<void> {
  events.stopPruning();
  health.stop();
  hints?.stop();
  // Both writes at once: close() then takes at most the longer of their waits, not the sum.
  await Promise.all([lastUse.stop(), usage?.stop(), feed.stop()]);
}
