// Redis for the shared-store tests: its URL, and `itWithRedis`, which global setup turned into `it.skip` when no Redis answered outside CI.
export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

/** `it` when Redis answered global setup's ping (always so in CI, where a missing Redis fails the run), else `it.skip`. */
export const itWithRedis: jest.It = process.env.UDAPI_REDIS_AVAILABLE === '0' ? it.skip : it;
