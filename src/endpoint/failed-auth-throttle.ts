// The per-address throttle of failed authentications: counts failures only, so a secret that authenticates is never refused.
import { addressGroup } from './address-group';
import type { RateLimitStore } from './sliding-window';

export interface FailedAuthThrottleConfig {
  readonly limit: number;
  readonly windowMs: number;
  /** IPv6 clients are counted per network of this many leading bits (default 64). */
  readonly ipv6PrefixBits: number;
}

/** What a failure from an address gets: the ordinary refusal, or (over the limit) 429 after `retryAfterMs`. */
export interface ThrottleVerdict {
  readonly throttled: boolean;
  readonly retryAfterMs: number;
}

const NOT_THROTTLED: ThrottleVerdict = Object.freeze({ throttled: false, retryAfterMs: 0 });

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
    if (typeof (verdict as PromiseLike<unknown>).then !== 'function') return toThrottleVerdict(verdict as Awaited<typeof verdict>);
    return Promise.resolve(verdict).then(toThrottleVerdict);
  }
}

function toThrottleVerdict(verdict: { allowed: boolean; retryAfterMs: number }): ThrottleVerdict {
  return verdict.allowed ? NOT_THROTTLED : { throttled: true, retryAfterMs: verdict.retryAfterMs };
}
