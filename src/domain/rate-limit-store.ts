// What a rate-limit store answers: the memory store, the Redis store and a host's own all keep this contract.

/** What a store answers for one request: whether it is within the limit, and if not, when it will be. */
export interface RateLimitAnswer {
  /** True when the request is within the limit (and, for `hit`, was counted). */
  allowed: boolean;
  /** When refused: milliseconds until the oldest counted request leaves the window; 0 when allowed. */
  retryAfterMs: number;
  /**
   * Optional (the RateLimit response headers need it; a store without it sends none): how many more requests the
   * window admits now, this one counted.
   */
  remaining?: number;
  /** Optional, with `remaining`: milliseconds until the oldest counted request leaves the window (`remaining` grows). */
  resetMs?: number;
}

/** A rate-limit store; the default keeps counters in this process, a shared one (Redis) spans instances. */
export interface RateLimitStore {
  /**
   * Counts one request for `key` if fewer than `limit` were counted in the last `windowMs`. Refused requests
   * are not counted. `retryAfterMs` says when the oldest counted request leaves the window.
   */
  hit(key: string, limit: number, windowMs: number, now?: number): Promise<RateLimitAnswer> | RateLimitAnswer;
  /** Optional: what `hit` would answer, without counting anything (used by the admin explain call). */
  peek?(key: string, limit: number, windowMs: number): Promise<RateLimitAnswer> | RateLimitAnswer;
}
