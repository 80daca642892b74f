// Checks the options of createUserDefinedApis once, at build time, and resolves them into a frozen internal Config.
import os from 'node:os';
import type { Connection } from 'mongoose';
import type { RateLimitStore } from './domain/rate-limit-store';
import type { CallLogLevels, Config, MetricsConfig } from './domain/config';
import { adaptLogger, detectLoggerStyle, missingWinstonLevels, STYLE_METHODS } from './domain/logger-styles';
import type { RequestIdConfig } from './domain/request-id';
import type { ChangeHintClient, Logger, LoggerStyle, UserDefinedApisOptions } from './types';
import { OptionsError } from './errors';
import { NOOP_LOGGER } from './logging';
import { checkKeys } from './shared/option-keys';
import { SECRET_PREFIX_PATTERN } from './domain/secrets';

const MIB = 1024 * 1024;

/** Every option, listed once: the type makes adding an option to UserDefinedApisOptions without listing it here fail to compile. */
const KNOWN_OPTIONS: ReadonlySet<string> = new Set(
  Object.keys({
    connection: true,
    pepper: true,
    authenticateAdmin: true,
    logger: true,
    loggerStyle: true,
    callLogLevels: true,
    requestId: true,
    passErrorsToHost: true,
    instanceId: true,
    collections: true,
    bcryptRounds: true,
    bcryptConcurrency: true,
    bcryptQueueLimit: true,
    verifiedSecretCacheSize: true,
    secretPrefix: true,
    eventRetentionDays: true,
    usage: true,
    usageIntervalMs: true,
    usageMinuteRetentionDays: true,
    usageHourRetentionDays: true,
    adminBodyLimitBytes: true,
    basePath: true,
    maxBodyBytes: true,
    maxResponseBodyBytes: true,
    actionTimeoutMs: true,
    maxConcurrentActions: true,
    maxQueuedActions: true,
    failedAuthThrottle: true,
    healthCheckIntervalMs: true,
    changePollIntervalMs: true,
    maxViewLagMs: true,
    fullReloadIntervalMs: true,
    lastUsedIntervalMs: true,
    importBodyLimitBytes: true,
    rateLimitStore: true,
    changeHints: true,
    adminUi: true,
    metrics: true,
    maxBufferedBodyBytes: true,
    bodyIdleTimeoutMs: true,
  } satisfies Record<keyof UserDefinedApisOptions, true>),
);

/** An integer option's range and default. */
export interface IntegerRule {
  readonly min: number;
  readonly max: number;
  readonly fallback: number;
}

/** The integer options whose default is a constant (maxConcurrentActions depends on the machine; see parseOptions). */
type ConstantIntegerOption = Exclude<
  {
    [K in keyof UserDefinedApisOptions]-?: NonNullable<UserDefinedApisOptions[K]> extends number ? K : never;
  }[keyof UserDefinedApisOptions],
  'maxConcurrentActions' | 'maxViewLagMs'
>;

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
  usageIntervalMs: { min: 100, max: 3_600_000, fallback: 15_000 },
  usageMinuteRetentionDays: { min: 1, max: 90, fallback: 7 },
  usageHourRetentionDays: { min: 1, max: 3650, fallback: 90 },
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
  adminBodyLimitBytes: { min: 1024, max: 10 * MIB, fallback: 128 * 1024 },
  importBodyLimitBytes: { min: 1024, max: 1024 * MIB, fallback: 64 * MIB },
} as const satisfies Record<ConstantIntegerOption, IntegerRule>;

/** The parts of failedAuthThrottle, as INTEGER_OPTIONS has them for top-level options. */
export const FAILED_AUTH_THROTTLE_OPTIONS = {
  limit: { min: 1, max: 1_000_000, fallback: 30 },
  windowSeconds: { min: 1, max: 86_400, fallback: 60 },
  ipv6Subnet: { min: 1, max: 128, fallback: 64 },
} as const satisfies Record<string, IntegerRule>;

/**
 * maxViewLagMs: how far behind the change log a view may be before the endpoint fails closed. It must leave room
 * for a few polls, so by default it grows with changePollIntervalMs, and a smaller one is refused.
 */
export function maxViewLagRule(changePollIntervalMs: number): IntegerRule {
  return { min: 2 * changePollIntervalMs, max: 3_600_000, fallback: Math.max(2000, 4 * changePollIntervalMs) };
}

/** maxConcurrentActions: at least 4, more on a machine with more cores. */
const MAX_CONCURRENT_ACTIONS = {
  min: 1,
  max: 10_000,
  fallback: Math.max(4, os.availableParallelism()),
} satisfies IntegerRule;

