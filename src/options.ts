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

/** Every option, listed once: the type makes adding an option to UserDefinedApisOptions without listing it here fail to compile. */
const KNOWN_OPTIONS: ReadonlySet<string> = new Set(Object.keys({
  connection: true, pepper: true, authenticateAdmin: true, logger: true, instanceId: true, collections: true, bcryptRounds: true,
  bcryptConcurrency: true, bcryptQueueLimit: true, verifiedSecretCacheSize: true, eventRetentionDays: true, adminBodyLimitBytes: true,
  basePath: true, maxBodyBytes: true, maxResponseBodyBytes: true, actionTimeoutMs: true, maxConcurrentActions: true,
  maxQueuedActions: true, failedAuthThrottle: true, healthCheckIntervalMs: true, changePollIntervalMs: true, fullReloadIntervalMs: true,
  lastUsedIntervalMs: true, importBodyLimitBytes: true, rateLimitStore: true, adminUi: true, metrics: true, maxBufferedBodyBytes: true,
  bodyIdleTimeoutMs: true,
} satisfies Record<keyof UserDefinedApisOptions, true>));

/** An integer option's range and default. */
export interface IntegerRule {
  readonly min: number;
  readonly max: number;
  readonly fallback: number;
}

/** The integer options whose default is a constant (maxConcurrentActions depends on the machine; see parseOptions). */
type ConstantIntegerOption = Exclude<{ [K in keyof UserDefinedApisOptions]-?: NonNullable<UserDefinedApisOptions[K]> extends number ? K : never }[keyof UserDefinedApisOptions], 'maxConcurrentActions'>;

/**
 * The range and default of every integer option, in one place: parseOptions enforces them, and a test checks that
 * each option's TSDoc (and so the configuration page generated from it) states the same range and default.
 */
export const INTEGER_OPTIONS = {
  bcryptRounds: { min: 4, max: 15, fallback: 10 },
  bcryptConcurrency: { min: 1, max: 64, fallback: 2 },
  bcryptQueueLimit: { min: 1, max: 100_000, fallback: 1000 },
  verifiedSecretCacheSize: { min: 0, max: 10_000_000, fallback: 100_000 },
  eventRetentionDays: { min: 1, max: 3650, fallback: 90 },
  maxBodyBytes: { min: 0, max: 1024 * MIB, fallback: 29 * MIB },
  maxResponseBodyBytes: { min: 0, max: 1024 * MIB, fallback: 29 * MIB },
  actionTimeoutMs: { min: 1, max: 3_600_000, fallback: 90_000 },
  maxQueuedActions: { min: 0, max: 1_000_000, fallback: 1000 },
  maxBufferedBodyBytes: { min: 1024, max: 16 * 1024 * MIB, fallback: 256 * MIB },
  bodyIdleTimeoutMs: { min: 100, max: 600_000, fallback: 30_000 },
  changePollIntervalMs: { min: 20, max: 60_000, fallback: 250 },
  fullReloadIntervalMs: { min: 1000, max: 86_400_000, fallback: 300_000 },
  lastUsedIntervalMs: { min: 100, max: 3_600_000, fallback: 60_000 },
  healthCheckIntervalMs: { min: 20, max: 60_000, fallback: 250 },
  adminBodyLimitBytes: { min: 1024, max: 10 * MIB, fallback: 64 * 1024 },
  importBodyLimitBytes: { min: 1024, max: 1024 * MIB, fallback: 64 * MIB },
} as const satisfies Record<ConstantIntegerOption, IntegerRule>;

/** The parts of failedAuthThrottle, as INTEGER_OPTIONS has them for top-level options. */
export const FAILED_AUTH_THROTTLE_OPTIONS = {
  limit: { min: 1, max: 1_000_000, fallback: 30 },
  windowSeconds: { min: 1, max: 86_400, fallback: 60 },
  ipv6Subnet: { min: 1, max: 128, fallback: 64 },
} as const satisfies Record<string, IntegerRule>;

/** maxConcurrentActions: at least 4, more on a machine with more cores. */
const MAX_CONCURRENT_ACTIONS = { min: 1, max: 10_000, fallback: Math.max(4, os.availableParallelism()) } satisfies IntegerRule;

/** Raised for a bad option; the message says how to fix it. */
export class OptionsError extends TypeError {
  constructor(message: string) {
    super(`createUserDefinedApis: ${message}`);
    this.name = 'OptionsError';
  }
}

