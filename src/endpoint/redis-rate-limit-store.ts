// A rate-limit store on Redis, so that per-token limits hold across every instance that shares it.
import { randomBytes } from 'node:crypto';
import type { RateLimitStore } from '../domain/rate-limit-store';

/** The arguments of both scripts, and the time by the Redis server's clock (so instances with skewed clocks agree). */
const SCRIPT_PRELUDE = `
local key = KEYS[1]
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)`;

/**
 * The same sliding log as the memory store, as one atomic Lua script over a sorted set per key, timed by the
 * Redis server's clock so that instances with skewed clocks still agree.
 */
const SLIDING_WINDOW_SCRIPT = `${SCRIPT_PRELUDE}
redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
local count = redis.call('ZCARD', key)
if count >= limit then
  local oldest = redis.call('ZRANGE', key, count - limit, count - limit, 'WITHSCORES')
  local wait = tonumber(oldest[2]) + window - now
  return {0, wait, 0, wait}
end
redis.call('ZADD', key, now, ARGV[3])
redis.call('PEXPIRE', key, window)
local first = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
return {1, 0, limit - count - 1, tonumber(first[2]) + window - now}
`;

/** What the script above would answer, read-only: nothing is removed or counted. */
const PEEK_SCRIPT = `${SCRIPT_PRELUDE}
local recent = redis.call('ZRANGEBYSCORE', key, '(' .. (now - window), '+inf', 'WITHSCORES')
local count = #recent / 2
if count >= limit then
  return {0, tonumber(recent[(count - limit) * 2 + 2]) + window - now}
end
return {1, 0}
`;

/** An ioredis client (`call`) or a node-redis v4+ client (`sendCommand`); only one raw command is used. */
export type RedisClientLike =
  | {
      /** ioredis: runs one raw command (`EVAL`). */
      call(command: string, ...args: (string | number)[]): Promise<unknown>;
    }
  | {
      /** node-redis v4+: runs one raw command (`EVAL`), given as its words. */
      sendCommand(args: string[]): Promise<unknown>;
    };

/** Options of `createRedisRateLimitStore`. */
export interface RedisRateLimitStoreOptions {
  /** Prefix of the Redis keys. Default 'udapi:rl:'. */
  prefix?: string;
}

/**
 * Shares per-token rate limits across instances through Redis. If Redis fails, the endpoint refuses the
 * request with 503, code 7, rather than letting it through unlimited.
 * @example
 * import Redis from 'ioredis';
 * createUserDefinedApis({ ..., rateLimitStore: createRedisRateLimitStore(new Redis(process.env.REDIS_URL)) });
 */
export function createRedisRateLimitStore(
  client: RedisClientLike,
  options: RedisRateLimitStoreOptions = {},
): RateLimitStore {
  const prefix = options.prefix ?? 'udapi:rl:';
  let run: (args: string[]) => Promise<unknown>;
  if ('call' in client && typeof client.call === 'function') run = (args) => client.call(args[0]!, ...args.slice(1));
  else if ('sendCommand' in client && typeof client.sendCommand === 'function')
    run = (args) => client.sendCommand(args);
  else
    throw new TypeError(
      'createRedisRateLimitStore needs an ioredis client (with call) or a node-redis client (with sendCommand).',
    );

  return {
    async hit(key, limit, windowMs) {
      const member = `${Date.now()}-${randomBytes(6).toString('hex')}`;
      const reply = await run([
        'EVAL',
        SLIDING_WINDOW_SCRIPT,
        '1',
        prefix + key,
        String(limit),
        String(windowMs),
        member,
      ]);
      if (!Array.isArray(reply) || reply.length !== 4)
        throw new Error('Unexpected reply from the Redis rate-limit script');
      return {
        allowed: Number(reply[0]) === 1,
        retryAfterMs: Number(reply[1]),
        remaining: Number(reply[2]),
        resetMs: Number(reply[3]),
      };
    },
    async peek(key, limit, windowMs) {
      const reply = await run(['EVAL', PEEK_SCRIPT, '1', prefix + key, String(limit), String(windowMs)]);
      if (!Array.isArray(reply) || reply.length !== 2)
        throw new Error('Unexpected reply from the Redis rate-limit script');
      return { allowed: Number(reply[0]) === 1, retryAfterMs: Number(reply[1]) };
    },
  };
}
