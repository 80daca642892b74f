// Public types: plugin options, the admin user, the logger contract, and the objects the admin API returns.
import type { Request } from 'express';
import type { Connection } from 'mongoose';
import type { RateLimitStore } from './endpoint/sliding-window';

/** The admin user `authenticateAdmin` resolves a request to. */
export interface AdminUser {
  /** Recorded as createdBy / lastModifiedBy and in events and logs. */
  name: string;
  /** Permission names (see `Permissions`); names the package does not know are ignored. */
  permissions: readonly string[];
}

/** A pino-compatible logger. Only these methods are used. */
export interface Logger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
  child(bindings: Record<string, unknown>): Logger;
}

/** Options of `createUserDefinedApis`. Everything but connection, pepper and authenticateAdmin is optional. */
export interface UserDefinedApisOptions {
  /** The host's mongoose connection; the package binds its own models to it (no global models). */
  connection: Connection;
  /**
   * Key of the HMAC that digests secrets: at least 32 bytes (a string of at least 32 characters, or a Buffer).
   * Keep it outside MongoDB (environment, secret manager): with it, a database dump is useless to an attacker.
   */
  pepper: string | Buffer;
  /** Resolves the admin user of an admin request, or null when the request is not authenticated (401). */
  authenticateAdmin: (req: Request) => AdminUser | null | undefined | Promise<AdminUser | null | undefined>;
  /** Logger for the `manager` and `endpoint` streams. Default: no logging. */
  logger?: Logger;
  /** Identifies this instance in endpoint errors (faultingNode) and logs. Default: hostname:pid. */
  instanceId?: string;
  /** Collection names. Defaults: udapiApiTokens, udapiApiDefinitions, udapiEvents, udapiChanges. */
  collections?: { tokens?: string; definitions?: string; events?: string; changes?: string };
  /** bcrypt cost factor for secret hashes, 4-15. Default 10. */
  bcryptRounds?: number;
  /** How many bcrypt operations may run at once (they run on the libuv thread pool), 1-64. Default 2. */
  bcryptConcurrency?: number;
  /** How many bcrypt operations may wait for a slot before new ones are refused, 1-100000. Default 1000. */
  bcryptQueueLimit?: number;
  /** How many verified secrets this instance remembers so that they cost no bcrypt again, 0-10000000. Default 100000. */
  verifiedSecretCacheSize?: number;
  /** The path the endpoint router is mounted at; counts towards the 260-character URL limit of routes. Default /api/custom. */
  basePath?: string;
  /** Largest request body the endpoint accepts, in bytes (413, code 1009 beyond). Default 29 MiB. */
  maxBodyBytes?: number;
  /** Largest response body an action may return, in bytes (500, code 17 beyond). Default 29 MiB. */
  maxResponseBodyBytes?: number;
  /** How long an action may take, queue time included, in ms (504, code 2001). Default 90000. */
  actionTimeoutMs?: number;
  /** Actions running at once. Default max(4, number of CPUs). */
  maxConcurrentActions?: number;
  /** Actions waiting for a slot; one more is refused with 503, code 2002. Default 1000. */
  maxQueuedActions?: number;
  /**
   * Failed authentications (401, code 1010) allowed per client address in a rolling window before the address gets
   * 429, code 2003. Default { limit: 30, windowSeconds: 60 }; false turns it off. Uses req.ip, so it honours the
   * host's `trust proxy` setting.
   */
  failedAuthThrottle?: { limit: number; windowSeconds: number } | false;
  /** How often the database is pinged; an outage shows as 503, code 7 within about twice this. Default 250. */
  healthCheckIntervalMs?: number;
  /** How often this instance applies changes made by other instances, in ms. Default 250 (enforced everywhere within 1 s). */
  changePollIntervalMs?: number;
  /** How often the whole in-memory view is reloaded as a safety net, in ms. Default 300000 (5 minutes): each reload reads every token and definition. */
  fullReloadIntervalMs?: number;
  /**
   * How often this instance writes its tokens' last-use times (one conditional update per used token) and reads
   * the other instances' back, in ms. Default 60000: `lastUsedAt` is exact to about two of these.
   */
  lastUsedIntervalMs?: number;
  /** The largest POST /import body in bytes. Default 64 MiB (about 100,000 tokens); larger restores: the `udapi import` command. */
  importBodyLimitBytes?: number;
  /**
   * Where per-token rate-limit counters live. Default: this process's memory (limits per instance, as the
   * original). Pass `createRedisRateLimitStore(redisClient)` to share them across instances.
   */
  rateLimitStore?: RateLimitStore;
  /** How long information events are kept, in days, 1-3650. Default 90. */
  eventRetentionDays?: number;
  /** Serve the admin web UI at `/ui` of the admin router. Default true; false answers 404 there. */
  adminUi?: boolean;
  /** Largest admin request body, in bytes, 1024-10485760. Default 65536. */
  adminBodyLimitBytes?: number;
}

/** A token's rate limit: at most `limit` requests in any rolling `windowSeconds`. */
export interface RateLimit {
  limit: number;
  windowSeconds: number;
}

/** An API token as the admin API returns it: never its secret, digest or hash. */
export interface ApiToken {
  id: string;
  name: string;
  isDisabled: boolean;
  rateLimit: RateLimit | null;
  /** ISO-8601 UTC time after which the secret is refused like an unknown one; null: never expires. */
  expiresAt: string | null;
  /**
   * While a rotation's grace period runs: the ISO-8601 UTC time until which the previous secret still works
   * too. Null when there is no previous secret or its grace period has ended.
   */
  previousSecretExpiresAt: string | null;
  /** ISO-8601 UTC time of the newest successful call, recorded at most once per `lastUsedIntervalMs`; null: never used. */
  lastUsedAt: string | null;
  createdBy: string;
  createdAt: string;
  lastModifiedBy: string;
  lastModified: string;
}

/** The response of a create or rotation whose secret the server generated: the only time a secret is shown. */
export interface ApiTokenWithSecret extends ApiToken {
  secret: string;
}

/** `handler` runs a registered handler with the whole request; `procedure` runs a registered procedure with the body's parameters. */
export type ActionType = 'handler' | 'procedure';

/** Which action a definition runs, and (handlers only) how the body is handed over. */
export interface ActionMeta {
  /** The registered action's name. */
  name: string;
  /** Handlers only: `rawBody` (default) or `parameters` (the body parsed as a flat JSON object). */
  inputType?: 'rawBody' | 'parameters';
}

/** An API definition as the admin API returns it. */
export interface ApiDefinition {
  id: string;
  name?: string;
  description?: string;
  /** The suffix after the endpoint's base path, e.g. `tickets/{id}/status`. */
  route: string;
  securitySettings: { allowedTokens: string[] };
  actionType: ActionType;
  actionMeta: ActionMeta;
  createdBy: string;
  createdAt: string;
  lastModifiedBy: string;
  lastModified: string;
}

/** Object types that produce information events. */
export type ObjectType = 'ApiToken' | 'ApiDefinition';

/** What happened to the object. */
export type ChangeAction = 'created' | 'updated' | 'deleted';

/** An information event: persisted (readable at GET /events) and emitted as `change`. */
export interface ChangeEvent {
  id: string;
  name: 'User-defined APIs';
  objectType: ObjectType;
  action: ChangeAction;
  objectId: string;
  /** For ApiToken events. */
  tokenName?: string;
  /** For ApiDefinition events. */
  route?: string;
  user: string;
  at: string;
  message: string;
}

/** A page of a list: `nextCursor` is null on the last page. */
export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}