function integerOption(value: unknown, name: string, { min, max, fallback }: IntegerRule): number {
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

  const throttleDefaults = FAILED_AUTH_THROTTLE_OPTIONS;
  let failedAuthThrottle: Config['failedAuthThrottle'] = {
    limit: throttleDefaults.limit.fallback,
    windowMs: throttleDefaults.windowSeconds.fallback * 1000,
    ipv6PrefixBits: throttleDefaults.ipv6Subnet.fallback,
  };
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
      limit: integerOption(limit, 'failedAuthThrottle.limit', FAILED_AUTH_THROTTLE_OPTIONS.limit),
      windowMs: integerOption(windowSeconds, 'failedAuthThrottle.windowSeconds', FAILED_AUTH_THROTTLE_OPTIONS.windowSeconds) * 1000,
      ipv6PrefixBits: integerOption(ipv6Subnet, 'failedAuthThrottle.ipv6Subnet', FAILED_AUTH_THROTTLE_OPTIONS.ipv6Subnet),
    };
  }

  return Object.freeze({
    connection: options.connection,
    pepper: Buffer.from(pepper), // a copy: the caller may zero or reuse its buffer
    authenticateAdmin: options.authenticateAdmin,
    logger: options.logger ?? NOOP_LOGGER,
    instanceId: options.instanceId ?? `${os.hostname()}:${process.pid}`,
    collections: Object.freeze(resolvedCollections),
    bcryptRounds: integerOption(options.bcryptRounds, 'bcryptRounds', INTEGER_OPTIONS.bcryptRounds),
    bcryptConcurrency: integerOption(options.bcryptConcurrency, 'bcryptConcurrency', INTEGER_OPTIONS.bcryptConcurrency),
    bcryptQueueLimit: integerOption(options.bcryptQueueLimit, 'bcryptQueueLimit', INTEGER_OPTIONS.bcryptQueueLimit),
    verifiedSecretCacheSize: integerOption(options.verifiedSecretCacheSize, 'verifiedSecretCacheSize', INTEGER_OPTIONS.verifiedSecretCacheSize),
    eventRetentionDays: integerOption(options.eventRetentionDays, 'eventRetentionDays', INTEGER_OPTIONS.eventRetentionDays),
    basePath: (options.basePath ?? '/api/custom').replace(/\/$/, ''),
    maxBodyBytes: integerOption(options.maxBodyBytes, 'maxBodyBytes', INTEGER_OPTIONS.maxBodyBytes),
    maxResponseBodyBytes: integerOption(options.maxResponseBodyBytes, 'maxResponseBodyBytes', INTEGER_OPTIONS.maxResponseBodyBytes),
    actionTimeoutMs: integerOption(options.actionTimeoutMs, 'actionTimeoutMs', INTEGER_OPTIONS.actionTimeoutMs),
    maxConcurrentActions: integerOption(options.maxConcurrentActions, 'maxConcurrentActions', MAX_CONCURRENT_ACTIONS),
    maxQueuedActions: integerOption(options.maxQueuedActions, 'maxQueuedActions', INTEGER_OPTIONS.maxQueuedActions),
    failedAuthThrottle,
    maxBufferedBodyBytes: integerOption(options.maxBufferedBodyBytes, 'maxBufferedBodyBytes', INTEGER_OPTIONS.maxBufferedBodyBytes),
    bodyIdleTimeoutMs: integerOption(options.bodyIdleTimeoutMs, 'bodyIdleTimeoutMs', INTEGER_OPTIONS.bodyIdleTimeoutMs),
    changePollIntervalMs: integerOption(options.changePollIntervalMs, 'changePollIntervalMs', INTEGER_OPTIONS.changePollIntervalMs),
    fullReloadIntervalMs: integerOption(options.fullReloadIntervalMs, 'fullReloadIntervalMs', INTEGER_OPTIONS.fullReloadIntervalMs),
    lastUsedIntervalMs: integerOption(options.lastUsedIntervalMs, 'lastUsedIntervalMs', INTEGER_OPTIONS.lastUsedIntervalMs),
    rateLimitStore: options.rateLimitStore ?? null,
    adminUi: options.adminUi ?? true,
    metrics: metricsOption(options.metrics),
    healthCheckIntervalMs: integerOption(options.healthCheckIntervalMs, 'healthCheckIntervalMs', INTEGER_OPTIONS.healthCheckIntervalMs),
    adminBodyLimitBytes: integerOption(options.adminBodyLimitBytes, 'adminBodyLimitBytes', INTEGER_OPTIONS.adminBodyLimitBytes),
    importBodyLimitBytes: integerOption(options.importBodyLimitBytes, 'importBodyLimitBytes', INTEGER_OPTIONS.importBodyLimitBytes),
  });
}
