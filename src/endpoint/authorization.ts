// Steps 4-7 of a call: who is calling, may they, and which definition and action answer; refusals counted per address.
import type { Request } from 'express';
import { isThenable, type MaybePromise } from '../shared/maybe-promise';
import { BcryptOverloadedError, EndpointError, RateLimitStoreError } from '../errors';
import type { HealthMonitor } from '../health';
import { errorSummary } from '../logging';
import type { AuthFailureReason, EndpointMetrics } from '../metrics/endpoint-metrics';
import {
  type AccessDecider,
  type AllowedToken,
  type AccessDecision,
  type AccessVerdict,
  type AllowedAccess,
} from '../services/access-decision';
import type { Logger } from '../types';
import { bearerSecret } from './authorization-header';
import type { CallTrace } from './call-trace';
import { endpointError, retryAfterError } from './endpoint-error';
import type { FailedAuthThrottle, ThrottleVerdict } from './failed-auth-throttle';

export interface AuthorizationDeps {
  decider: AccessDecider;
  health: HealthMonitor;
  /** Null when the failed-authentication throttle is off. */
  throttle: FailedAuthThrottle | null;
  log: Logger;
  /** Notes a successful authorization (coalesced into lastUsedAt off the request path). */
  recordUse: (tokenId: string) => void;
  metrics: EndpointMetrics | null;
}

/** The refusals that are failed authentications, with the reason the metrics give each (the caller sees one 401). */
const AUTH_FAILURES: Partial<Record<AccessVerdict, AuthFailureReason>> = {
  unknownSecret: 'unknown_secret',
  disabled: 'disabled',
  expired: 'expired',
  notAllowed: 'not_allowed',
  missingScope: 'missing_scope',
  wrongSecret: 'wrong_secret',
};

/**
 * What a host route requires of a token (requireToken, verify): its scopes (null: none), and the 403 that names them,
 * built once per route so that a refusal allocates nothing.
 */
export interface HostRouteRule {
  scopes: readonly string[] | null;
  refusal: EndpointError;
}

/**
 * The client address whose failed authentications the throttle counts: a string; a request, whose `ip` is read only
 * when a failure is counted (Express's req.ip runs proxy-addr over X-Forwarded-For on every read, microseconds that
 * a call that authenticates never needs); or null: none is counted (verify() without an address).
 */
type Address = string | null | { readonly ip?: string | undefined };

/**
 * Synchronous unless a shared store or bcrypt is awaited. Gives the `allowed` decision or the refusal, an
 * EndpointError returned rather than thrown: a throw costs V8 a message object and a stack walk for its location
 * (2.7 µs of a refusal's 7 in a CPU profile of the bench's flood). Throws only what is no refusal (a failure of the
 * package itself).
 */
export class Authorization {
  constructor(private readonly deps: AuthorizationDeps) {}

  /** A call to a user-defined API. */
  authorize(req: Request, segments: readonly string[], trace: CallTrace): MaybePromise<AllowedAccess | EndpointError> {
    // With segments, an allowed decision names its definition and action (access-decision.ts).
    return this.check(req, bearerSecret(req.headers.authorization), segments, trace, null) as MaybePromise<
      AllowedAccess | EndpointError
    >;
  }

  /** A host route: the token a secret authenticates, by the same rules as a call, and the scopes the route requires. */
  authorizeToken(
    address: Address,
    secret: string | null,
    trace: CallTrace,
    rule: HostRouteRule,
  ): MaybePromise<AllowedToken | EndpointError> {
    return this.check(address, secret, null, trace, rule) as MaybePromise<AllowedToken | EndpointError>;
  }

  /** A host route's `allow` said no to a token authorizeToken() admitted: counted as the 403 it answers. */
  refusedByHost(trace: CallTrace): void {
    trace.authFailure = 'insufficient_scope';
    if (this.deps.metrics) this.deps.metrics.authFailed('insufficient_scope');
  }

  private check(
    address: Address,
    secret: string | null,
    segments: readonly string[] | null,
    trace: CallTrace,
    rule: HostRouteRule | null,
  ): MaybePromise<AccessDecision | EndpointError> {
    if (secret === null)
      return this.refuseAuthentication(address, trace, 'header_invalid', endpointError('AuthenticationHeaderInvalid'));
    if (!this.deps.health.ready) return this.whenCaughtUp(address, secret, segments, trace, rule);
    return this.decide(address, secret, segments, trace, rule);
  }

  /** A view behind only because this process was busy may catch up in a poll; anything else is 503/7 at once. */
  private whenCaughtUp(
    address: Address,
    secret: string,
    segments: readonly string[] | null,
    trace: CallTrace,
    rule: HostRouteRule | null,
  ): MaybePromise<AccessDecision | EndpointError> {
    const caughtUp = this.deps.health.catchUp();
    if (!caughtUp) return retryAfterError('NotReady', 1000);
    return caughtUp.then((ready) =>
      ready ? this.decide(address, secret, segments, trace, rule) : retryAfterError('NotReady', 1000),
    );
  }

