// Public types: plugin options, the admin user, the logger contract, and the objects the admin API returns.
import type { NextFunction, Request, Response } from 'express';
import type { UserDefinedApisError } from './errors';
import type { Connection } from 'mongoose';
import type { RateLimitStore } from './domain/rate-limit-store';
import type { PromClientLike, RegistryLike } from './domain/prom-client-like';

/** The admin user `authenticateAdmin` resolves a request to. */
export interface AdminUser {
  /** Recorded as createdBy / lastModifiedBy and in events and logs. */
  name: string;
  /** Permission names (see `Permissions`); names the package does not know are ignored. */
  permissions: readonly string[];
}

/**
 * A pino-style logger: fields first, then the message. Only these methods are used. pino and bunyan loggers have
 * this shape; winston and console are adapted (see `loggerStyle`).
 */
export interface Logger {
  /** Detail for troubleshooting (e.g. a refused call's reason). */
  debug(obj: object, msg?: string): void;
  /** Normal operation: start-up, changes made through the admin API. */
  info(obj: object, msg?: string): void;
  /** Something to look at that the package handled (e.g. a listener that threw, a slow database). */
  warn(obj: object, msg?: string): void;
  /** A failure: an action that threw, a database error behind a 500 or 503. */
  error(obj: object, msg?: string): void;
  /** A logger whose lines carry `bindings` too; the package makes one per stream (`manager`, `endpoint`). */
  child(bindings: Record<string, unknown>): Logger;
}

/** A logger with the four level methods and no `child`, such as `console`: called as `info(message, fields)`. */
export interface ConsoleLikeLogger {
  /** Called as `debug(message, fields)`. */
  debug(message?: unknown, ...rest: unknown[]): void;
  /** Called as `info(message, fields)`. */
  info(message?: unknown, ...rest: unknown[]): void;
  /** Called as `warn(message, fields)`. */
  warn(message?: unknown, ...rest: unknown[]): void;
  /** Called as `error(message, fields)`. */
  error(message?: unknown, ...rest: unknown[]): void;
}

/** How the package calls the host's logger: see the `loggerStyle` option. */
export type LoggerStyle = 'pino' | 'bunyan' | 'winston' | 'console';

