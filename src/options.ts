// Checks the options of createUserDefinedApis once, at build time, and resolves them into a frozen internal Config.
import os from 'node:os';
import type { Request } from 'express';
import type { Connection } from 'mongoose';
import type { FailedAuthThrottleConfig } from './endpoint/failed-auth-throttle';
import type { RateLimitStore } from './endpoint/sliding-window';
import type { MetricsConfig } from './metrics/plugin-metrics';
import type { AdminUser, Logger, UserDefinedApisOptions } from './types';
import { NOOP_LOGGER } from './logging';

/** Fully resolved options; internal, never exported from the package root. */
export interface Config {
  readonly connection: Connection;
  readonly pepper: Buffer;
  readonly authenticateAdmin: (req: Request) => AdminUser | null | undefined | Promise<AdminUser | null | undefined>;
  readonly logger: Logger;
  readonly instanceId: string;
  readonly collections: { readonly tokens: string; readonly definitions: string; readonly events: string; readonly changes: string };
  readonly bcryptRounds: number;
  readonly bcryptConcurrency: number;
  readonly bcryptQueueLimit: number;
  readonly verifiedSecretCacheSize: number;
  readonly eventRetentionDays: number;
  readonly adminBodyLimitBytes: number;
  readonly basePath: string;
  readonly maxBodyBytes: number;
  readonly maxResponseBodyBytes: number;
  readonly actionTimeoutMs: number;
  readonly maxConcurrentActions: number;
  readonly maxQueuedActions: number;
  readonly failedAuthThrottle: FailedAuthThrottleConfig | null;
  readonly maxBufferedBodyBytes: number;
  readonly bodyIdleTimeoutMs: number;
  readonly healthCheckIntervalMs: number;
  readonly changePollIntervalMs: number;
  readonly fullReloadIntervalMs: number;
  readonly lastUsedIntervalMs: number;
  readonly importBodyLimitBytes: number;
  readonly rateLimitStore: RateLimitStore | null;
  readonly adminUi: boolean;
  readonly metrics: MetricsConfig | null;
}

const MIB = 1024 * 1024;

const KNOWN_OPTIONS = new Set([
  'connection', 'pepper', 'authenticateAdmin', 'logger', 'instanceId', 'collections', 'bcryptRounds',
  'bcryptConcurrency', 'bcryptQueueLimit', 'verifiedSecretCacheSize', 'eventRetentionDays', 'adminBodyLimitBytes', 'basePath', 'maxBodyBytes',
  'maxResponseBodyBytes', 'actionTimeoutMs', 'maxConcurrentActions', 'maxQueuedActions', 'failedAuthThrottle', 'healthCheckIntervalMs',
  'changePollIntervalMs', 'fullReloadIntervalMs', 'lastUsedIntervalMs', 'importBodyLimitBytes', 'rateLimitStore', 'adminUi',
  'metrics', 'maxBufferedBodyBytes', 'bodyIdleTimeoutMs',
]);

/** Raised for a bad option; the message says how to fix it. */
export class OptionsError extends TypeError {
  constructor(message: string) {
    super(`createUserDefinedApis: ${message}`);
    this.name = 'OptionsError';
  }
}

function integerOption(value: unknown, name: string, min: number, max: number, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new OptionsError(`\`${name}\` must be an integer from ${min} to ${max} (got ${JSON.stringify(value) ?? typeof value}); leave it out for the default ${fallback}.`);
  }
  return value;
}

function collectionName(value: unknown, name: string, fallback: string): string {
  if (value === undefined) return fallback;
  if (typeof value !== 'string' || !/^[A-Za-z_][A-Za-z0-9_]{0,99}$/.test(value)) {
    throw new OptionsError(`\`collections.${name}\` must be a collection name of letters, digits and underscores (got ${JSON.stringify(value)}).`);
  }
  return value;
}

function looksLikeConnection(value: unknown): value is Connection {
  return typeof value === 'object' && value !== null && typeof (value as Connection).model === 'function'
    && typeof (value as Connection).readyState === 'number';
}

function looksLikeLogger(value: unknown): value is Logger {
  if (typeof value !== 'object' || value === null) return false;
  const logger = value as Record<string, unknown>;
  return ['debug', 'info', 'warn', 'error', 'child'].every((method) => typeof logger[method] === 'function');
}

function hasMethods(value: unknown, names: readonly string[]): boolean {
  if (typeof value !== 'object' && typeof value !== 'function') return false;
  if (value === null) return false;
  const record = value as Record<string, unknown>;
  return names.every((name) => typeof record[name] === 'function');
}

/** A Prometheus metric name is [a-zA-Z_:][a-zA-Z0-9_:]*; colons are for recording rules, so the prefix leaves them out. */
const METRIC_PREFIX = /^(?:[A-Za-z_][A-Za-z0-9_]{0,99})?$/;