function integerOption(value: unknown, name: string, { min, max, fallback }: IntegerRule): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new OptionsError(
      `\`${name}\` must be an integer from ${min} to ${max} (got ${JSON.stringify(value) ?? typeof value}); leave it out for the default ${fallback}.`,
    );
  }
  return value;
}

function collectionName(value: unknown, name: string, fallback: string): string {
  if (value === undefined) return fallback;
  if (typeof value !== 'string' || !/^[A-Za-z_][A-Za-z0-9_]{0,99}$/.test(value)) {
    throw new OptionsError(
      `\`collections.${name}\` must be a collection name of letters, digits and underscores (got ${JSON.stringify(value)}).`,
    );
  }
  return value;
}

function looksLikeConnection(value: unknown): value is Connection {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as Connection).model === 'function' &&
    typeof (value as Connection).readyState === 'number'
  );
}

function hasMethods(value: unknown, names: readonly string[]): boolean {
  if (typeof value !== 'object' && typeof value !== 'function') return false;
  if (value === null) return false;
  const record = value as Record<string, unknown>;
  return names.every((name) => typeof record[name] === 'function');
}

/** A Prometheus metric name is [a-zA-Z_:][a-zA-Z0-9_:]*; colons are for recording rules, so the prefix leaves them out. */
const METRIC_PREFIX = /^(?:[A-Za-z_][A-Za-z0-9_]{0,99})?$/;

const CHANGE_HINT_CHANNEL = /^[\w:.-]{1,100}$/;

function changeHintsOption(value: unknown): Config['changeHints'] {
  if (value === undefined) return null;
  const howTo = 'e.g. { redis: new Redis(url) } (ioredis), optionally with a `channel`';
  if (typeof value !== 'object' || value === null)
    throw new OptionsError(`\`changeHints\` must be an object, ${howTo}.`);
  checkKeys(value, ['redis', 'channel'], 'changeHints.');
  const { redis, channel = 'udapi:changes' } = value as { redis?: unknown; channel?: unknown };
  if (!hasMethods(redis, ['publish', 'duplicate']))
    throw new OptionsError(`\`changeHints.redis\` must be a Redis client with publish() and duplicate(), ${howTo}.`);
  if (typeof channel !== 'string' || !CHANGE_HINT_CHANNEL.test(channel))
    throw new OptionsError(
      `\`changeHints.channel\` must be 1-100 letters, digits and _ : . - (got ${JSON.stringify(channel) ?? typeof channel}); leave it out for "udapi:changes".`,
    );
  return Object.freeze({ redis: redis as ChangeHintClient, channel });
}

function metricsOption(value: unknown): MetricsConfig | null {
  if (value === undefined) return null;
  const howTo = "e.g. { promClient: require('prom-client') } or { promClient, registry, prefix: 'udapi_' }";
  if (typeof value !== 'object' || value === null) throw new OptionsError(`\`metrics\` must be an object, ${howTo}.`);
  checkKeys(value, ['promClient', 'registry', 'prefix'], 'metrics.');
  const { promClient, registry, prefix } = value as { promClient?: unknown; registry?: unknown; prefix?: unknown };
  if (!hasMethods(promClient, ['Registry', 'Counter', 'Gauge', 'Histogram'])) {
    throw new OptionsError(
      `\`metrics.promClient\` must be the prom-client module (v15, with Registry, Counter, Gauge and Histogram), ${howTo}.`,
    );
  }
  if (
    registry !== undefined &&
    (!hasMethods(registry, ['metrics', 'registerMetric']) ||
      typeof (registry as { contentType?: unknown }).contentType !== 'string')
  ) {
    throw new OptionsError(
      '`metrics.registry` must be a prom-client Registry (e.g. new promClient.Registry() or promClient.register); leave it out for a registry of its own.',
    );
  }
  if (prefix !== undefined && (typeof prefix !== 'string' || !METRIC_PREFIX.test(prefix))) {
    throw new OptionsError(
      `\`metrics.prefix\` must be letters, digits and underscores, not starting with a digit, at most 100 characters (got ${JSON.stringify(prefix) ?? typeof prefix}); leave it out for "udapi_".`,
    );
  }
  return Object.freeze({
    promClient: promClient as MetricsConfig['promClient'],
    registry: (registry as MetricsConfig['registry'] | undefined) ?? null,
    prefix: typeof prefix === 'string' ? prefix : 'udapi_',
  });
}

