// Sliding-window counters in memory: the per-token rate limit and the per-address failed-authentication throttle.

/** A rate-limit store; the default keeps counters in this process, a shared one (Redis) spans instances. */
export interface RateLimitStore {
  /**
   * Counts one request for `key` if fewer than `limit` were counted in the last `windowMs`. Refused requests
   * are not counted. `retryAfterMs` says when the oldest counted request leaves the window.
   */
  hit(key: string, limit: number, windowMs: number, now?: number): Promise<{ allowed: boolean; retryAfterMs: number }> | { allowed: boolean; retryAfterMs: number };
  /** Optional: what `hit` would answer, without counting anything (used by the admin explain call). */
  peek?(key: string, limit: number, windowMs: number): Promise<{ allowed: boolean; retryAfterMs: number }> | { allowed: boolean; retryAfterMs: number };
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

  /** @param maxKeys - How many keys keep a log before the least recently used one is dropped. Default 100000. */
  constructor(private readonly maxKeys = 100_000) {}

  /** As `RateLimitStore.hit`; `now` is for tests. */
  hit(key: string, limit: number, windowMs: number, now = Date.now()): { allowed: boolean; retryAfterMs: number } {
    const log = this.logs.get(key) ?? [];
    this.logs.delete(key);
    const cutoff = now - windowMs;
    let start = 0;
    while (start < log.length && log[start]! <= cutoff) start += 1;
    const recent = start > 0 ? log.slice(start) : log;
    let result: { allowed: boolean; retryAfterMs: number };
    if (recent.length >= limit) {
      result = { allowed: false, retryAfterMs: recent[recent.length - limit]! + windowMs - now };
    } else {
      recent.push(now);
      result = { allowed: true, retryAfterMs: 0 };
    }
    this.logs.set(key, recent);
    if (this.logs.size > this.maxKeys) {
      const oldest = this.logs.keys().next().value;
      if (oldest !== undefined) this.logs.delete(oldest);
    }
    return result;
  }

  /** As `RateLimitStore.peek`; `now` is for tests. */
  peek(key: string, limit: number, windowMs: number, now = Date.now()): { allowed: boolean; retryAfterMs: number } {
    const recent = (this.logs.get(key) ?? []).filter((time) => time > now - windowMs);
    return recent.length >= limit ? { allowed: false, retryAfterMs: recent[recent.length - limit]! + windowMs - now } : { allowed: true, retryAfterMs: 0 };
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