/** A level of the package's log lines. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

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
  /**
   * Logger for the `manager` and `endpoint` streams: pino, bunyan, winston or console-shaped (see `loggerStyle`).
   * Default: no logging.
   */
  logger?: Logger | ConsoleLikeLogger;
  /**
   * How `logger` is called. `pino` (and any logger with `child` that is not one of the others): `info(fields,
   * message)`, used as it is. `bunyan`: the same, with `child(bindings, true)`. `winston`: `log({ level, message,
   * ...fields })` and `child(bindings)`. `console` (no `child`): `info(message, fields)`, the stream bindings added
   * to the fields. Default: recognised from the logger's methods (winston's `add`/`configure`, bunyan's
   * `addStream`/`addSerializers`, no `child` for console, else pino); set it for a wrapper the check cannot tell.
   */
  loggerStyle?: LoggerStyle;
  /**
   * Levels of the endpoint's two lines per call: `start` (on arrival) and `end` (with status and duration, for a
   * call answered below 500). A level name or false for no line. Default { start: 'info', end: 'info' }; { start:
   * false } gives one line per call. An end line of a 5xx answer is always logged, at `error` for 500, else `warn`.
   */
  callLogLevels?: { start?: LogLevel | false; end?: LogLevel | false };
  /**
   * Request ids. Without this option each endpoint call and admin request gets a new UUID, as the log lines'
   * `requestId` (endpoint) and `traceId` (admin). With it, an id the request brings is used instead: `req.id` set by
   * the host's middleware (pino-http, express-request-id) unless `fromRequest` is false, else the `header` named
   * (e.g. 'x-request-id'; none by default, as a client chooses it); and the id used is sent back in
   * `responseHeader` (default 'X-Request-Id'; false: none). An id is used only if it is 1-128 characters of
   * `[A-Za-z0-9._:/+=@-]` (or a whole number in `req.id`); anything else gets a new UUID and is never echoed.
   */
  requestId?: { fromRequest?: boolean; header?: string; responseHeader?: string | false };
  /**
   * Hands failures to the host's Express error handler (`next(error)`) instead of answering them: `unexpected`,
   * those the package answers with 500 (a thrown action, a database error behind an admin 500), for a host whose
   * error handler reports to a tracker; `all`, every admin and endpoint failure, for a host that renders errors
   * itself. The error is a `UserDefinedApisError` with `status`, `code`, `headers` and the `body` the package would
   * have sent. Default false: the package answers every failure itself.
   */
  passErrorsToHost?: 'unexpected' | 'all' | false;
  /** Identifies this instance in endpoint errors (faultingNode) and logs. Default: hostname:pid. */
  instanceId?: string;
  /** Collection names, seven different ones. Defaults: udapiApiTokens, udapiApiDefinitions, udapiEvents, udapiChanges, udapiMeta (the pepper check), udapiUsage, udapiLastUses (each instance's token uses of the last intervals, for the other instances to read back). */
  collections?: {
    tokens?: string;
    definitions?: string;
    events?: string;
    changes?: string;
    meta?: string;
    usage?: string;
    lastUses?: string;
  };
  /** bcrypt cost factor for secret hashes, 4-15. Default 10. */
  bcryptRounds?: number;
  /** How many bcrypt operations may run at once (they run on the libuv thread pool), 1-64. Default 2. */
  bcryptConcurrency?: number;
  /** How many bcrypt operations may wait for a slot before new ones are refused (the admin API answers 503), 1-100000. Default 1000. */
  bcryptQueueLimit?: number;
  /** How many verified secrets this instance remembers (least recently used dropped first) so that they cost no bcrypt again, 0-10000000. Default 100000. */
  verifiedSecretCacheSize?: number;
  /**
   * Makes generated secrets identifiable: this prefix (1-16 letters, digits and underscores, e.g. `udapi_`), then 43
   * random base62 characters and a 6-character base62 CRC32 of them. Secret scanners and log filters can recognise
   * them, and the endpoint refuses a secret of that shape whose checksum is wrong like an unknown one, without a
   * lookup. Existing secrets keep working; a secret an admin supplies keeps its rules. Default: none (generated
   * secrets are 44 characters of base64, as before).
   */
  secretPrefix?: string;
  /**
   * The path consumers call the endpoint at: where it is mounted, unless a proxy maps one to the other. The admin UI
   * shows it, POST /explain strips it, and base plus route may be at most 260 characters. Default /api/custom.
   */
  basePath?: string;
  /** Largest request body the endpoint accepts, in bytes, 0-1 GiB (413, code 1009 beyond). Default 29 MiB. */
  maxBodyBytes?: number;
  /** Largest response body an action may return, in bytes, 0-1 GiB (500, code 17 beyond). Default 29 MiB. */
  maxResponseBodyBytes?: number;
  /** How long an action may take, queue time included, in ms, 1-3600000 (504, code 2001; the action's `signal` fires). Default 90000. */
  actionTimeoutMs?: number;
  /** Actions running at once, 1-10000 (logged at start-up). Default max(4, number of CPUs). */
  maxConcurrentActions?: number;
  /** Actions waiting for a slot, 0-1000000; one more is refused with 503, code 2002. Default 1000. */
  maxQueuedActions?: number;
  /**
   * Failed authentications (401, codes 1008 and 1010) allowed per client address in a rolling window; past it, that
   * address's failures get 429, code 2003, while a secret that authenticates is always served. IPv6 addresses are
   * counted per network of `ipv6Subnet` leading bits. Ranges: limit 1-1000000, windowSeconds 1-86400, ipv6Subnet
   * 1-128. The counts live in `rateLimitStore` (so a Redis store shares them between instances). Default { limit:
   * 30, windowSeconds: 60, ipv6Subnet: 64 }; false turns it off. Uses req.ip, so it honours the host's `trust
   * proxy` setting.
   */
  failedAuthThrottle?: { limit?: number; windowSeconds?: number; ipv6Subnet?: number } | false;
  /**
   * Request body bytes the endpoint may hold in memory at once, across all requests being read, 1 KiB-16 GiB. A
   * body that would go over it is refused with 503, code 2002, and Retry-After. Default 256 MiB.
   */
  maxBufferedBodyBytes?: number;
  /**
   * How long the endpoint waits for the next bytes of a request body, in ms, 100-600000; a sender that stalls
   * longer gets 408, code 2004, and the connection is closed. Default 30000.
   */
  bodyIdleTimeoutMs?: number;
  /**
   * How often the database is pinged, in ms, 20-60000. A ping that fails, or that is not answered within twice this
   * while the driver's monitor has lost the server (the database stopped), shows as 503, code 7 at once; otherwise a
   * ping may take up to four times this (one slow answer is not an outage), so a database that hangs shows within
   * about five times this. Default 250.
   */
  healthCheckIntervalMs?: number;
  /** How often this instance applies changes made by other instances, in ms, 20-60000. Default 250 (enforced everywhere within 1 s). */
  changePollIntervalMs?: number;
  /**
   * How far this instance's view may fall behind the change log (a hung poll, a partition from the database), in
   * ms, from twice changePollIntervalMs to 3600000; beyond it the endpoint answers 503, code 7 (fails closed)
   * instead of serving a view that may miss a revocation. A call that finds the view too old first waits for a poll
   * until that poll is 1 s old (the lag may be this process's own: a long GC, synchronous work), so a busy host
   * answers late rather than 503. Default max(2000, 4 × changePollIntervalMs).
   */
  maxViewLagMs?: number;
  /**
   * How often the whole in-memory view is reloaded as a safety net, healing what the change log cannot show, in ms,
   * 1000-86400000. Default 300000 (5 minutes): each reload reads every token and definition.
   */
  fullReloadIntervalMs?: number;
  /**
   * How often this instance writes its tokens' last-use times (one conditional update per used token, batches of
   * 50, and a record of them in `collections.lastUses`) and reads the other instances' records back, in ms,
   * 100-3600000. Default 60000: `lastUsedAt` is exact to about two of these.
   */
  lastUsedIntervalMs?: number;
  /** The largest POST /import body in bytes, 1 KiB-1 GiB. Default 64 MiB (about 100,000 tokens); larger restores: the `udapi import` command. */
  importBodyLimitBytes?: number;
  /**
   * Where per-token rate-limit counters live. Default: this process's memory (limits per instance, as the
   * original). Pass `createRedisRateLimitStore(redisClient)` to share them across instances. A store of your own
   * implements `hit(key, limit, windowMs)` and, optionally, `peek` with the same arguments (reads without counting,
   * for POST /explain).
   */
  rateLimitStore?: RateLimitStore;
  /**
   * A Redis client (ioredis) through which instances tell each other to poll the change log at once after a
   * change, so that it is applied everywhere within about a round trip instead of a poll interval. The change log
   * stays the source of truth and the poll timer the fallback: a lost hint costs only the wait for the next poll.
   * The package subscribes on a duplicate of the client, which `close()` disconnects. `channel` defaults to
   * `udapi:changes`; give instances of another store another channel.
   */
  changeHints?: ChangeHintsOptions;
  /** How long information events are kept, in days, 1-3650 (older ones are pruned hourly). Default 90. */
  eventRetentionDays?: number;
  /**
   * Count the endpoint's calls per token, API and minute, for `GET /usage` and the admin UI's charts. Default true;
   * false counts nothing and GET /usage answers NotFound.
   */
  usage?: boolean;
  /** How often this instance writes its usage counts (upserts of 50 per request), in ms, 100-3600000. Default 15000. */
  usageIntervalMs?: number;
  /** How long usage counts per minute are kept, in days, 1-90 (pruned hourly). Default 7. */
  usageMinuteRetentionDays?: number;
  /** How long usage counts per hour (and so per day) are kept, in days, 1-3650 (pruned hourly). Default 90. */
  usageHourRetentionDays?: number;
  /** Serve the admin web UI at `/ui` of the admin router. Default true; false answers 404 there. */
  adminUi?: boolean;
  /** Largest admin request body, in bytes, 1 KiB-10 MiB. Default 128 KiB: a definition with 64 KiB of input schemas fits. */
  adminBodyLimitBytes?: number;
  /**
   * Prometheus metrics (see docs/operations.md, Metrics). Pass your prom-client module; then mount `udapi.metricsHandler()`
   * where your scraper reaches it. Default: no metrics, and no cost on the endpoint's path.
   */
  metrics?: MetricsOptions;
}

