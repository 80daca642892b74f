// Sliding-window counters in memory: the per-token rate limit and the per-address failed-authentication throttle.
import type { RateLimitAnswer, RateLimitStore } from '../domain/rate-limit-store';

/** The answer within the limit when `remaining` is not reported, and peek()'s: nothing is allocated for it. */
const ALLOWED: RateLimitAnswer = Object.freeze({ allowed: true, retryAfterMs: 0 });

/** Options of `MemoryRateLimitStore`. */
export interface MemoryRateLimitStoreOptions {
  /**
   * Report `remaining` and `resetMs` with each hit (for the RateLimit response headers), at the cost of one small
   * object per hit. Default true; the failed-authentication throttle's own store turns it off, so that a flood of
   * failures allocates nothing while within its limit.
   */
  remaining?: boolean;
}

/**
 * One timestamp log per key, trimmed on every hit, so a key holds at most `limit` entries. The map is an LRU
 * bounded by `maxKeys`: an evicted key (the least recently used) starts afresh, which can only admit more.
 * Exported as `MemoryRateLimitStore`, the default `rateLimitStore`.
 * @example
 * createUserDefinedApis({ ..., rateLimitStore: new MemoryRateLimitStore(10_000) });
 */
export class MemorySlidingWindow implements RateLimitStore {
  private readonly logs = new Map<string, number[]>();

  private readonly reportRemaining: boolean;

  /** @param maxKeys - How many keys keep a log before the least recently used one is dropped. Default 100000. */
  constructor(
    private readonly maxKeys = 100_000,
    options: MemoryRateLimitStoreOptions = {},
  ) {
    this.reportRemaining = options.remaining ?? true;
  }

  /** As `RateLimitStore.hit`; `now` is for tests. */
  hit(key: string, limit: number, windowMs: number, now = Date.now()): RateLimitAnswer {
    const log = this.logs.get(key) ?? [];
    this.logs.delete(key);
    const cutoff = now - windowMs;
    let start = 0;
    while (start < log.length && log[start]! <= cutoff) start += 1;
    const recent = start > 0 ? log.slice(start) : log;
    let result: RateLimitAnswer;
    if (recent.length >= limit) {
      const retryAfterMs = recent[recent.length - limit]! + windowMs - now;
      result = this.reportRemaining
        ? { allowed: false, retryAfterMs, remaining: 0, resetMs: retryAfterMs }
        : { allowed: false, retryAfterMs };
    } else {
      recent.push(now);
      result = this.reportRemaining
        ? { allowed: true, retryAfterMs: 0, remaining: limit - recent.length, resetMs: recent[0]! + windowMs - now }
        : ALLOWED;
    }
    this.logs.set(key, recent);
    if (this.logs.size > this.maxKeys) {
      const oldest = this.logs.keys().next().value;
      if (oldest !== undefined) this.logs.delete(oldest);
    }
    return result;
  }

  /** As `RateLimitStore.peek`; `now` is for tests. */
  peek(key: string, limit: number, windowMs: number, now = Date.now()): RateLimitAnswer {
    const recent = (this.logs.get(key) ?? []).filter((time) => time > now - windowMs);
    return recent.length >= limit
      ? { allowed: false, retryAfterMs: recent[recent.length - limit]! + windowMs - now }
      : ALLOWED;
  }

  /** How many hits `key` has in the window, without counting one. */
  count(key: string, windowMs: number, now = Date.now()): number {
    const log = this.logs.get(key);
    if (!log) return 0;
    return log.filter((time) => time > now - windowMs).length;
  }

  /** How many keys hold a log now (at most `maxKeys`). */
  get size(): number {
    return this.logs.size;
  }
}
