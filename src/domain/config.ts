// The resolved options the package runs on (options.ts checks and builds them): internal, never exported from the package root.
import type { Request } from 'express';
import type { Connection } from 'mongoose';
import type { PromClientLike, RegistryLike } from './prom-client-like';
import type { RateLimitStore } from './rate-limit-store';
import type { AdminUser, ChangeHintClient, Logger, LogLevel } from '../types';
import type { RequestIdConfig } from './request-id';

/** The resolved `failedAuthThrottle` option. */
export interface FailedAuthThrottleConfig {
  readonly limit: number;
  readonly windowMs: number;
  /** IPv6 clients are counted per network of this many leading bits (default 64). */
  readonly ipv6PrefixBits: number;
}

/** The resolved `metrics` option. */
export interface MetricsConfig {
  readonly promClient: PromClientLike;
  readonly registry: RegistryLike | null;
  readonly prefix: string;
}

/** The resolved `callLogLevels` option: null, no line. */
export interface CallLogLevels {
  readonly start: LogLevel | null;
  readonly end: LogLevel | null;
}

/** Fully resolved options; internal, never exported from the package root. */
export interface Config {
  readonly connection: Connection;
  readonly pepper: Buffer;
  readonly authenticateAdmin: (req: Request) => AdminUser | null | undefined | Promise<AdminUser | null | undefined>;
  readonly logger: Logger;
  readonly instanceId: string;
  readonly collections: {
    readonly tokens: string;
    readonly definitions: string;
    readonly events: string;
    readonly changes: string;
    /** The store's metadata (the pepper check). */
    readonly meta: string;
    readonly usage: string;
    readonly lastUses: string;
  };
  readonly bcryptRounds: number;
  readonly bcryptConcurrency: number;
  readonly bcryptQueueLimit: number;
  readonly verifiedSecretCacheSize: number;
  /** Generated secrets start with it and end with a checksum; null: plain base64 secrets. */
  readonly secretPrefix: string | null;
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
  readonly maxViewLagMs: number;
  readonly fullReloadIntervalMs: number;
  readonly lastUsedIntervalMs: number;
  readonly importBodyLimitBytes: number;
  readonly rateLimitStore: RateLimitStore | null;
  readonly changeHints: { readonly redis: ChangeHintClient; readonly channel: string } | null;
  readonly adminUi: boolean;
  /** Null with `usage: false`. */
  readonly usage: {
    readonly intervalMs: number;
    readonly minuteRetentionDays: number;
    readonly hourRetentionDays: number;
  } | null;
  readonly metrics: MetricsConfig | null;
  readonly callLogLevels: CallLogLevels;
  readonly requestId: RequestIdConfig | null;
  /** 'none': the package answers every failure itself. */
  readonly passErrorsToHost: 'none' | 'unexpected' | 'all';
}