/** Validates the public options and fills in defaults. Never mutates its argument. */
export function parseOptions(options: UserDefinedApisOptions): Config {
  checkOptionNames(options);
  // Checked in this order, so the first problem reported stays the same whatever else is wrong.
  const connection = connectionOption(options.connection);
  const pepper = pepperOption(options.pepper);
  const authenticateAdmin = authenticateAdminOption(options.authenticateAdmin);
  const logger = loggerOption(options.logger, options.loggerStyle);
  const instanceId = instanceIdOption(options.instanceId);
  const collections = collectionsOption(options.collections);
  const rateLimitStore = rateLimitStoreOption(options.rateLimitStore);
  const basePath = basePathOption(options.basePath);
  const adminUi = adminUiOption(options.adminUi);
  const failedAuthThrottle = failedAuthThrottleOption(options.failedAuthThrottle);
  const integer = (name: ConstantIntegerOption): number => integerOption(options[name], name, INTEGER_OPTIONS[name]);
  return Object.freeze({
    connection,
    pepper,
    authenticateAdmin,
    logger,
    instanceId,
    collections,
    bcryptRounds: integer('bcryptRounds'),
    bcryptConcurrency: integer('bcryptConcurrency'),
    bcryptQueueLimit: integer('bcryptQueueLimit'),
    verifiedSecretCacheSize: integer('verifiedSecretCacheSize'),
    secretPrefix: secretPrefixOption(options.secretPrefix),
    eventRetentionDays: integer('eventRetentionDays'),
    basePath,
    maxBodyBytes: integer('maxBodyBytes'),
    maxResponseBodyBytes: integer('maxResponseBodyBytes'),
    actionTimeoutMs: integer('actionTimeoutMs'),
    maxConcurrentActions: integerOption(options.maxConcurrentActions, 'maxConcurrentActions', MAX_CONCURRENT_ACTIONS),
    maxQueuedActions: integer('maxQueuedActions'),
    failedAuthThrottle,
    maxBufferedBodyBytes: integer('maxBufferedBodyBytes'),
    bodyIdleTimeoutMs: integer('bodyIdleTimeoutMs'),
    changePollIntervalMs: integer('changePollIntervalMs'),
    maxViewLagMs: integerOption(options.maxViewLagMs, 'maxViewLagMs', maxViewLagRule(integer('changePollIntervalMs'))),
    fullReloadIntervalMs: integer('fullReloadIntervalMs'),
    lastUsedIntervalMs: integer('lastUsedIntervalMs'),
    rateLimitStore,
    changeHints: changeHintsOption(options.changeHints),
    adminUi,
    usage: usageOption(options.usage)
      ? {
          intervalMs: integer('usageIntervalMs'),
          minuteRetentionDays: integer('usageMinuteRetentionDays'),
          hourRetentionDays: integer('usageHourRetentionDays'),
        }
      : null,
    metrics: metricsOption(options.metrics),
    healthCheckIntervalMs: integer('healthCheckIntervalMs'),
    adminBodyLimitBytes: integer('adminBodyLimitBytes'),
    importBodyLimitBytes: integer('importBodyLimitBytes'),
    callLogLevels: callLogLevelsOption(options.callLogLevels),
    requestId: requestIdOption(options.requestId),
    passErrorsToHost: passErrorsToHostOption(options.passErrorsToHost),
  });
}

function checkOptionNames(options: UserDefinedApisOptions): void {
  if (typeof options !== 'object' || options === null) {
    throw new OptionsError('pass an options object: { connection, pepper, authenticateAdmin }.');
  }
  checkKeys(options, [...KNOWN_OPTIONS], '');
}

function connectionOption(value: unknown): Connection {
  if (!looksLikeConnection(value)) {
    throw new OptionsError(
      '`connection` must be a mongoose Connection, e.g. mongoose.connection or mongoose.createConnection(uri).',
    );
  }
  return value;
}

function pepperOption(value: UserDefinedApisOptions['pepper']): Buffer {
  const pepper = typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
  if (!Buffer.isBuffer(pepper) || pepper.length < 32) {
    throw new OptionsError(
      '`pepper` must be a string of at least 32 characters or a Buffer of at least 32 bytes, kept outside MongoDB ' +
        "(e.g. process.env.UDAPI_PEPPER; make one with `node -e \"console.log(require('crypto').randomBytes(32).toString('base64'))\"`).",
    );
  }
  return Buffer.from(pepper); // a copy: the caller may zero or reuse its buffer
}

function authenticateAdminOption(value: UserDefinedApisOptions['authenticateAdmin']): Config['authenticateAdmin'] {
  if (typeof value !== 'function') {
    throw new OptionsError(
      '`authenticateAdmin` must be a function (req) => ({ name, permissions }) | null that identifies admin users.',
    );
  }
  return value;
}

