// The endpoint: authenticates a bearer secret, matches the route, runs the action and answers, in the order of docs/endpoint.md.
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { Request, RequestHandler, Response } from 'express';
import type { ActionRegistry, RegisteredAction } from '../actions/registry';
import type { ActionContext, HandlerInput, RequestMethod } from '../actions/types';
import { hasExpired, type CachedDefinition, type CachedToken, type Catalog } from '../catalog/catalog';
import type { HealthMonitor } from '../health';
import { errorSummary, NOOP_LOGGER } from '../logging';
import type { AuthFailureReason, EndpointMetrics } from '../metrics/endpoint-metrics';
import type { Config } from '../options';
import { BcryptOverloadedError } from '../security/bcrypt-pool';
import type { SecretVerifier } from '../security/secret-verifier';
import type { Logger } from '../types';
import { prepareOutput, type PreparedResponse } from './action-output';
import { ConcurrencyLimiter, QueueFullError } from './concurrency';
import { ClientGoneError, InFlightRegistry, TimeoutError, type InFlight } from './in-flight';
import { bearerSecret } from './authorization-header';
import { EndpointError, endpointError, sendEndpointError } from './endpoint-error';
import { FailedAuthThrottle, type ThrottleVerdict } from './failed-auth-throttle';
import { parametersOf } from './parameters';
import { queryParametersOf } from './query-parameters';
import { announcesBody, BodyBudget, BodyBudgetExceededError, BodyIdleError, BodyReadError, BodyTooLargeError, hasBody, readBody } from './read-body';
import { parseRequestPath, type RequestPath } from './request-path';
import { MemorySlidingWindow, type RateLimitStore } from './sliding-window';

/** The methods that reach an action; any other answers 405, code 3. */
export const ENDPOINT_METHODS: ReadonlySet<string> = new Set<string>(['GET', 'PUT', 'POST', 'DELETE', 'PATCH']);
const CONTENT_TYPES = new Set(['application/json', 'application/xml', 'text/xml', 'text/plain']);
const MAX_QUERY_STRING_BYTES = 2048;
const EMPTY_BODY = Buffer.alloc(0);

type MaybePromise<T> = T | Promise<T>;

/**
 * An action's context. A class, so that the lazy `signal` is one getter on the prototype instead of a
 * closure and an accessor made for every call; the other fields are plain own properties.
 */
class RequestContext implements ActionContext {
  // A true private field: never copied by a spread, never serialised, never reachable by the action.
  readonly #entry: InFlight;

  constructor(
    readonly tokenId: string,
    readonly tokenName: string,
    readonly definitionId: string,
    readonly requestId: string,
    entry: InFlight,
  ) {
    this.#entry = entry;
  }

  get signal(): AbortSignal {
    return this.#entry.signal;
  }
}

function isThenable<T>(value: T | PromiseLike<T>): value is PromiseLike<T> {
  return typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function';
}

/** Continues with the value at once when it is there, after it when it is a promise: no await on the common path. */
function then<T, R>(value: MaybePromise<T>, next: (value: T) => MaybePromise<R>): MaybePromise<R> {
  return isThenable(value) ? value.then(next) : next(value);
}

const NO_QUERY_PARAMETERS = queryParametersOf('');
const PROCEDURE_RESPONSE: PreparedResponse = Object.freeze({ status: 200, headers: [], body: '', bodyBytes: 0 });

export interface EndpointDeps {
  config: Config;
  catalog: Catalog;
  health: HealthMonitor;
  verifier: SecretVerifier;
  actions: ActionRegistry;
  rateLimits: RateLimitStore;
  log: Logger;
  /** Notes a successful authorization (coalesced into lastUsedAt off the request path). */
  recordUse: (tokenId: string) => void;
  /** Null when metrics are off: then each call pays one null check for them. */
  metrics: EndpointMetrics | null;
}

interface Authorized {
  token: CachedToken;
  definition: CachedDefinition;
  routeParameters: Record<string, string>;
}

interface PreparedAction {
  action: RegisteredAction;
  rawBody: string;
  parameters: Record<string, string>;
}

/** What the end log line and the metrics report about one request. */
interface Trace {
  requestId: string;
  route: string;
  tokenId: string | undefined;
  /** The matched definition's id, once a definition matched. */
  definitionId: string | undefined;
  started: number;
}

/** The media type of a Content-Type header, without parameters, lower case. */
function mediaType(header: string): string {
  const semicolon = header.indexOf(';');
  return (semicolon >= 0 ? header.slice(0, semicolon) : header).trim().toLowerCase();
}

