// The per-address throttle of failed authentications: counts failures only, so a secret that authenticates is never refused.
import { isThenable } from '../shared/maybe-promise';
import type { FailedAuthThrottleConfig } from '../domain/config';
import { addressGroup } from './address-group';
import type { RateLimitAnswer, RateLimitStore } from '../domain/rate-limit-store';

/**
 * What a failure from an address gets: the ordinary refusal while `allowed` (the failure was counted), else 429
 * after `retryAfterMs`. The store's own answer, passed on as it is: nothing is allocated per failure.
 */
export type ThrottleVerdict = RateLimitAnswer;

/**
 * Only failures are counted and only failures are refused: checking the throttle before authentication would let
 * one attacker behind a shared NAT or proxy lock out every consumer there. With a shared store (Redis) all
 * instances count together, so N instances do not give an attacker N budgets.
 */
export class FailedAuthThrottle {
  constructor(
    private readonly config: FailedAuthThrottleConfig,
    private readonly store: RateLimitStore,
  ) {}

  /** Counts one failed authentication from `address`; over the limit the failure is not counted but throttled. */
  failed(address: string): ThrottleVerdict | Promise<ThrottleVerdict> {
    const { limit, windowMs, ipv6PrefixBits } = this.config;
    const verdict = this.store.hit(`authfail:${addressGroup(address, ipv6PrefixBits)}`, limit, windowMs);
    return isThenable(verdict) ? Promise.resolve(verdict) : verdict;
  }
}
