// verify(): the check of requireToken() without Express, for WebSocket upgrades, queues and GraphQL contexts.
import { randomUUID } from 'node:crypto';
import type { Authorization, HostRouteRule } from '../endpoint/authorization';
import { newCallTrace } from '../endpoint/call-trace';
import { EndpointError, OptionsError, type ErrorCodeName } from '../errors';
import type { AuthFailureReason } from '../metrics/endpoint-metrics';
import { checkKeys } from '../shared/option-keys';
import type { VerifyFailureReason, VerifyOptions, VerifyResult } from '../types';
import { hostRouteRule } from './host-route-rule';
import { verifiedToken } from './verified-token';

/** The reason of each refusal but AuthenticationFailed, whose reason the authorization notes in the trace. */
const REASONS: Partial<Record<ErrorCodeName, VerifyFailureReason>> = {
  AuthenticationHeaderInvalid: 'missing',
  InsufficientScope: 'insufficient_scope',
  RateLimitExceeded: 'rate_limited',
  TooManyFailedAuthentications: 'throttled',
  NotReady: 'not_ready',
  Overloaded: 'overloaded',
};

/**
 * AuthenticationFailed: the reason the authorization noted (a host route has no definition to refuse a token, or to
 * require a scope of it: those two never occur here).
 */
const FAILED_AUTHENTICATIONS: Record<AuthFailureReason, VerifyFailureReason> = {
  header_invalid: 'missing',
  throttled: 'throttled',
  unknown_secret: 'unknown_secret',
  disabled: 'disabled',
  expired: 'expired',
  not_allowed: 'unknown_secret',
  wrong_secret: 'wrong_secret',
  missing_scope: 'unknown_secret',
  insufficient_scope: 'insufficient_scope',
};

/** Rules by their scope list, so that a caller checking the same scopes again builds nothing; bounded. */
const MAX_CACHED_RULES = 1000;

export function createVerify(
  authorization: Authorization,
): (secret: unknown, options?: VerifyOptions) => Promise<VerifyResult> {
  const rules = new Map<string, HostRouteRule>();
  const ruleOf = (scopes: unknown): HostRouteRule => {
    if (scopes === undefined) return rules.get('') ?? cache('', hostRouteRule(undefined, 'verify.scopes'));
    // JSON, not a join: ['a b'] (refused) must not find the rule of ['a', 'b'].
    const key =
      Array.isArray(scopes) && scopes.every((scope) => typeof scope === 'string') ? JSON.stringify(scopes) : null;
    if (key === null) return hostRouteRule(scopes, 'verify.scopes'); // refuses it
    return rules.get(key) ?? cache(key, hostRouteRule(scopes, 'verify.scopes'));
  };
  const cache = (key: string, rule: HostRouteRule): HostRouteRule => {
    if (rules.size < MAX_CACHED_RULES) rules.set(key, rule);
    return rule;
  };

  return async (secret, options = {}) => {
    if (typeof options !== 'object' || options === null)
      throw new OptionsError('verify() takes an options object, e.g. verify(secret, { scopes: ["reports:read"] }).');
    checkKeys(options, ['scopes', 'address'], 'verify.');
    const { address } = options;
    if (address !== undefined && typeof address !== 'string')
      throw new OptionsError('`verify.address` must be the client address as a string (e.g. req.ip).');
    const rule = ruleOf(options.scopes);
    const trace = newCallTrace(randomUUID());
    // A refusal is given back, not thrown (authorization.ts); what is thrown is a failure for the caller.
    const access = await authorization.authorizeToken(
      address ?? null,
      typeof secret === 'string' ? secret : null,
      trace,
      rule,
    );
    if (!(access instanceof EndpointError)) return { valid: true, token: verifiedToken(access.token) };
    const reason = REASONS[access.errorName] ?? FAILED_AUTHENTICATIONS[trace.authFailure ?? 'unknown_secret'];
    const retryAfterSeconds = access.extra.retryAfterSeconds;
    return retryAfterSeconds === undefined
      ? { valid: false, reason }
      : { valid: false, reason, retryAfterMs: retryAfterSeconds * 1000 };
  };
}