export function createEndpointHandler(deps: EndpointDeps): RequestHandler & { limiter: ConcurrencyLimiter } {
  const { config, catalog, health, verifier, actions, rateLimits, log, recordUse, metrics } = deps;
  const limiter = new ConcurrencyLimiter(config.maxConcurrentActions, config.maxQueuedActions);
  const inFlight = new InFlightRegistry(config.actionTimeoutMs);
  // Without a logger the per-request lines are not even formatted; server-side failures are still reported.
  const logging = config.logger !== NOOP_LOGGER;
  // Failures only are counted, in the shared store when there is one, so instances share one budget per address.
  const throttle = config.failedAuthThrottle ? new FailedAuthThrottle(config.failedAuthThrottle, config.rateLimitStore ?? new MemorySlidingWindow()) : null;
  const bodyBudget = new BodyBudget(config.maxBufferedBodyBytes);
  log.info({ maxConcurrentActions: limiter.maxRunning, maxQueuedActions: limiter.maxWaiting }, 'Endpoint action concurrency limit');

  /**
   * Refuses authentication with the one 401 all failures of its kind share, or with 429 once the client address had
   * too many; only failures are counted, never a call that authenticates. The reason goes to the metrics only: the
   * caller never learns which it was. Throws at once with the memory store; a shared store's answer is awaited.
   */
  const refuseAuthentication = (req: Request, reason: AuthFailureReason, refusal: EndpointError = endpointError('AuthenticationFailed')): Promise<never> => {
    if (!throttle) {
      if (metrics) metrics.authFailed(reason);
      throw refusal;
    }
    let verdict: ReturnType<FailedAuthThrottle['failed']>;
    try {
      verdict = throttle.failed(req.ip ?? '');
    } catch (error) {
      throw throttleFailed(error, reason, refusal);
    }
    if (!isThenable(verdict)) throw throttled(verdict, reason, refusal);
    return verdict.then((answer) => {
      throw throttled(answer, reason, refusal);
    }, (error: unknown) => {
      throw throttleFailed(error, reason, refusal);
    });
  };

  const throttled = (verdict: ThrottleVerdict, reason: AuthFailureReason, refusal: EndpointError): EndpointError => {
    if (!verdict.throttled) {
      if (metrics) metrics.authFailed(reason);
      return refusal;
    }
    if (metrics) metrics.authFailed('throttled');
    return new EndpointError('TooManyFailedAuthentications', { retryAfterSeconds: verdict.retryAfterMs / 1000 });
  };

  /** A shared store that fails cannot count this failure; the request is refused all the same. */
  const throttleFailed = (error: unknown, reason: AuthFailureReason, refusal: EndpointError): EndpointError => {
    log.error({ err: errorSummary(error) }, 'The rate-limit store failed while counting a failed authentication');
    if (metrics) metrics.authFailed(reason);
    return refusal;
  };

  /** Steps 1-3: the request itself, before anything is looked up. */
  const checkRequest = (req: Request, path: RequestPath): void => {
    if (!ENDPOINT_METHODS.has(req.method)) throw endpointError('InvalidRequestMethod');
    if (Buffer.byteLength(path.rawQuery) > MAX_QUERY_STRING_BYTES) throw endpointError('QueryStringTooLarge');
    const contentType = req.headers['content-type'];
    if (contentType === undefined) {
      if (announcesBody(req)) throw endpointError('InvalidContentType');
    } else if (!CONTENT_TYPES.has(mediaType(contentType))) {
      throw endpointError('InvalidContentType');
    }
    // A compressed body would reach the action as bytes it cannot read (and a decompression bomb if it could).
    const encoding = req.headers['content-encoding'];
    if (encoding !== undefined && encoding.trim().toLowerCase() !== 'identity') throw endpointError('InvalidContentType');
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > config.maxBodyBytes) throw endpointError('BodyTooLarge');
    if (path.segments.length === 0) throw endpointError('EmptyRoute');
  };

  /** Steps 4-7: who is calling, may they, and which definition answers. Synchronous unless a store or bcrypt is awaited. */
  const authorize = (req: Request, segments: string[], trace: Trace): MaybePromise<Authorized> => {
    const secret = bearerSecret(req.headers.authorization);
    if (secret === null) return refuseAuthentication(req, 'header_invalid', endpointError('AuthenticationHeaderInvalid'));
    if (!health.ready) throw new EndpointError('NotReady', { retryAfterSeconds: 1 });
    const token = verifier.lookup(secret);
    // Unknown, disabled and expired: one answer, so that a caller learns nothing about which it was.
    if (!token) return refuseAuthentication(req, 'unknown_secret');
    if (token.isDisabled) return refuseAuthentication(req, 'disabled');
    if (hasExpired(token.expiresAt)) return refuseAuthentication(req, 'expired');
    trace.tokenId = token.id;
    if (!token.rateLimit) return findDefinition(req, segments, secret, token, trace);
    let pending: ReturnType<RateLimitStore['hit']>;
    try {
      pending = rateLimits.hit(`token:${token.id}`, token.rateLimit.limit, token.rateLimit.windowSeconds * 1000);
    } catch (error) {
      throw rateLimitStoreFailed(error, trace);
    }
    // The memory store answers synchronously; only a real promise (a shared store) is waited for.
    if (!isThenable(pending)) {
      enforceRateLimit(pending);
      return findDefinition(req, segments, secret, token, trace);
    }
    return Promise.resolve(pending).then(
      (verdict) => {
        enforceRateLimit(verdict);
        return findDefinition(req, segments, secret, token, trace);
      },
      (error: unknown) => {
        throw rateLimitStoreFailed(error, trace);
      },
    );
  };

  /** Fail closed: a limit that cannot be checked is not waived. */
  const rateLimitStoreFailed = (error: unknown, trace: Trace): EndpointError => {
    log.error({ requestId: trace.requestId, err: errorSummary(error) }, 'The rate-limit store failed');
    return new EndpointError('NotReady', { retryAfterSeconds: 1 });
  };

  const enforceRateLimit = (verdict: { allowed: boolean; retryAfterMs: number }): void => {
    if (verdict.allowed) return;
    if (metrics) metrics.rateLimited();
    throw new EndpointError('RateLimitExceeded', { retryAfterSeconds: verdict.retryAfterMs / 1000 });
  };

  const findDefinition = (req: Request, segments: string[], secret: string, token: CachedToken, trace: Trace): MaybePromise<Authorized> => {
    const matched = catalog.match(segments);
    if (!matched) throw endpointError('DefinitionNotFound');
    trace.definitionId = matched.definition.id;
    if (!matched.definition.allowedTokens.has(token.id)) return refuseAuthentication(req, 'not_allowed');
    const authorized: Authorized = { token, definition: matched.definition, routeParameters: matched.routeParameters };
    if (verifier.isConfirmed(token)) {
      recordUse(token.id);
      return authorized;
    }
    // bcrypt (once per secret and instance, however many calls wait for it) only for a call that would succeed.
    return verifier.confirm(secret, token).then((confirmed) => {
      if (!confirmed) return refuseAuthentication(req, 'wrong_secret');
      recordUse(token.id);
      return authorized;
    }, (error: unknown) => {
      if (error instanceof BcryptOverloadedError) throw new EndpointError('Overloaded', { retryAfterSeconds: 1 });
      throw error;
    });
  };

  /** Step 8: the action and its input. Synchronous for a request without a body. */
  const prepareAction = (req: Request, res: Response, definition: CachedDefinition): MaybePromise<PreparedAction> => {
    const action = actions.get(definition.actionMeta.name);
    if (!action || action.kind !== definition.actionType) throw endpointError('ActionNotFound');
    if (!hasBody(req)) return inputOf(action, definition, EMPTY_BODY);
    // The body's bytes count against the shared budget until the response is done with them.
    const hold = bodyBudget.hold();
    res.once('close', () => hold.release());
    return readBody(req, { maxBytes: config.maxBodyBytes, hold, idleTimeoutMs: config.bodyIdleTimeoutMs }).then(
      (body) => inputOf(action, definition, body),
      (error: unknown) => {
        if (error instanceof BodyTooLargeError) throw endpointError('BodyTooLarge');
        if (error instanceof BodyBudgetExceededError) throw new EndpointError('Overloaded', { retryAfterSeconds: 1 });
        if (error instanceof BodyIdleError) throw endpointError('BodyTimeout');
        if (error instanceof BodyReadError) throw new ClientGoneError();
        throw error;
      },
    );
  };

  const inputOf = (action: RegisteredAction, definition: CachedDefinition, body: Buffer): PreparedAction => {
    const rawBody = body.toString('utf8');
    const wantsParameters = action.kind === 'procedure' || definition.actionMeta.inputType === 'parameters';
    const parameters = wantsParameters ? parametersOf(rawBody) : {};
    if (!parameters) throw endpointError('BodyToParametersConversionFailed');
    if (action.kind === 'procedure') {
      const missing = action.parameters.filter((name) => !Object.prototype.hasOwnProperty.call(parameters, name));
      if (missing.length > 0) throw new EndpointError('MissingScriptParameters', { missingScriptParameters: missing });
    }
    return { action, rawBody, parameters };
  };

  /**
   * Step 9: run it under the concurrency cap and the timeout; the signal fires on timeout or disconnect. An action
   * that answers synchronously with a free slot is used at once; only a promise or a queued call is watched.
   */
  const runAction = (res: Response, invoke: (entry: InFlight) => unknown, requestId: string, definitionId: string): unknown => {
    const release = limiter.tryAcquire();
    if (!release) return runQueued(res, invoke, requestId, definitionId);
    const entry = inFlight.create(res);
    let work: unknown;
    try {
      work = invoke(entry);
    } catch (error) {
      inFlight.finish(entry);
      release();
      throw actionFailure(error, entry, undefined, requestId, definitionId);
    }
    if (!isThenable(work)) {
      inFlight.finish(entry);
      release();
      return work;
    }
    return watch(entry, work, release, requestId, definitionId);
  };

  const watch = async (entry: InFlight, work: PromiseLike<unknown>, release: () => void, requestId: string, definitionId: string): Promise<unknown> => {
    inFlight.track(entry);
    try {
      return await entry.wait(Promise.resolve(work));
    } catch (error) {
      throw actionFailure(error, entry, work, requestId, definitionId);
    } finally {
      inFlight.finish(entry);
      release();
    }
  };

  const runQueued = async (res: Response, invoke: (entry: InFlight) => unknown, requestId: string, definitionId: string): Promise<unknown> => {
    const entry = inFlight.track(inFlight.create(res));
    let release: (() => void) | undefined;
    let work: unknown;
    try {
      try {
        release = await limiter.acquire(entry.signal);
      } catch (error) {
        if (error instanceof QueueFullError) throw new EndpointError('Overloaded', { retryAfterSeconds: 1 });
        throw error;
      }
      work = invoke(entry);
      return isThenable(work) ? await entry.wait(Promise.resolve(work)) : work;
    } catch (error) {
      throw actionFailure(error, entry, work, requestId, definitionId);
    } finally {
      inFlight.finish(entry);
      release?.();
    }
  };

  /** What a failure while waiting for or running an action becomes. */
  const actionFailure = (error: unknown, entry: InFlight, work: unknown, requestId: string, definitionId: string): Error => {
    if (entry.failed && isThenable(work)) {
      // The action may go on after its signal fired; its result is ignored and a late failure only logged.
      Promise.resolve(work).catch((late: unknown) => log.warn({ requestId, err: errorSummary(late) }, 'An action failed after it was abandoned'));
    }
    if (error instanceof TimeoutError) return endpointError('ActionTimeout');
    if (error instanceof EndpointError || error instanceof ClientGoneError) return error;
    log.error({ requestId, definitionId, err: errorSummary(error), stack: error instanceof Error ? error.stack : undefined }, 'The action threw');
    return endpointError('ActionError');
  };

  const send = (res: Response, prepared: PreparedResponse): void => {
    res.statusCode = prepared.status;
    for (const [name, value] of prepared.headers) res.setHeader(name, value);
    res.setHeader('Content-Length', prepared.bodyBytes);
    res.end(prepared.body);
  };

  /** Every call ends here exactly once, whatever its outcome (499: the client went away): the end log line and the metrics. */
  const logEnd = (trace: Trace, status: number, outcome: string): void => {
    if (!logging && !metrics && status < 500) return;
    const elapsedMs = performance.now() - trace.started;
    if (metrics) metrics.callEnded(trace.definitionId, status, elapsedMs / 1000);
    if (!logging && status < 500) return;
    const durationMs = Math.round(elapsedMs * 1000) / 1000;
    const fields = { requestId: trace.requestId, route: trace.route, durationMs, status, tokenId: trace.tokenId ?? null };
    const message = `Handling API trigger ${trace.requestId} for route '${trace.route}' ${outcome} after ${durationMs} ms. Response code: ${status}. (Token ID: ${trace.tokenId ?? 'none'})`;
    if (status === 500) log.error(fields, message);
    else if (status >= 500) log.warn(fields, message);
    else log.info(fields, message);
  };

  /** Steps 1-9 and the response they produce; synchronous from end to end in the common case. */
  const respond = (req: Request, res: Response, path: RequestPath, trace: Trace): MaybePromise<PreparedResponse> => {
    checkRequest(req, path);
    return then(authorize(req, path.segments, trace), ({ token, definition, routeParameters }) =>
      then(prepareAction(req, res, definition), ({ action, rawBody, parameters }) => {
        const invoke = (entry: InFlight): unknown => {
          // The AbortSignal is made only if the action reads it.
          const context: ActionContext = new RequestContext(token.id, token.name, definition.id, trace.requestId, entry);
          if (action.kind === 'procedure') return action.run(parameters, context);
          const input = {
            requestMethod: req.method as RequestMethod,
            route: path.route,
            routeTemplate: definition.route,
            rawBody,
            parameters,
            // Parsed up front only when there is a query: an object literal with a lazy getter costs more.
            queryParameters: path.rawQuery === '' ? NO_QUERY_PARAMETERS : queryParametersOf(path.rawQuery),
            routeParameters,
            context,
          } satisfies HandlerInput;
          return action.run(input);
        };
        return then(runAction(res, invoke, trace.requestId, definition.id), (output): PreparedResponse =>
          action.kind === 'procedure' ? PROCEDURE_RESPONSE : prepareOutput(output, config.maxResponseBodyBytes));
      }));
  };

  const succeed = (res: Response, trace: Trace, prepared: PreparedResponse): void => {
    try {
      send(res, prepared);
    } catch (error) {
      fail(res, trace, error);
      return;
    }
    logEnd(trace, prepared.status, 'SUCCEEDED');
  };

  const fail = (res: Response, trace: Trace, error: unknown): void => {
    if (error instanceof ClientGoneError || res.destroyed) {
      logEnd(trace, 499, 'ABANDONED (client closed the connection)');
      return;
    }
    let failure: EndpointError;
    if (error instanceof EndpointError) {
      failure = error;
    } else {
      log.error({ requestId: trace.requestId, err: errorSummary(error) }, 'Unexpected endpoint failure');
      failure = endpointError('UnexpectedException');
    }
    try {
      // A body left unread (too large, over the budget, stalled): close the connection rather than drain it.
      const bodyLeftUnread = failure.errorName === 'BodyTooLarge' || failure.errorName === 'BodyTimeout' || (failure.errorName === 'Overloaded' && !res.req.complete);
      if (bodyLeftUnread) res.setHeader('Connection', 'close');
      sendEndpointError(res, failure, config.instanceId);
    } finally {
      logEnd(trace, failure.status, 'FAILED');
    }
  };

  const handler = (req: Request, res: Response): MaybePromise<void> => {
    const trace: Trace = { requestId: randomUUID(), route: '', tokenId: undefined, definitionId: undefined, started: performance.now() };
    const path = parseRequestPath(req.url);
    trace.route = path.route;
    if (logging) log.info({ requestId: trace.requestId, route: path.route }, `Started handling API trigger ${trace.requestId} for route '${path.route}'`);
    let outcome: MaybePromise<PreparedResponse>;
    try {
      outcome = respond(req, res, path, trace);
    } catch (error) {
      return fail(res, trace, error);
    }
    if (!isThenable(outcome)) return succeed(res, trace, outcome);
    return outcome.then((prepared) => succeed(res, trace, prepared), (error: unknown) => fail(res, trace, error));
  };

  /**
   * Routes match from wherever the endpoint is mounted; basePath only says where consumers call it (the admin UI's
   * URLs, explain, the length limit). A mount path that differs is usually a forgotten option: said once.
   */
  let mountChecked = false;
  const checkMount = (req: Request): void => {
    mountChecked = true;
    const mountPath = req.baseUrl ?? ''; // undefined outside Express (a bare http server)
    if (mountPath.toLowerCase() === config.basePath.toLowerCase()) return;
    log.warn({ mountPath, basePath: config.basePath }, `The endpoint is mounted at '${mountPath}' but the basePath option is '${config.basePath}': the admin UI shows, and explain strips, basePath. Set basePath to the path consumers call, unless a proxy maps one to the other.`);
  };

  const middleware = ((req, res, next) => {
    if (!mountChecked) checkMount(req);
    try {
      const pending = handler(req, res);
      if (pending) pending.catch(next);
    } catch (error) {
      next(error);
    }
  }) as RequestHandler & { limiter: ConcurrencyLimiter };
  middleware.limiter = limiter;
  return middleware;
}
