// A server under benchmark, in a process of its own: bare Express, or Express with the built package mounted.
import express from 'express';
import path from 'node:path';
import { PerformanceObserver, constants, performance } from 'node:perf_hooks';
import mongoose from 'mongoose';
import { ALL_PERMISSIONS, createUserDefinedApis } from '../dist/index.mjs';
import { internalsOf } from '../dist/plugin.js';
import { collectGarbage } from './collect-garbage.mjs';

const mode = process.env.BENCH_MODE;
const app = express();
app.disable('x-powered-by');
app.disable('etag');
// Garbage-collection pauses of the main thread, so the benchmark can tell what a large view costs each request.
let gcPauseMicros = 0;
let majorGcs = 0;
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) {
    gcPauseMicros += entry.duration * 1000;
    if (entry.detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR) majorGcs += 1;
  }
}).observe({ entryTypes: ['gc'] });
// BENCH_PROFILE_DIR: POST /__bench/profile/start and /stop take a CPU profile of one load run (to find what a row costs).
if (process.env.BENCH_PROFILE_DIR) {
  const { Session } = await import('node:inspector/promises');
  const { writeFile } = await import('node:fs/promises');
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  app.post('/__bench/profile/start', async (_req, res) => {
    await session.post('Profiler.start');
    res.json({ started: true });
  });
  app.post('/__bench/profile/stop', express.json(), async (req, res) => {
    const { profile } = await session.post('Profiler.stop');
    const file = path.join(process.env.BENCH_PROFILE_DIR, `${req.body.name}.cpuprofile`);
    await writeFile(file, JSON.stringify(profile));
    res.json({ file });
  });
}
// CPU time of this process, so the benchmark can report CPU per request as well as throughput.
app.get('/__bench/cpu', (_req, res) => {
  const usage = process.cpuUsage();
  res
    .type('application/json')
    .send(JSON.stringify({ userMicros: usage.user, systemMicros: usage.system, gcPauseMicros, majorGcs }));
});
const trivial = { ok: true };

let udapi;
let connection;
/** How long ready() took: the connection, the indexes and the whole view's load. */
let readyMs = null;
const sendTrivial = (_req, res) => {
  res.type('application/json').send(JSON.stringify(trivial));
};
/** A logger for warnings and errors only, one JSON line each, with the time of day (to line up with the soak report). */
function stderrLogger(bindings = {}) {
  const write = (level) => (obj, msg) =>
    process.stderr.write(
      `${JSON.stringify({ level, time: new Date().toISOString().slice(11, 23), msg, ...bindings, ...obj })}\n`,
    );
  return {
    debug: () => undefined,
    info: () => undefined,
    warn: write('warn'),
    error: write('error'),
    child: (more) => stderrLogger({ ...bindings, ...more }),
  };
}

if (mode === 'bare') {
  // The same trivial response the benchmarked handler returns, with the same Content-Type.
  app.get('/api/custom/bench/ping', sendTrivial);
} else if (mode === 'udapi') {
  // BENCH_HINTS_MUTED=1: this instance sends no hint until POST /__bench/hints, so one instance at the large size
  // can write for the timer-only revocation trials and then for the hinted ones (another would take a full load).
  let hintsMuted = process.env.BENCH_HINTS_MUTED === '1';
  const redis = process.env.BENCH_CHANGE_HINTS
    ? new (await import('ioredis')).default(process.env.BENCH_CHANGE_HINTS)
    : null;
  const hintClient = redis && {
    duplicate: () => redis.duplicate(),
    publish: (channel, message) => (hintsMuted ? Promise.resolve(0) : redis.publish(channel, message)),
  };
  app.post('/__bench/hints', (_req, res) => {
    hintsMuted = false;
    res.json({ muted: hintsMuted });
  });
  connection = mongoose.createConnection(process.env.MONGODB_URI, { dbName: process.env.BENCH_DB });
  await connection.asPromise();
  udapi = createUserDefinedApis({
    connection,
    pepper: process.env.BENCH_PEPPER,
    instanceId: process.env.INSTANCE_ID ?? 'bench',
    // Warnings and errors to stderr (the package logs no secret): what the soak and the bench show when they fail.
    logger: stderrLogger(),
    authenticateAdmin: (req) => (req.headers['x-bench-admin'] ? { name: 'bench', permissions: ALL_PERMISSIONS } : null),
    // The flood scenario sends only unknown secrets; the throttle would turn it into 429s, which is not what is measured.
    failedAuthThrottle: false,
    // BENCH_LAST_USED_INTERVAL_MS: to see what the periodic last-use writes and read-backs cost the other scenarios.
    lastUsedIntervalMs: process.env.BENCH_LAST_USED_INTERVAL_MS
      ? Number(process.env.BENCH_LAST_USED_INTERVAL_MS)
      : undefined,
    // BENCH_MAX_VIEW_LAG_MS: the soak's (bench/soak.mjs says why); the option's default otherwise.
    maxViewLagMs: process.env.BENCH_MAX_VIEW_LAG_MS ? Number(process.env.BENCH_MAX_VIEW_LAG_MS) : undefined,
    // BENCH_USAGE=off: no usage counting, to measure what counting costs the authorized call.
    usage: process.env.BENCH_USAGE !== 'off',
    // BENCH_CHANGE_HINTS: a Redis URL; instances then nudge each other to poll the change log at once.
    changeHints: hintClient ? { redis: hintClient, channel: `bench:${process.env.BENCH_DB}` } : undefined,
  });
  udapi.registerHandler('bench.ping', () => ({ responseCode: 200, responseBody: JSON.stringify(trivial) }));
  app.get('/__bench/stats', async (_req, res) => {
    const internals = internalsOf(udapi);
    await collectGarbage(); // as bench/view-memory.mjs counts
    res.json({
      bcrypt: internals.bcrypt.stats,
      tokens: internals.catalog.tokenCount,
      definitions: internals.catalog.definitionCount,
      memory: process.memoryUsage(),
      readyMs,
    });
  });
  // A full reload of the view, timed, as the health check and the periodic reload run it.
  app.post('/__bench/reload', async (_req, res) => {
    const t0 = performance.now();
    await internalsOf(udapi).feed.reload();
    res.json({ ms: performance.now() - t0 });
  });
  app.use('/api/custom', udapi.endpoint());
  app.use('/admin/udapi', udapi.adminRouter());
  // A host route protected by the same tokens, answering what the endpoint's handler answers, and the same route
  // without requireToken(): the middleware's cost, apart from what the rest of the process costs.
  app.get('/host/ping', udapi.requireToken(), sendTrivial);
  app.get('/host/bare', sendTrivial);
  const readyStarted = performance.now();
  await udapi.ready();
  readyMs = performance.now() - readyStarted;
} else {
  throw new Error(`BENCH_MODE must be bare or udapi, got ${mode}`);
}

const server = app.listen(0, '127.0.0.1', () => console.log(`READY ${server.address().port}`));
const shutdown = async () => {
  server.close();
  await udapi?.close();
  await connection?.close();
  process.exit(0);
};
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