/** See `changeHints`. */
export interface ChangeHintsOptions {
  /** An ioredis client (or one with the same publish and duplicate). */
  redis: ChangeHintClient;
  /** The channel the hints travel on, 1-100 letters, digits and `_ : . -`. Default `udapi:changes`. */
  channel?: string;
}

/** What change hints use of an ioredis client: publish, and a duplicate connection to subscribe on. */
export interface ChangeHintClient {
  /** Sends a hint (an empty message) to every instance subscribed to the channel. */
  publish(channel: string, message: string): Promise<unknown>;
  /** A new connection with the same settings, for the subscription (a subscribed connection does nothing else). */
  duplicate(): ChangeHintSubscriber;
}

/** The duplicate connection change hints subscribe on. */
export interface ChangeHintSubscriber {
  /** Starts receiving the channel's messages. */
  subscribe(channel: string): Promise<unknown>;
  /** Called with each message received. */
  on(event: 'message', listener: (channel: string, message: string) => void): unknown;
  /** Closes the connection (at `close()`). */
  disconnect(): void;
}

/**
 * The `metrics` option. prom-client is an optional peer dependency: the package never loads it itself, it uses
 * the module you pass, so an app without metrics does not need it installed.
 * @example
 * import * as promClient from 'prom-client';
 * const udapi = createUserDefinedApis({ ..., metrics: { promClient } });
 * app.get('/metrics', udapi.metricsHandler());
 */
