// A server under benchmark, in a process of its own: bare Express, or Express with the built package mounted.
import express from 'express';
import mongoose from 'mongoose';
import { ALL_PERMISSIONS, createUserDefinedApis } from '../dist/index.mjs';
import { internalsOf } from '../dist/plugin.js';

const mode = process.env.BENCH_MODE;
const app = express();
app.disable('x-powered-by');
app.disable('etag');
// CPU time of this process, so the benchmark can report CPU per request as well as throughput.
app.get('/__bench/cpu', (_req, res) => {
  const usage = process.cpuUsage();
  res.type('application/json').send(JSON.stringify({ userMicros: usage.user, systemMicros: usage.system }));
});
const trivial = { ok: true };

let udapi;
let connection;
if (mode === 'bare') {
  // The same trivial response the benchmarked handler returns, with the same Content-Type.
  app.get('/api/custom/bench/ping', (_req, res) => {
    res.type('application/json').send(JSON.stringify(trivial));
  });
} else if (mode === 'udapi') {
  connection = mongoose.createConnection(process.env.MONGODB_URI, { dbName: process.env.BENCH_DB });
  await connection.asPromise();
  udapi = createUserDefinedApis({
    connection,
    pepper: process.env.BENCH_PEPPER,
    instanceId: process.env.INSTANCE_ID ?? 'bench',
    authenticateAdmin: (req) => (req.headers['x-bench-admin'] ? { name: 'bench', permissions: ALL_PERMISSIONS } : null),
    // The flood scenario sends only unknown secrets; the throttle would turn it into 429s, which is not what is measured.
    failedAuthThrottle: false,
    // BENCH_LAST_USED_INTERVAL_MS: to see what the periodic last-use writes and read-backs cost the other scenarios.
    lastUsedIntervalMs: process.env.BENCH_LAST_USED_INTERVAL_MS ? Number(process.env.BENCH_LAST_USED_INTERVAL_MS) : undefined,
  });
  udapi.registerHandler('bench.ping', () => ({ responseCode: 200, responseBody: JSON.stringify(trivial) }));
  app.get('/__bench/stats', (_req, res) => {
    const internals = internalsOf(udapi);
    globalThis.gc?.();
    res.json({ bcrypt: internals.bcrypt.stats, tokens: internals.catalog.tokenCount, definitions: internals.catalog.definitionCount, memory: process.memoryUsage() });
  });
  app.use('/api/custom', udapi.endpoint());
  app.use('/admin/udapi', udapi.adminRouter());
  await udapi.ready();
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
