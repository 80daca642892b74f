// What the end log line and the metrics report about one call, filled in as the call goes.
import { performance } from 'node:perf_hooks';
import type { AuthFailureReason } from '../metrics/endpoint-metrics';
import type { RateLimitAnswer } from '../domain/rate-limit-store';
import type { RateLimit } from '../types';

export interface CallTrace {
  requestId: string;
  route: string;
  /** The route's decoded segments (the endpoint's; empty on host routes), so that counting a refusal by API need not parse the path again. */
  segments: readonly string[];
  /** The token's id, once the secret found a token that is neither disabled nor expired. */
  tokenId: string | undefined;
  /** The matched definition's id, once a definition matched. */
  definitionId: string | undefined;
  /** performance.now() when the call arrived. */
  started: number;
  /** Why authentication failed, for the operator (verify() reports it); undefined until it does. */
  authFailure: AuthFailureReason | undefined;
  /** The token's rate limit and the store's answer, once counted: the RateLimit response headers say them. */
  rateLimit: RateLimit | undefined;
  rateLimitAnswer: RateLimitAnswer | undefined;
}

const NO_SEGMENTS: readonly string[] = Object.freeze([]);

/** A trace for a call arriving now, every field present from the start (one object shape for all calls). */
export function newCallTrace(requestId: string): CallTrace {
  return {
    requestId,
    route: '',
    segments: NO_SEGMENTS,
    tokenId: undefined,
    definitionId: undefined,
    started: performance.now(),
    authFailure: undefined,
    rateLimit: undefined,
    rateLimitAnswer: undefined,
  };
}