export interface MetricsOptions {
  /** The prom-client module (v15): `import * as promClient from 'prom-client'` or `require('prom-client')`. */
  promClient: PromClientLike;
  /**
   * The registry the metrics are registered on and `metricsHandler()` serves. Default: a new registry of their
   * own. Pass `promClient.register` to add them to your app's global registry (and serve that from your own
   * route if you like); the names must then be free there.
   */
  registry?: RegistryLike;
  /**
   * Prepended to every metric name: letters, digits and underscores, not starting with a digit, at most 100
   * characters; may be empty. Default `udapi_`.
   */
  prefix?: string;
}

/** A token's rate limit: at most `limit` requests in any rolling `windowSeconds`. */
export interface RateLimit {
  /** Requests allowed in the window, 1-100. */
  limit: number;
  /** Length of the rolling window, in seconds, 1-86400. */
  windowSeconds: number;
}

/** A token's `metadata`: a JSON object. */
export type TokenMetadata = Record<string, unknown>;

/** An API token as the admin API returns it: never its secret, digest or hash. */
export interface ApiToken {
  /** The token's UUID: what `securitySettings.allowedTokens` of a definition lists. */
  id: string;
  /** A name for people (e.g. the consumer's); not unique, never used to authenticate. */
  name: string;
  /** A disabled token's calls are refused like an unknown secret's (401, code 1010); its definitions stay. */
  isDisabled: boolean;
  /** The token's own limit, shared by every API it may call; null: unlimited. */
  rateLimit: RateLimit | null;
  /**
   * What the token may do: each 1-64 characters of `a-z 0-9 : . _ -`, at most 50, none twice. A definition's
   * `securitySettings.requiredScopes` refuses a token that lacks any of them. Empty: none.
   */
  scopes: string[];
  /** The admin's own JSON object about the token (at most 4 KB; no key starts with `$` or holds `.`); null: none. */
  metadata: TokenMetadata | null;
  /**
   * The current secret's first characters, never enough to use it, so people can tell keys apart: a generated
   * secret's `secretPrefix` and 6 more characters; an admin-supplied secret's first 4. Null for a token whose secret
   * was set before the package kept it (it cannot be derived from what is stored).
   */
  start: string | null;
  /** ISO-8601 UTC time after which the secret is refused like an unknown one; null: never expires. */
  expiresAt: string | null;
  /**
   * While a rotation's grace period runs: the ISO-8601 UTC time until which the previous secret still works
   * too. Null when there is no previous secret or its grace period has ended.
   */
  previousSecretExpiresAt: string | null;
  /** ISO-8601 UTC time of the newest successful call, recorded at most once per `lastUsedIntervalMs`; null: never used. */
  lastUsedAt: string | null;
  /** The admin user (`AdminUser.name`) who created the token. */
  createdBy: string;
  /** ISO-8601 UTC creation time. */
  createdAt: string;
  /** The admin user who last changed the token (the creator until a change). */
  lastModifiedBy: string;
  /** ISO-8601 UTC time of the last change (the creation time until a change). */
  lastModified: string;
}

