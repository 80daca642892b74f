// What the endpoint reports per call when metrics are on: the call's outcome and latency, auth failures, rate-limit refusals.
import type { CounterLike, HistogramLike } from '../domain/prom-client-like';

/**
 * Why an authentication failed, as the `reason` label of `udapi_auth_failures_total`. The consumer sees one
 * answer for all but the first and the last (401, code 1010); the label is for the operator only, and never
 * holds a secret or a token id.
 */
export type AuthFailureReason =
  /** No `Authorization: Bearer …` header (401, code 1008). */
  | 'header_invalid'
  /** The client address is throttled for too many failed authentications (429, code 2003). */
  | 'throttled'
  /** An empty, malformed or unknown secret. */
  | 'unknown_secret'
  /** The secret's token is disabled. */
  | 'disabled'
  /** The secret's token has expired, or it is a rotated-out secret whose grace period has ended. */
  | 'expired'
  /** The matched definition does not allow the token. */
  | 'not_allowed'
  /** The matched definition allows the token, but the token lacks one of its required scopes. */
  | 'missing_scope'
  /** The secret's digest matched a token but its bcrypt hash did not (a tampered document or a changed pepper). */
  | 'wrong_secret'
  /** A host route (requireToken) refused a valid token: a required scope is missing, or `allow` said no (403). */
  | 'insufficient_scope';

/** Every reason, in the order the endpoint checks them; the metric starts each at 0 so that rates exist from the start. */
export const AUTH_FAILURE_REASONS: readonly AuthFailureReason[] = [
  'header_invalid',
  'throttled',
  'unknown_secret',
  'disabled',
  'expired',
  'not_allowed',
  'missing_scope',
  'wrong_secret',
  'insufficient_scope',
];

/** The `definition` label of a call that ended before a definition matched (refused early, or no route matched). */
export const NO_DEFINITION = '';

/** The endpoint's side of the metrics; the endpoint holds null instead when metrics are off, so they cost one null check. */
export interface EndpointMetrics {
  /** One finished call (including 499: the client went away), with its duration from arrival to the response. */
  callEnded(definitionId: string | undefined, status: number, seconds: number): void;
  authFailed(reason: AuthFailureReason): void;
  rateLimited(): void;
}

export interface EndpointMetricSinks {
  calls: CounterLike;
  duration: HistogramLike;
  authFailures: CounterLike;
  rateLimitRejections: CounterLike;
}

export function endpointMetrics(sinks: EndpointMetricSinks): EndpointMetrics {
  const { calls, duration, authFailures, rateLimitRejections } = sinks;
  return {
    callEnded: (definitionId, status, seconds) => {
      const definition = definitionId ?? NO_DEFINITION;
      calls.inc({ definition, status }, 1);
      duration.observe({ definition }, seconds);
    },
    authFailed: (reason) => authFailures.inc({ reason }, 1),
    rateLimited: () => rateLimitRejections.inc(1),
  };
}
