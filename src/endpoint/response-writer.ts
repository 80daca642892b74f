// Ends every call exactly once: writes the action's response or the error body, then the end log line and the metrics.
import { performance } from 'node:perf_hooks';
import type { NextFunction, Response } from 'express';
import type { CallLogLevels } from '../domain/config';
import { ClientGoneError, EndpointError } from '../errors';
import { errorSummary } from '../logging';
import type { EndpointMetrics } from '../metrics/endpoint-metrics';
import type { Logger } from '../types';
import type { PreparedResponse } from './action-output';
import type { CallTrace } from './call-trace';
import { endpointError, errorForHost, sendEndpointError } from './endpoint-error';
import { writeRateLimitHeaders } from './rate-limit-headers';

export interface ResponseWriterDeps {
  log: Logger;
  /** False without a logger: then the per-call lines are not even formatted; server-side failures still are. */
  logging: boolean;
  metrics: EndpointMetrics | null;
  /** The faultingNode of error bodies. */
  instanceId: string;
  /** The levels of the start line and of the end line below 500 (null: none). */
  levels: CallLogLevels;
  /** Which failures go to the host's error handler instead of an answer. */
  passErrorsToHost: 'none' | 'unexpected' | 'all';
  /** Null with `usage: false`. */
  usage: CallUsage | null;
}

/** Counts one finished call for GET /usage (usage-counter.ts, behind the endpoint's route matching). */
export type CallUsage = (trace: CallTrace, status: number, elapsedMs: number, refusal: string | null) => void;

export class ResponseWriter {
  constructor(private readonly deps: ResponseWriterDeps) {}

  started(trace: CallTrace): void {
    const level = this.deps.levels.start;
    if (this.deps.logging && level !== null)
      this.deps.log[level](
        { requestId: trace.requestId, route: trace.route },
        `Started handling API trigger ${trace.requestId} for route '${trace.route}'`,
      );
  }

  succeed(res: Response, trace: CallTrace, prepared: PreparedResponse): void {
    try {
      res.statusCode = prepared.status;
      writeRateLimitHeaders(res, trace);
      for (const [name, value] of prepared.headers) res.setHeader(name, value);
      res.setHeader('Content-Length', prepared.bodyBytes);
      res.end(prepared.body);
    } catch (error) {
      this.fail(res, trace, error);
      return;
    }
    this.ended(trace, prepared.status, 'SUCCEEDED', null);
  }

  /** `next` given: a failure that passErrorsToHost names goes to the host's error handler instead. */
  fail(res: Response, trace: CallTrace, error: unknown, next?: NextFunction): void {
    if (error instanceof ClientGoneError || res.destroyed) {
      this.ended(trace, 499, 'ABANDONED (client closed the connection)', null);
      return;
    }
    let failure: EndpointError;
    if (error instanceof EndpointError) {
      failure = error;
    } else {
      this.deps.log.error({ requestId: trace.requestId, err: errorSummary(error) }, 'Unexpected endpoint failure');
      failure = endpointError('UnexpectedException');
    }
    const pass = this.deps.passErrorsToHost;
    const toHost = next !== undefined && (pass === 'all' || (pass === 'unexpected' && failure.status === 500));
    try {
      // A body left unread (too large, over the budget, stalled): close the connection rather than drain it.
      const bodyLeftUnread =
        failure.errorName === 'BodyTooLarge' ||
        failure.errorName === 'BodyTimeout' ||
        (failure.errorName === 'Overloaded' && !res.req.complete);
      if (bodyLeftUnread) res.setHeader('Connection', 'close');
      writeRateLimitHeaders(res, trace);
      if (toHost) next(errorForHost(failure, this.deps.instanceId, bodyLeftUnread, error));
      else sendEndpointError(res, failure, this.deps.instanceId);
    } finally {
      const outcome = toHost ? "FAILED (passed to the host's error handler)" : 'FAILED';
      this.ended(trace, failure.status, outcome, trace.authFailure ?? failure.errorName);
    }
  }

  /**
   * Every call ends here exactly once, whatever its outcome (499: the client went away): the end log line, the
   * metrics and the usage count. `refusal`: why the endpoint refused or failed it (the authentication failure's
   * reason, else the error's name); null when the action answered.
   */
  private ended(trace: CallTrace, status: number, outcome: string, refusal: string | null): void {
    const { logging, metrics, log, levels, usage } = this.deps;
    if (!logging && !metrics && !usage && status < 500) return;
    const elapsedMs = performance.now() - trace.started;
    if (metrics) metrics.callEnded(trace.definitionId, status, elapsedMs / 1000);
    if (usage) usage(trace, status, elapsedMs, refusal);
    if ((!logging || levels.end === null) && status < 500) return;
    const durationMs = Math.round(elapsedMs * 1000) / 1000;
    const fields = {
      requestId: trace.requestId,
      route: trace.route,
      durationMs,
      status,
      tokenId: trace.tokenId ?? null,
    };
    const message = `Handling API trigger ${trace.requestId} for route '${trace.route}' ${outcome} after ${durationMs} ms. Response code: ${status}. (Token ID: ${trace.tokenId ?? 'none'})`;
    if (status === 500) log.error(fields, message);
    else if (status >= 500) log.warn(fields, message);
    else log[levels.end ?? 'info'](fields, message);
  }
}