  private decide(
    address: Address,
    secret: string,
    segments: readonly string[] | null,
    trace: CallTrace,
    rule: HostRouteRule | null,
  ): MaybePromise<AccessDecision | EndpointError> {
    let decision: MaybePromise<AccessDecision>;
    try {
      decision = this.deps.decider.decide(secret, segments, 'call', trace, rule && rule.scopes);
    } catch (error) {
      return this.failure(error, trace);
    }
    if (!isThenable(decision)) return this.conclude(address, trace, decision, rule);
    return decision.then(
      (settled) => this.conclude(address, trace, settled, rule),
      (error: unknown) => this.failure(error, trace),
    );
  }

  private conclude(
    address: Address,
    trace: CallTrace,
    decision: AccessDecision,
    rule: HostRouteRule | null,
  ): MaybePromise<AccessDecision | EndpointError> {
    if (decision.verdict === 'allowed') {
      this.deps.recordUse(decision.token!.id);
      return decision;
    }
    const { verdict } = decision;
    const reason = AUTH_FAILURES[verdict];
    if (reason) return this.refuseAuthentication(address, trace, reason);
    if (verdict === 'rateLimited') {
      if (this.deps.metrics) this.deps.metrics.rateLimited();
      return retryAfterError('RateLimitExceeded', decision.retryAfterMs);
    }
    if (verdict === 'insufficientScope' && rule) {
      // The token is valid and its holder knows it: a missing scope is not a failed authentication to throttle.
      if (this.deps.metrics) this.deps.metrics.authFailed('insufficient_scope');
      return rule.refusal;
    }
    if (verdict === 'noDefinition') return endpointError('DefinitionNotFound');
    // actionMissing: the secret authenticated and the API allows it, so its use is noted as for a call that ran.
    this.deps.recordUse(decision.token!.id);
    return endpointError('ActionNotFound');
  }

  /**
   * Fail closed: a limit that cannot be checked is not waived. bcrypt's full queue is a 503 too. A refusal thrown
   * by a step is given as one; anything else is thrown on.
   */
  private failure(error: unknown, trace: CallTrace): EndpointError {
    if (error instanceof EndpointError) return error;
    if (error instanceof RateLimitStoreError) {
      this.deps.log.error(
        { requestId: trace.requestId, err: errorSummary(error.cause) },
        'The rate-limit store failed',
      );
      return retryAfterError('NotReady', 1000);
    }
    if (error instanceof BcryptOverloadedError) return retryAfterError('Overloaded', 1000);
    throw error;
  }

  /**
   * Refuses authentication with the one 401 all failures of its kind share, or with 429 once the client address had
   * too many; only failures are counted, never a call that authenticates. The reason goes to the metrics only: the
   * caller never learns which it was. Given at once with the memory store; a shared store's answer is awaited.
   */
  private refuseAuthentication(
    address: Address,
    trace: CallTrace,
    reason: AuthFailureReason,
    refusal: EndpointError = endpointError('AuthenticationFailed'),
  ): MaybePromise<EndpointError> {
    trace.authFailure = reason;
    const { throttle, metrics } = this.deps;
    if (!throttle || address === null) {
      if (metrics) metrics.authFailed(reason);
      return refusal;
    }
    const key = typeof address === 'string' ? address : (address.ip ?? '');
    let verdict: ReturnType<FailedAuthThrottle['failed']>;
    try {
      verdict = throttle.failed(key);
    } catch (error) {
      return this.throttleFailed(error, reason, refusal);
    }
    if (!isThenable(verdict)) return this.throttled(verdict, reason, refusal);
    return verdict.then(
      (answer) => this.throttled(answer, reason, refusal),
      (error: unknown) => this.throttleFailed(error, reason, refusal),
    );
  }

  private throttled(verdict: ThrottleVerdict, reason: AuthFailureReason, refusal: EndpointError): EndpointError {
    const { metrics } = this.deps;
    if (verdict.allowed) {
      if (metrics) metrics.authFailed(reason);
      return refusal;
    }
    if (metrics) metrics.authFailed('throttled');
    return retryAfterError('TooManyFailedAuthentications', verdict.retryAfterMs);
  }

  /** A shared store that fails cannot count this failure; the request is refused all the same. */
  private throttleFailed(error: unknown, reason: AuthFailureReason, refusal: EndpointError): EndpointError {
    this.deps.log.error(
      { err: errorSummary(error) },
      'The rate-limit store failed while counting a failed authentication',
    );
    if (this.deps.metrics) this.deps.metrics.authFailed(reason);
    return refusal;
  }
}
