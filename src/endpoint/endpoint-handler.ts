// The endpoint: authenticates a bearer secret, matches the route, runs the action and answers, in the spec's order of checks.
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { Request, RequestHandler, Response } from 'express';
import type { ActionRegistry, RegisteredAction } from '../actions/registry';
import type { ActionContext, HandlerInput, QueryParameters, RequestMethod } from '../actions/types';
import type { CachedDefinition, CachedToken, Catalog } from '../catalog/catalog';
import type { HealthMonitor } from '../health';
import { errorSummary, NOOP_LOGGER } from '../logging';
import type { Config } from '../options';
import type { SecretVerifier } from '../security/secret-verifier';
import type { Logger } from '../types';
import { prepareOutput, type PreparedResponse } from './action-output';
import { ConcurrencyLimiter, QueueFullError } from './concurrency';
import { ClientGoneError, InFlightRegistry, TimeoutError, type InFlight } from './in-flight';
import { EndpointError, endpointError, sendEndpointError } from './endpoint-error';
import { parametersOf } from './parameters';
import { queryParametersOf } from './query-parameters';
import { announcesBody, BodyReadError, BodyTooLargeError, hasBody, readBody } from './read-body';
import { parseRequestPath, type RequestPath } from './request-path';
import { MemorySlidingWindow, type RateLimitStore } from './sliding-window';

const METHODS = new Set<string>(['GET', 'PUT', 'POST', 'DELETE', 'PATCH']);
const CONTENT_TYPES = new Set(['application/json', 'application/xml', 'text/xml', 'text/plain']);
const MAX_QUERY_STRING_BYTES = 2048;
const EMPTY_BODY = Buffer.alloc(0);

function isThenable<T>(value: T | PromiseLike<T>): value is PromiseLike<T> {
  return typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function';
}
// An empty secret (`Bearer` alone) is a failed authentication (1010), not a malformed header, as in the original.
const BEARER = /^Bearer(?: +([^ ]*))? *$/i;

export interface EndpointDeps {
  config: Config;
  catalog: Catalog;
  health: HealthMonitor;
  verifier: SecretVerifier;
  actions: ActionRegistry;
  rateLimits: RateLimitStore;
  log: Logger;
}

/** What the end log line reports about one request. */
interface Trace {
  requestId: string;
  route: string;
  tokenId: string | undefined;
  started: number;
}

/** The media type of a Content-Type header, without parameters, lower case. */
function mediaType(header: string): string {
  const semicolon = header.indexOf(';');
  return (semicolon >= 0 ? header.slice(0, semicolon) : header).trim().toLowerCase();
}