const LOGGER_STYLES: readonly LoggerStyle[] = ['pino', 'bunyan', 'winston', 'console'];

function loggerOption(value: unknown, styleValue: unknown): Logger {
  if (styleValue !== undefined && !LOGGER_STYLES.includes(styleValue as LoggerStyle)) {
    throw new OptionsError(
      `\`loggerStyle\` must be one of ${LOGGER_STYLES.join(', ')} (got ${JSON.stringify(styleValue) ?? typeof styleValue}); leave it out to have it recognised.`,
    );
  }
  if (value === undefined) return NOOP_LOGGER;
  const howTo = 'pass a pino, bunyan or winston logger, or console';
  if (typeof value !== 'object' || value === null)
    throw new OptionsError(`\`logger\` must be a logger object: ${howTo}.`);
  const style = (styleValue as LoggerStyle | undefined) ?? detectLoggerStyle(value);
  if (style === null || !hasMethods(value, STYLE_METHODS[style])) {
    throw new OptionsError(
      style === null
        ? `\`logger\` must have debug, info, warn and error methods: ${howTo}.`
        : `\`logger\` of style ${style} must have the methods ${STYLE_METHODS[style].join(', ')}.`,
    );
  }
  const missing = style === 'winston' ? missingWinstonLevels(value) : [];
  if (missing.length > 0) {
    throw new OptionsError(
      `\`logger\` (winston) lacks the level${missing.length > 1 ? 's' : ''} ${missing.join(', ')} the package logs at: use winston's default (npm) levels or add them.`,
    );
  }
  return adaptLogger(value as Logger, style);
}

const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;

function callLogLevelsOption(value: unknown): CallLogLevels {
  if (value === undefined) return Object.freeze({ start: 'info', end: 'info' });
  if (typeof value !== 'object' || value === null) {
    throw new OptionsError("`callLogLevels` must be an object such as { start: false, end: 'info' }.");
  }
  checkKeys(value, ['start', 'end'], 'callLogLevels.');
  const level = (part: 'start' | 'end'): CallLogLevels['start'] => {
    const given = (value as Record<string, unknown>)[part];
    if (given === undefined) return 'info';
    if (given === false) return null;
    if (LOG_LEVELS.includes(given as (typeof LOG_LEVELS)[number])) return given as CallLogLevels['start'];
    throw new OptionsError(
      `\`callLogLevels.${part}\` must be one of ${LOG_LEVELS.join(', ')} or false (got ${JSON.stringify(given) ?? typeof given}); leave it out for info.`,
    );
  };
  return Object.freeze({ start: level('start'), end: level('end') });
}

/** An HTTP header name (RFC 9110 token), at most 100 characters. */
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,100}$/;

function requestIdOption(value: unknown): RequestIdConfig | null {
  if (value === undefined) return null;
  const howTo = "e.g. { header: 'x-request-id' } or {} (req.id, and the X-Request-Id response header)";
  if (typeof value !== 'object' || value === null) throw new OptionsError(`\`requestId\` must be an object, ${howTo}.`);
  checkKeys(value, ['fromRequest', 'header', 'responseHeader'], 'requestId.');
  const { fromRequest, header, responseHeader } = value as Record<string, unknown>;
  if (fromRequest !== undefined && typeof fromRequest !== 'boolean') {
    throw new OptionsError('`requestId.fromRequest` must be true (use req.id, the default) or false.');
  }
  if (header !== undefined && (typeof header !== 'string' || !HEADER_NAME.test(header))) {
    throw new OptionsError(`\`requestId.header\` must be a header name such as 'x-request-id'; leave it out for none.`);
  }
  if (
    responseHeader !== undefined &&
    responseHeader !== false &&
    (typeof responseHeader !== 'string' || !HEADER_NAME.test(responseHeader))
  ) {
    throw new OptionsError(
      "`requestId.responseHeader` must be a header name such as 'X-Request-Id' or false; leave it out for X-Request-Id.",
    );
  }
  return Object.freeze({
    fromRequest: fromRequest ?? true,
    header: typeof header === 'string' ? header.toLowerCase() : null,
    responseHeader: responseHeader === false ? null : (responseHeader ?? 'X-Request-Id'),
  });
}

function secretPrefixOption(value: unknown): string | null {
  if (value === undefined) return null;
  if (typeof value !== 'string' || !SECRET_PREFIX_PATTERN.test(value)) {
    throw new OptionsError(
      `\`secretPrefix\` must be 1-16 letters, digits and underscores, such as "udapi_" (got ${JSON.stringify(value) ?? typeof value}); leave it out for none.`,
    );
  }
  return value;
}

