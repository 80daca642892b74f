// The endpoint: authenticates a bearer secret, matches the route, runs the action and answers, in the order of docs/endpoint.md.
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { ActionRegistry } from '../actions/registry';
import type { Catalog } from '../catalog/catalog';
import type { Config } from '../domain/config';
import type { RateLimitStore } from '../domain/rate-limit-store';
import { isThenable, then, type MaybePromise } from '../shared/maybe-promise';
import type { HealthMonitor } from '../health';
import { NOOP_LOGGER } from '../logging';
import type { EndpointMetrics } from '../metrics/endpoint-metrics';
import { AccessDecider } from '../services/access-decision';
import type { SecretVerifier } from '../security/secret-verifier';
import type { Logger } from '../types';
import { EndpointError } from '../errors';
import { ActionInputReader } from './action-input';
import { prepareOutput, type PreparedResponse } from './action-output';
import { ActionRunner } from './action-runner';
import { Authorization } from './authorization';
import { newCallTrace, type CallTrace } from './call-trace';
import type { ConcurrencyLimiter } from './concurrency';
import type { FailedAuthThrottle } from './failed-auth-throttle';
import { checkRequest } from './request-checks';
import { actionCall } from './action-call';
import { parseRequestPath, type RequestPath } from '../domain/request-path';
import { requestIdOf } from '../domain/request-id';
import { ResponseWriter, type CallUsage } from './response-writer';
import type { UsageCounter } from '../usage/usage-counter';

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
  /** The failed-authentication throttle, shared with the host routes (null: off). */
  throttle: FailedAuthThrottle | null;
  /** Null with `usage: false`. */
  usage: UsageCounter | null;
}

export function createEndpointHandler(deps: EndpointDeps): RequestHandler & { limiter: ConcurrencyLimiter } {
  const { config, catalog, health, verifier, actions, rateLimits, log, recordUse, metrics, throttle, usage } = deps;
  const decider = new AccessDecider({ catalog, verifier, actions, rateLimits });
  const authorization = new Authorization({ decider, health, throttle, log, recordUse, metrics });
  const inputs = new ActionInputReader(config, log, (id) => catalog.definitionById(id) !== undefined);
  const runner = new ActionRunner(config, log);
  const writer = new ResponseWriter({
    log,
    logging: config.logger !== NOOP_LOGGER,
    metrics,
    instanceId: config.instanceId,
    levels: config.callLogLevels,
    passErrorsToHost: config.passErrorsToHost,
    usage: usage && callUsage(usage, catalog),
  });
  const responseHeader = config.requestId?.responseHeader ?? null;
  log.info(
    { maxConcurrentActions: runner.limiter.maxRunning, maxQueuedActions: runner.limiter.maxWaiting },
    'Endpoint action concurrency limit',
  );

  /**
   * Steps 1-9 and the response they produce, or the refusal of authorization.ts (given, not thrown: the refusals
   * of a flood cost no throw); synchronous from end to end in the common case.
   */
  const respond = (
    req: Request,
    res: Response,
    path: RequestPath,
    trace: CallTrace,
  ): MaybePromise<PreparedResponse | EndpointError> => {
    checkRequest(req, path, config.maxBodyBytes);
    return then(authorization.authorize(req, path.segments, trace), (access) =>
      access instanceof EndpointError
        ? access
        : then(inputs.read(req, res, access, path.rawQuery), (input) =>
            then(
              runner.run(res, actionCall(req, path, trace, access, input), trace.requestId, access.definition.id),
              (output): PreparedResponse =>
                access.action.kind === 'procedure'
                  ? PROCEDURE_RESPONSE
                  : prepareOutput(output, config.maxResponseBodyBytes),
            ),
          ),
    );
  };

  const finish = (res: Response, trace: CallTrace, outcome: PreparedResponse | EndpointError, next: NextFunction) =>
    outcome instanceof EndpointError ? writer.fail(res, trace, outcome, next) : writer.succeed(res, trace, outcome);

  const handler = (req: Request, res: Response, next: NextFunction): MaybePromise<void> => {
    const trace = newCallTrace(requestIdOf(req, config.requestId));
    if (responseHeader !== null) res.setHeader(responseHeader, trace.requestId);
    const path = parseRequestPath(req.url);
    trace.route = path.route;
    trace.segments = path.segments;
    writer.started(trace);
    let outcome: MaybePromise<PreparedResponse | EndpointError>;
    try {
      outcome = respond(req, res, path, trace);
    } catch (error) {
      return writer.fail(res, trace, error, next);
    }
    if (!isThenable(outcome)) return finish(res, trace, outcome, next);
    return outcome.then(
      (settled) => finish(res, trace, settled, next),
      (error: unknown) => writer.fail(res, trace, error, next),
    );
  };

  const checkMount = mountCheck(config.basePath, log);
  const middleware = ((req, res, next) => {
    checkMount(req);
    try {
      const pending = handler(req, res, next);
      if (pending) pending.catch(next);
    } catch (error) {
      next(error);
    }
  }) as RequestHandler & { limiter: ConcurrencyLimiter };
  middleware.limiter = runner.limiter;
  return middleware;
}

/**
 * A call counts against its token (none for a secret that authenticated no token: an unknown secret is never
 * anyone's) and its API: refused before the route was matched, it is matched here, so an API under a flood of
 * bad secrets shows it. Matching costs no more than the call's own (linear in the path, not in the definitions).
 */
function callUsage(usage: UsageCounter, catalog: Catalog): CallUsage {
  return (trace, status, elapsedMs, refusal) => {
    let definitionId = trace.definitionId;
    if (definitionId === undefined && trace.route !== '') definitionId = catalog.match(trace.segments)?.definition.id;
    usage.record(trace.tokenId ?? '', definitionId ?? '', status, elapsedMs, refusal);
  };
}

/**
 * Routes match from wherever the endpoint is mounted; basePath only says where consumers call it (the admin UI's
 * URLs, explain, the length limit). A mount path that differs is usually a forgotten option: said once.
 */
function mountCheck(basePath: string, log: Logger): (req: Request) => void {
  let checked = false;
  return (req) => {
    if (checked) return;
    checked = true;
    const mountPath = req.baseUrl ?? ''; // undefined outside Express (a bare http server)
    if (mountPath.toLowerCase() === basePath.toLowerCase()) return;
    log.warn(
      { mountPath, basePath },
      `The endpoint is mounted at '${mountPath}' but the basePath option is '${basePath}': the admin UI shows, and explain strips, basePath. Set basePath to the path consumers call, unless a proxy maps one to the other.`,
    );
  };
}