/** The response of a create or rotation whose secret the server generated: the only time a secret is shown. */
export interface ApiTokenWithSecret extends ApiToken {
  /** The bearer secret to hand to the consumer. Only its digest and hash are stored: it cannot be shown again. */
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

/** A JSON Schema (draft 2020-12): an object, or true/false. */
export type JsonSchema = { [keyword: string]: unknown } | boolean;

/**
 * What an API takes, as JSON Schemas checked before its action runs (400, code 18 when the call breaks them).
 * `route` describes the `{name}` values and `query` the query parameters (both text, coerced to the types the schema
 * declares; a key given twice is a list); `body` the JSON body (for `parameters` and procedures, the flat object).
 */
export interface ApiInput {
  body?: JsonSchema;
  query?: JsonSchema;
  route?: JsonSchema;
}

/** An API definition as the admin API returns it. */
export interface ApiDefinition {
  /** The definition's UUID. */
  id: string;
  /** An optional name for people. */
  name?: string;
  /** An optional description for people (what the API is for, who calls it). */
  description?: string;
  /** The suffix after the endpoint's base path, e.g. `tickets/{id}/status`. */
  route: string;
  /** Who may call the API. */
  securitySettings: {
    /** Ids of the tokens whose secrets are accepted; empty: nobody can call it yet. */
    allowedTokens: string[];
    /** Scopes an allowed token must all carry too (see `ApiToken.scopes`); empty: none. */
    requiredScopes: string[];
  };
  /** Whether the API runs a handler or a procedure. */
  actionType: ActionType;
  /** Which registered action the API runs. */
  actionMeta: ActionMeta;
  /** The input the API takes; absent when it does not say (any input reaches the action). */
  input?: ApiInput;
  /** The admin user (`AdminUser.name`) who created the definition. */
  createdBy: string;
  /** ISO-8601 UTC creation time. */
  createdAt: string;
  /** The admin user who last changed the definition (the creator until a change). */
  lastModifiedBy: string;
  /** ISO-8601 UTC time of the last change (the creation time until a change). */
  lastModified: string;
}

/** Object types that produce information events. */
export type ObjectType = 'ApiToken' | 'ApiDefinition';

/** What happened to the object. */
export type ChangeAction = 'created' | 'updated' | 'deleted';

/** An information event: persisted (readable at GET /events) and emitted as `change`. */
export interface ChangeEvent {
  /** The event's UUID. */
  id: string;
  /** The source of every event of this package, for hosts that mix event sources. */
  name: 'User-defined APIs';
  /** What kind of object changed. */
  objectType: ObjectType;
  /** What happened to it. */
  action: ChangeAction;
  /** The id of the token or definition that changed. */
  objectId: string;
  /** For ApiToken events. */
  tokenName?: string;
  /** For ApiDefinition events. */
  route?: string;
  /** The admin user (`AdminUser.name`) who made the change. */
  user: string;
  /** ISO-8601 UTC time of the change. */
  at: string;
  /** A sentence for people, e.g. for an activity feed; never holds a secret. */
  message: string;
}

/** A page of a list: `nextCursor` is null on the last page. */
export interface Page<T> {
  /** The objects of this page, in the list's order. */
  items: T[];
  /** Pass it as `cursor` to get the next page; null on the last page. */
  nextCursor: string | null;
}

/** A token as a host route sees it (`req.udapi.token`, `verify()`): never its secret, digest or hash. */
export interface VerifiedToken {
  /** The token's id (a UUID). */
  readonly id: string;
  /** The token's name. */
  readonly name: string;
  /** The token's scopes (empty when it has none). */
  readonly scopes: readonly string[];
  /** The token's metadata object, or null when it has none. */
  readonly metadata: Readonly<Record<string, unknown>> | null;
}

/** What `requireToken()` sets on a request it lets through. */
export interface RequestTokenInfo {
  /** The token the request's secret authenticated. */
  readonly token: VerifiedToken;
  /** The id the package used for this request (the `requestId` option says where it comes from). */
  readonly requestId: string;
}

/** What a refusal of `requireToken()` does: answer, pass it to the host's error handler, or call the host's function. */
export type TokenRefusalHandler = (
  refusal: UserDefinedApisError,
  req: Request,
  res: Response,
  next: NextFunction,
) => void;

/** Options of `udapi.requireToken()`. */
export interface RequireTokenOptions {
  /** Scopes the token must all hold; one missing answers 403 with `WWW-Authenticate: Bearer error="insufficient_scope"`. */
  scopes?: readonly string[];
  /**
   * A further check after authentication and scopes, e.g. on `token.metadata` or the request; false (or a promise of
   * false) answers 403 like a missing scope. A throw or rejection goes to the host's error handler.
   */
  allow?: (token: VerifiedToken, req: Request) => boolean | Promise<boolean>;
  /**
   * Also take the secret from this query parameter (e.g. 'access_token') when the request has no Authorization
   * header. Off by default, and a risk: URLs are kept in access logs, proxies, browser history and Referer headers
   * (RFC 6750, section 5.3). The header wins when both are present.
   */
  queryParameter?: string;
  /**
   * What a refusal does: 'respond' answers it (status, `WWW-Authenticate`, `Retry-After` and the endpoint's error body
   * `{ errors: [{ title, detail, errorCode, faultingNode }] }`); 'next' passes a `UserDefinedApisError` (status, code,
   * headers, body) to the host's error handler; a function is called with that error instead. Default: 'next' when
   * passErrorsToHost is 'all', else 'respond'.
   */
  onRefusal?: 'respond' | 'next' | TokenRefusalHandler;
}

/** Options of `udapi.verify()`. */
export interface VerifyOptions {
  /** Scopes the token must all hold. */
  scopes?: readonly string[];
  /**
   * The client's address: failed verifications count against its failed-authentication budget as a failed call
   * would, and a throttled address gets `throttled`. Without it nothing is counted per address.
   */
  address?: string;
}

/** Why `verify()` refused a secret: for the host's logs only, never for the client (tell it only "invalid"). */
export type VerifyFailureReason =
  | 'missing'
  | 'unknown_secret'
  | 'disabled'
  | 'expired'
  | 'wrong_secret'
  | 'insufficient_scope'
  | 'rate_limited'
  | 'throttled'
  | 'not_ready'
  | 'overloaded';

/** What `udapi.verify()` resolves to; it never rejects for a bad secret. */
export type VerifyResult =
  | {
      /** The secret authenticated and the token holds the scopes. */
      readonly valid: true;
      /** The token the secret authenticated. */
      readonly token: VerifiedToken;
    }
  | {
      /** The secret was refused. */
      readonly valid: false;
      /** Why, for the host's logs only. */
      readonly reason: VerifyFailureReason;
      /** For rate_limited, throttled, not_ready and overloaded: when to try again. */
      readonly retryAfterMs?: number;
    };

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace -- Express's own way to type what middleware adds.
  namespace Express {
    interface Request {
      /** Set by `udapi.requireToken()` on a request it lets through. */
      udapi?: RequestTokenInfo;
    }
  }
}