function metricsOption(value: unknown): MetricsConfig | null {
  if (value === undefined) return null;
  const howTo = "e.g. { promClient: require('prom-client') } or { promClient, registry, prefix: 'udapi_' }";
  if (typeof value !== 'object' || value === null) throw new OptionsError(`\`metrics\` must be an object, ${howTo}.`);
  const { promClient, registry, prefix, ...unknown } = value as { promClient?: unknown; registry?: unknown; prefix?: unknown };
  const unknownKey = Object.keys(unknown)[0];
  if (unknownKey !== undefined) throw new OptionsError(`unknown option \`metrics.${unknownKey}\`; use promClient, registry or prefix.`);
  if (!hasMethods(promClient, ['Registry', 'Counter', 'Gauge', 'Histogram'])) {
    throw new OptionsError(`\`metrics.promClient\` must be the prom-client module (v15, with Registry, Counter, Gauge and Histogram), ${howTo}.`);
  }
  if (registry !== undefined && (!hasMethods(registry, ['metrics', 'registerMetric']) || typeof (registry as { contentType?: unknown }).contentType !== 'string')) {
    throw new OptionsError('`metrics.registry` must be a prom-client Registry (e.g. new promClient.Registry() or promClient.register); leave it out for a registry of its own.');
  }
  if (prefix !== undefined && (typeof prefix !== 'string' || !METRIC_PREFIX.test(prefix))) {
    throw new OptionsError(`\`metrics.prefix\` must be letters, digits and underscores, not starting with a digit, at most 100 characters (got ${JSON.stringify(prefix) ?? typeof prefix}); leave it out for "udapi_".`);
  }
  return Object.freeze({
    promClient: promClient as MetricsConfig['promClient'],
    registry: (registry as MetricsConfig['registry'] | undefined) ?? null,
    prefix: typeof prefix === 'string' ? prefix : 'udapi_',
  });
}

