// Jest global setup: starts the embedded FerretDB unless MONGODB_URI points at a database already, and checks for Redis.
const { startTestDb } = require('../../scripts/testdb.cjs');

/** Pings Redis; outside CI a missing one skips the few tests that need it (said in one line), in CI it fails the run. */
async function checkRedis() {
  const url = process.env.REDIS_URL || 'redis://127.0.0.1:6379';
  const { default: Redis } = require('ioredis');
  const client = new Redis(url, {
    lazyConnect: true,
    connectTimeout: 1000,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  let cause = null; // the socket's own error (e.g. ECONNREFUSED) says more than the rejected connect()
  client.on('error', (error) => (cause ??= error.message));
  let problem = null;
  try {
    await client.connect();
    await client.ping();
  } catch (error) {
    problem = cause ?? (error instanceof Error ? error.message : String(error));
  } finally {
    client.disconnect();
  }
  if (problem === null) {
    process.env.UDAPI_REDIS_AVAILABLE = '1';
    return;
  }
  if (process.env.CI)
    throw new Error(`No Redis at ${url} (${problem}): CI runs every test; start redis-server or set REDIS_URL.`);
  process.env.UDAPI_REDIS_AVAILABLE = '0';
  process.stderr.write(
    `\nRedis at ${url} did not answer (${problem}): the Redis store tests are skipped. Start redis-server, or set REDIS_URL, to run them.\n`,
  );
}

module.exports = async function globalSetup() {
  await checkRedis();
  if (process.env.MONGODB_URI) return;
  const db = await startTestDb({ log: (line) => process.stderr.write(`${line}\n`) });
  globalThis.__UDAPI_TESTDB__ = db;
  // Workers are started after this and inherit the environment.
  process.env.MONGODB_URI = db.uri;
  process.env.UDAPI_TESTDB_OWNED = '1';
};