export function createEndpointHandler(deps: EndpointDeps): RequestHandler & { limiter: ConcurrencyLimiter } {
  const { config, catalog, health, verifier, actions, rateLimits, log } = deps;
  const limiter = new ConcurrencyLimiter(config.maxConcurrentActions, config.maxQueuedActions);
  const inFlight = new InFlightRegistry(config.actionTimeoutMs);
  // Without a logger the per-request lines are not even formatted; server-side failures are still reported.
  const logging = config.logger !== NOOP_LOGGER;
  const failedAuth = config.failedAuthThrottle ? new MemorySlidingWindow() : null;
  log.info({ maxConcurrentActions: limiter.maxRunning, maxQueuedActions: limiter.maxWaiting }, 'Endpoint action concurrency limit');

  /** Refuses authentication with the one 401 all failures share, and counts it against the client address. */
  const authenticationFailed = (req: Request): EndpointError => {
    if (failedAuth && config.failedAuthThrottle) failedAuth.hit(req.ip ?? '', Number.MAX_SAFE_INTEGER, config.failedAuthThrottle.windowMs);
    return endpointError('AuthenticationFailed');
  };

  /** Steps 1-3: the request itself, before anything is looked up. */
  const checkRequest = (req: Request, path: RequestPath): void => {
    if (!METHODS.has(req.method)) throw endpointError('InvalidRequestMethod');
    if (Buffer.byteLength(path.rawQuery) > MAX_QUERY_STRING_BYTES) throw endpointError('QueryStringTooLarge');
    const contentType = req.headers['content-type'];
    if (contentType === undefined) {
      if (announcesBody(req)) throw endpointError('InvalidContentType');
    } else if (!CONTENT_TYPES.has(mediaType(contentType))) {
      throw endpointError('InvalidContentType');
    }
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > config.maxBodyBytes) throw endpointError('BodyTooLarge');
    if (path.segments.length === 0) throw endpointError('EmptyRoute');
  };

  /** Steps 4-7: who is calling, may they, and which definition answers. */
  const authorize = async (req: Request, segments: string[], trace: Trace): Promise<{ token: CachedToken; definition: CachedDefinition; routeParameters: Record<string, string> }> => {
    const match = BEARER.exec(req.headers.authorization ?? '');
    if (!match) throw endpointError('AuthenticationHeaderInvalid');
    if (!health.ready) throw new EndpointError('NotReady', { retryAfterSeconds: 1 });
    const throttle = config.failedAuthThrottle;
    if (failedAuth && throttle && failedAuth.count(req.ip ?? '', throttle.windowMs) >= throttle.limit) {
      throw new EndpointError('TooManyFailedAuthentications', { retryAfterSeconds: throttle.windowMs / 1000 });
    }
    const secret = match[1] ?? '';
    const token = verifier.lookup(secret);
    if (!token || token.isDisabled) throw authenticationFailed(req);
    trace.tokenId = token.id;
    if (token.rateLimit) {
      let verdict: { allowed: boolean; retryAfterMs: number };
      try {
        const pending = rateLimits.hit(`token:${token.id}`, token.rateLimit.limit, token.rateLimit.windowSeconds * 1000);
        // The memory store answers synchronously; awaiting only a real promise keeps the common path short.
        verdict = isThenable(pending) ? await pending : pending;
      } catch (error) {
        // Fail closed: a limit that cannot be checked is not waived.
        log.error({ requestId: trace.requestId, err: errorSummary(error) }, 'The rate-limit store failed');
        throw new EndpointError('NotReady', { retryAfterSeconds: 1 });
      }
      if (!verdict.allowed) throw new EndpointError('RateLimitExceeded', { retryAfterSeconds: verdict.retryAfterMs / 1000 });
    }
    const matched = catalog.match(segments);
    if (!matched) throw endpointError('DefinitionNotFound');
    if (!matched.definition.allowedTokens.has(token.id)) throw authenticationFailed(req);
    // bcrypt (once per secret and instance) only for a call that would succeed: refusals never pay for it.
    if (!verifier.isConfirmed(token) && !(await verifier.confirm(secret, token))) throw authenticationFailed(req);
    return { token, definition: matched.definition, routeParameters: matched.routeParameters };
  };

  /** Step 8: the action and its input. */
  const prepareAction = async (req: Request, definition: CachedDefinition): Promise<{ action: RegisteredAction; rawBody: string; parameters: Record<string, string> }> => {
    const action = actions.get(definition.actionMeta.name);
    if (!action || action.kind !== definition.actionType) throw endpointError('ActionNotFound');
    let body: Buffer;
    try {
      body = hasBody(req) ? await readBody(req, config.maxBodyBytes) : EMPTY_BODY;
    } catch (error) {
      if (error instanceof BodyTooLargeError) throw endpointError('BodyTooLarge');
      if (error instanceof BodyReadError) throw new ClientGoneError();
      throw error;
    }
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
   * that answers synchronously is used at once; only a promise is watched for its deadline and its client.
   */
  const runAction = async (res: Response, invoke: (entry: InFlight) => unknown, requestId: string, definitionId: string): Promise<unknown> => {
    const entry = inFlight.create(res);
    let release = limiter.tryAcquire();
    let work: unknown;
    try {
      if (!release) {
        inFlight.track(entry);
        try {
          release = await limiter.acquire(entry.signal);
        } catch (error) {
          if (error instanceof QueueFullError) throw new EndpointError('Overloaded', { retryAfterSeconds: 1 });
          throw error;
        }
      }
      work = invoke(entry);
      if (!isThenable(work)) return work;
      inFlight.track(entry);
      return await entry.wait(Promise.resolve(work));
    } catch (error) {
      if (entry.failed && isThenable(work)) {
        // The action may go on after its signal fired; its result is ignored and a late failure only logged.
        Promise.resolve(work).catch((late: unknown) => log.warn({ requestId, err: errorSummary(late) }, 'An action failed after it was abandoned'));
      }
      if (error instanceof TimeoutError) throw endpointError('ActionTimeout');
      if (error instanceof EndpointError || error instanceof ClientGoneError) throw error;
      log.error({ requestId, definitionId, err: errorSummary(error), stack: error instanceof Error ? error.stack : undefined }, 'The action threw');
      throw endpointError('ActionError');
    } finally {
      inFlight.finish(entry);
      release?.();
    }
  };

  const send = (res: Response, prepared: PreparedResponse): void => {
    res.statusCode = prepared.status;
    for (const [name, value] of prepared.headers) res.setHeader(name, value);
    res.setHeader('Content-Length', prepared.bodyBytes);
    res.end(prepared.body);
  };

  const logEnd = (trace: Trace, status: number, outcome: string): void => {
    if (!logging && status < 500) return;
    const durationMs = Math.round((performance.now() - trace.started) * 1000) / 1000;
    const fields = { requestId: trace.requestId, route: trace.route, durationMs, status, tokenId: trace.tokenId ?? null };
    const message = `Handling API trigger ${trace.requestId} for route '${trace.route}' ${outcome} after ${durationMs} ms. Response code: ${status}. (Token ID: ${trace.tokenId ?? 'none'})`;
    if (status === 500) log.error(fields, message);
    else if (status >= 500) log.warn(fields, message);
    else log.info(fields, message);
  };

  const handler = async (req: Request, res: Response): Promise<void> => {
    const trace: Trace = { requestId: randomUUID(), route: '', tokenId: undefined, started: performance.now() };
    let status = 500;
    let outcome = 'FAILED';
    const path = parseRequestPath(req.url);
    trace.route = path.route;
    if (logging) log.info({ requestId: trace.requestId, route: path.route }, `Started handling API trigger ${trace.requestId} for route '${path.route}'`);
    try {
      checkRequest(req, path);
      const { token, definition, routeParameters } = await authorize(req, path.segments, trace);
      const { action, rawBody, parameters } = await prepareAction(req, definition);
      const invoke = (entry: InFlight): unknown => {
        // The signal and the query parameters are made only if the action reads them.
        const context = {
          tokenId: token.id, tokenName: token.name, definitionId: definition.id, requestId: trace.requestId,
          get signal() { return entry.signal; },
        } satisfies ActionContext;
        if (action.kind === 'procedure') return action.run(parameters, context);
        let queryParameters: QueryParameters | undefined;
        const input = {
          requestMethod: req.method as RequestMethod,
          route: path.route,
          routeTemplate: definition.route,
          rawBody,
          parameters,
          get queryParameters() { return (queryParameters ??= queryParametersOf(path.rawQuery)); },
          routeParameters,
          context,
        } satisfies HandlerInput;
        return action.run(input);
      };
      const output = await runAction(res, invoke, trace.requestId, definition.id);
      const prepared: PreparedResponse = action.kind === 'procedure' ? { status: 200, headers: [], body: '', bodyBytes: 0 } : prepareOutput(output, config.maxResponseBodyBytes);
      status = prepared.status;
      outcome = 'SUCCEEDED';
      send(res, prepared);
    } catch (error) {
      if (error instanceof ClientGoneError || res.destroyed) {
        status = 499;
        outcome = 'ABANDONED (client closed the connection)';
        return;
      }
      let failure: EndpointError;
      if (error instanceof EndpointError) {
        failure = error;
      } else {
        log.error({ requestId: trace.requestId, err: errorSummary(error) }, 'Unexpected endpoint failure');
        failure = endpointError('UnexpectedException');
      }
      status = failure.status;
      // An oversized body is left unread: close the connection rather than drain it.
      if (failure.errorName === 'BodyTooLarge') res.setHeader('Connection', 'close');
      sendEndpointError(res, failure, config.instanceId);
    } finally {
      logEnd(trace, status, outcome);
    }
  };

  const middleware = ((req, res, next) => {
    handler(req, res).catch(next);
  }) as RequestHandler & { limiter: ConcurrencyLimiter };
  middleware.limiter = limiter;
  return middleware;
}