/** Validates the public options and fills in defaults. Never mutates its argument. */
export function parseOptions(options: UserDefinedApisOptions): Config {
  if (typeof options !== 'object' || options === null) {
    throw new OptionsError('pass an options object: { connection, pepper, authenticateAdmin }.');
  }
  for (const key of Object.keys(options)) {
    if (!KNOWN_OPTIONS.has(key)) throw new OptionsError(`unknown option \`${key}\`; remove it (known options: ${[...KNOWN_OPTIONS].join(', ')}).`);
  }
  if (!looksLikeConnection(options.connection)) {
    throw new OptionsError('`connection` must be a mongoose Connection, e.g. mongoose.connection or mongoose.createConnection(uri).');
  }
  const pepper = typeof options.pepper === 'string' ? Buffer.from(options.pepper, 'utf8') : options.pepper;
  if (!Buffer.isBuffer(pepper) || pepper.length < 32) {
    throw new OptionsError(
      '`pepper` must be a string of at least 32 characters or a Buffer of at least 32 bytes, kept outside MongoDB ' +
        "(e.g. process.env.UDAPI_PEPPER; make one with `node -e \"console.log(require('crypto').randomBytes(32).toString('base64'))\"`).",
    );
  }
  if (typeof options.authenticateAdmin !== 'function') {
    throw new OptionsError('`authenticateAdmin` must be a function (req) => ({ name, permissions }) | null that identifies admin users.');
  }
  if (options.logger !== undefined && !looksLikeLogger(options.logger)) {
    throw new OptionsError('`logger` must be pino-compatible: an object with debug, info, warn, error and child methods.');
  }
  if (options.instanceId !== undefined && (typeof options.instanceId !== 'string' || options.instanceId.trim() === '' || options.instanceId.length > 200)) {
    throw new OptionsError('`instanceId` must be a non-empty string of at most 200 characters; leave it out for hostname:pid.');
  }
  const collections = options.collections ?? {};
  if (typeof collections !== 'object' || collections === null) {
    throw new OptionsError('`collections` must be an object such as { tokens: "apiTokens" }.');
  }
  for (const key of Object.keys(collections)) {
    if (!['tokens', 'definitions', 'events', 'changes'].includes(key)) {
      throw new OptionsError(`unknown collection \`collections.${key}\`; use tokens, definitions, events or changes.`);
    }
  }
  const resolvedCollections = {
    tokens: collectionName(collections.tokens, 'tokens', 'udapiApiTokens'),
    definitions: collectionName(collections.definitions, 'definitions', 'udapiApiDefinitions'),
    events: collectionName(collections.events, 'events', 'udapiEvents'),
    changes: collectionName(collections.changes, 'changes', 'udapiChanges'),
  };
  if (new Set(Object.values(resolvedCollections)).size !== 4) {
    throw new OptionsError('`collections` must name four different collections.');
  }
  const store = options.rateLimitStore as unknown;
  if (store !== undefined && (typeof store !== 'object' || store === null || typeof (store as RateLimitStore).hit !== 'function')) {
    throw new OptionsError('`rateLimitStore` must have a hit(key, limit, windowMs) method, e.g. createRedisRateLimitStore(redis).');
  }

  if (options.basePath !== undefined && (typeof options.basePath !== 'string' || !/^(\/[A-Za-z0-9._~-]+)+\/?$/.test(options.basePath))) {
    throw new OptionsError('`basePath` must be the path the endpoint is mounted at, such as "/api/custom".');
  }

  if (options.adminUi !== undefined && typeof options.adminUi !== 'boolean') {
    throw new OptionsError('`adminUi` must be true (serve the admin web UI at /ui, the default) or false.');
  }

  let failedAuthThrottle: Config['failedAuthThrottle'] = { limit: 30, windowMs: 60_000, ipv6PrefixBits: 64 };
  if (options.failedAuthThrottle === false) {
    failedAuthThrottle = null;
  } else if (options.failedAuthThrottle !== undefined) {
    const throttle = options.failedAuthThrottle as unknown;
    if (typeof throttle !== 'object' || throttle === null) {
      throw new OptionsError('`failedAuthThrottle` must be { limit, windowSeconds, ipv6Subnet } (each optional) or false.');
    }
    const { limit, windowSeconds, ipv6Subnet, ...unknown } = throttle as { limit?: unknown; windowSeconds?: unknown; ipv6Subnet?: unknown };
    const unknownKey = Object.keys(unknown)[0];
    if (unknownKey !== undefined) throw new OptionsError(`unknown option \`failedAuthThrottle.${unknownKey}\`; use limit, windowSeconds or ipv6Subnet.`);
    failedAuthThrottle = {
      limit: integerOption(limit, 'failedAuthThrottle.limit', 1, 1_000_000, 30),
      windowMs: integerOption(windowSeconds, 'failedAuthThrottle.windowSeconds', 1, 86_400, 60) * 1000,
      ipv6PrefixBits: integerOption(ipv6Subnet, 'failedAuthThrottle.ipv6Subnet', 1, 128, 64),
    };
  }

  return Object.freeze({
    connection: options.connection,
    pepper: Buffer.from(pepper), // a copy: the caller may zero or reuse its buffer
    authenticateAdmin: options.authenticateAdmin,
    logger: options.logger ?? NOOP_LOGGER,
    instanceId: options.instanceId ?? `${os.hostname()}:${process.pid}`,
    collections: Object.freeze(resolvedCollections),
    bcryptRounds: integerOption(options.bcryptRounds, 'bcryptRounds', 4, 15, 10),
    bcryptConcurrency: integerOption(options.bcryptConcurrency, 'bcryptConcurrency', 1, 64, 2),
    bcryptQueueLimit: integerOption(options.bcryptQueueLimit, 'bcryptQueueLimit', 1, 100_000, 1000),
    verifiedSecretCacheSize: integerOption(options.verifiedSecretCacheSize, 'verifiedSecretCacheSize', 0, 10_000_000, 100_000),
    eventRetentionDays: integerOption(options.eventRetentionDays, 'eventRetentionDays', 1, 3650, 90),
    basePath: (options.basePath ?? '/api/custom').replace(/\/$/, ''),
    maxBodyBytes: integerOption(options.maxBodyBytes, 'maxBodyBytes', 0, 1024 * MIB, 29 * MIB),
    maxResponseBodyBytes: integerOption(options.maxResponseBodyBytes, 'maxResponseBodyBytes', 0, 1024 * MIB, 29 * MIB),
    actionTimeoutMs: integerOption(options.actionTimeoutMs, 'actionTimeoutMs', 1, 3_600_000, 90_000),
    maxConcurrentActions: integerOption(options.maxConcurrentActions, 'maxConcurrentActions', 1, 10_000, Math.max(4, os.availableParallelism())),
    maxQueuedActions: integerOption(options.maxQueuedActions, 'maxQueuedActions', 0, 1_000_000, 1000),
    failedAuthThrottle,
    maxBufferedBodyBytes: integerOption(options.maxBufferedBodyBytes, 'maxBufferedBodyBytes', 1024, 16 * 1024 * MIB, 256 * MIB),
    bodyIdleTimeoutMs: integerOption(options.bodyIdleTimeoutMs, 'bodyIdleTimeoutMs', 100, 600_000, 30_000),
    changePollIntervalMs: integerOption(options.changePollIntervalMs, 'changePollIntervalMs', 20, 60_000, 250),
    fullReloadIntervalMs: integerOption(options.fullReloadIntervalMs, 'fullReloadIntervalMs', 1000, 86_400_000, 300_000),
    lastUsedIntervalMs: integerOption(options.lastUsedIntervalMs, 'lastUsedIntervalMs', 100, 3_600_000, 60_000),
    rateLimitStore: options.rateLimitStore ?? null,
    adminUi: options.adminUi ?? true,
    metrics: metricsOption(options.metrics),
    healthCheckIntervalMs: integerOption(options.healthCheckIntervalMs, 'healthCheckIntervalMs', 20, 60_000, 250),
    adminBodyLimitBytes: integerOption(options.adminBodyLimitBytes, 'adminBodyLimitBytes', 1024, 10 * 1024 * 1024, 64 * 1024),
    importBodyLimitBytes: integerOption(options.importBodyLimitBytes, 'importBodyLimitBytes', 1024, 1024 * MIB, 64 * MIB),
  });
}