function passErrorsToHostOption(value: unknown): Config['passErrorsToHost'] {
  if (value === undefined || value === false) return 'none';
  if (value === 'unexpected' || value === 'all') return value;
  throw new OptionsError(
    `\`passErrorsToHost\` must be 'unexpected' (500s only), 'all' or false (got ${JSON.stringify(value) ?? typeof value}); leave it out to answer every failure in the package.`,
  );
}

function instanceIdOption(value: unknown): string {
  if (value === undefined) return `${os.hostname()}:${process.pid}`;
  if (typeof value !== 'string' || value.trim() === '' || value.length > 200) {
    throw new OptionsError(
      '`instanceId` must be a non-empty string of at most 200 characters; leave it out for hostname:pid.',
    );
  }
  return value;
}

function collectionsOption(value: UserDefinedApisOptions['collections']): Config['collections'] {
  const collections = value ?? {};
  if (typeof collections !== 'object' || collections === null) {
    throw new OptionsError('`collections` must be an object such as { tokens: "apiTokens" }.');
  }
  checkKeys(collections, ['tokens', 'definitions', 'events', 'changes', 'meta', 'usage', 'lastUses'], 'collections.');
  const resolved = {
    tokens: collectionName(collections.tokens, 'tokens', 'udapiApiTokens'),
    definitions: collectionName(collections.definitions, 'definitions', 'udapiApiDefinitions'),
    events: collectionName(collections.events, 'events', 'udapiEvents'),
    changes: collectionName(collections.changes, 'changes', 'udapiChanges'),
    meta: collectionName(collections.meta, 'meta', 'udapiMeta'),
    usage: collectionName(collections.usage, 'usage', 'udapiUsage'),
    lastUses: collectionName(collections.lastUses, 'lastUses', 'udapiLastUses'),
  };
  if (new Set(Object.values(resolved)).size !== Object.keys(resolved).length) {
    throw new OptionsError('`collections` must name seven different collections.');
  }
  return Object.freeze(resolved);
}

function rateLimitStoreOption(value: UserDefinedApisOptions['rateLimitStore']): RateLimitStore | null {
  const store = value as unknown;
  if (
    store !== undefined &&
    (typeof store !== 'object' || store === null || typeof (store as RateLimitStore).hit !== 'function')
  ) {
    throw new OptionsError(
      '`rateLimitStore` must have a hit(key, limit, windowMs) method, e.g. createRedisRateLimitStore(redis).',
    );
  }
  return value ?? null;
}

function basePathOption(value: unknown): string {
  if (value !== undefined && (typeof value !== 'string' || !/^(\/[A-Za-z0-9._~-]+)+\/?$/.test(value))) {
    throw new OptionsError('`basePath` must be the path the endpoint is mounted at, such as "/api/custom".');
  }
  return (value ?? '/api/custom').replace(/\/$/, '');
}

function usageOption(value: unknown): boolean {
  if (value !== undefined && typeof value !== 'boolean') {
    throw new OptionsError('`usage` must be true (count calls for GET /usage, the default) or false.');
  }
  return value ?? true;
}

function adminUiOption(value: unknown): boolean {
  if (value !== undefined && typeof value !== 'boolean') {
    throw new OptionsError('`adminUi` must be true (serve the admin web UI at /ui, the default) or false.');
  }
  return value ?? true;
}

function failedAuthThrottleOption(value: UserDefinedApisOptions['failedAuthThrottle']): Config['failedAuthThrottle'] {
  if (value === false) return null;
  const throttle = (value === undefined ? {} : value) as unknown;
  if (typeof throttle !== 'object' || throttle === null) {
    throw new OptionsError(
      '`failedAuthThrottle` must be { limit, windowSeconds, ipv6Subnet } (each optional) or false.',
    );
  }
  checkKeys(throttle, Object.keys(FAILED_AUTH_THROTTLE_OPTIONS), 'failedAuthThrottle.');
  const { limit, windowSeconds, ipv6Subnet } = throttle as {
    limit?: unknown;
    windowSeconds?: unknown;
    ipv6Subnet?: unknown;
  };
  return {
    limit: integerOption(limit, 'failedAuthThrottle.limit', FAILED_AUTH_THROTTLE_OPTIONS.limit),
    windowMs:
      integerOption(windowSeconds, 'failedAuthThrottle.windowSeconds', FAILED_AUTH_THROTTLE_OPTIONS.windowSeconds) *
      1000,
    ipv6PrefixBits: integerOption(ipv6Subnet, 'failedAuthThrottle.ipv6Subnet', FAILED_AUTH_THROTTLE_OPTIONS.ipv6Subnet),
  };
}
