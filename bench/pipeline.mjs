// node bench/pipeline.mjs: the endpoint middleware's own cost per authorized call, in-process, without HTTP.
import { randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import mongoose from 'mongoose';
import { ALL_PERMISSIONS, createUserDefinedApis } from '../dist/index.mjs';
import { internalsOf } from '../dist/plugin.js';
import { parseRoute } from '../dist/domain/route-grammar.js';

const require = createRequire(import.meta.url);
const { startTestDb } = require('../scripts/testdb.cjs');
const CALLS = 200_000;
/** Extra tokens loaded into the view (PIPELINE_TOKENS), to see whether a call's cost grows with their number. */
const EXTRA_TOKENS = Number(process.env.PIPELINE_TOKENS ?? 0);
/** Extra definitions (PIPELINE_DEFINITIONS), half of them dynamic, as in the bench. */
const EXTRA_DEFINITIONS = Number(process.env.PIPELINE_DEFINITIONS ?? 0);
/** PIPELINE_METRICS=1: with Prometheus metrics on, to see what they add per call. */
const promClient = process.env.PIPELINE_METRICS === '1' ? (await import('prom-client')).default : null;
/** PIPELINE_USAGE=off: without usage counting, to see what counting adds per call. */
const usage = process.env.PIPELINE_USAGE !== 'off';

const database = process.env.MONGODB_URI ? null : await startTestDb({});
const connection = await mongoose
  .createConnection(process.env.MONGODB_URI ?? database.uri, { dbName: `udapi_pipeline_${process.pid}` })
  .asPromise();
const udapi = createUserDefinedApis({
  connection,
  pepper: 'bench-pepper-0123456789-abcdefghijklmnopqrstuvwxyz',
  failedAuthThrottle: false,
  metrics: promClient ? { promClient } : undefined,
  usage,
  authenticateAdmin: () => ({ name: 'bench', permissions: ALL_PERMISSIONS }),
});
udapi.registerHandler('bench.ping', () => ({ responseCode: 200, responseBody: '{"ok":true}' }));
try {
  const at = new Date();
  for (let offset = 0; offset < EXTRA_TOKENS; offset += 5000) {
    const batch = Array.from({ length: Math.min(5000, EXTRA_TOKENS - offset) }, (_, i) => ({
      _id: randomUUID(),
      name: `extra-${offset + i}`,
      secretDigest: randomUUID(),
      secretHash: 'unused',
      isDisabled: false,
      rateLimit: null,
      createdBy: 'bench',
      createdAt: at,
      lastModifiedBy: 'bench',
      lastModified: at,
      deletingSince: null,
    }));
    await connection.collection('udapiApiTokens').insertMany(batch);
  }
  const definitionDocs = Array.from({ length: EXTRA_DEFINITIONS }, (_, i) => {
    const route = i % 2 === 0 ? `bench/s${i}/leaf` : `bench/d${i}/{id}/x`;
    return {
      _id: randomUUID(),
      route,
      routeKey: parseRoute(route, '/api/custom').key,
      routeLower: route.toLowerCase(),
      securitySettings: { allowedTokens: [] },
      actionType: 'handler',
      actionMeta: { name: 'bench.ping', inputType: 'rawBody' },
      createdBy: 'bench',
      createdAt: at,
      lastModifiedBy: 'bench',
      lastModified: at,
    };
  });
  for (let offset = 0; offset < definitionDocs.length; offset += 5000) {
    await connection.collection('udapiApiDefinitions').insertMany(definitionDocs.slice(offset, offset + 5000));
  }
  await udapi.ready();
  const { tokens, definitions, verifier } = internalsOf(udapi);
  const ctx = { user: { name: 'bench' }, traceId: 'bench' };
  const { token, generatedSecret } = await tokens.create({ name: 'pipeline' }, ctx);
  await definitions.create(
    { route: 'bench/ping', actionMeta: { name: 'bench.ping' }, securitySettings: { allowedTokens: [token.id] } },
    ctx,
  );
  await verifier.verify(generatedSecret); // the one bcrypt check per secret and instance, done before timing

  const middleware = udapi.endpoint();
  const request = {
    method: 'GET',
    url: '/bench/ping',
    headers: { authorization: `Bearer ${generatedSecret}`, host: 'bench' },
    ip: '127.0.0.1',
  };
  // The least a response object needs here; its own cost is measured alone and subtracted.
  const response = () => ({
    statusCode: 200,
    destroyed: false,
    setHeader() {},
    end(body) {
      this.body = body;
    },
  });
  const fail = (error) => {
    throw error;
  };
  const check = response();
  middleware(request, check, fail);
  if (check.statusCode !== 200 || check.body !== '{"ok":true}')
    throw new Error(`unexpected answer ${check.statusCode} ${check.body}`);

  /**
   * µs per call of fn, timed in chunks with the event loop free in between: a loop held for seconds would leave
   * the view behind its change log (no poll runs), and calls would take the catch-up path a busy process takes,
   * not the one measured here. `answered` says whether the last call of a chunk was answered synchronously.
   */
  const CHUNK = 10_000;
  const time = async (fn, answered) => {
    for (let i = 0; i < CALLS / 10; i += 1) fn();
    let elapsed = 0n;
    for (let done = 0; done < CALLS; done += CHUNK) {
      await new Promise((resolve) => setTimeout(resolve, 5));
      const started = process.hrtime.bigint();
      for (let i = 1; i < CHUNK; i += 1) fn();
      const last = fn();
      elapsed += process.hrtime.bigint() - started;
      if (!answered(last)) throw new Error('a timed call was not answered on the synchronous path');
    }
    return Number(elapsed) / CALLS / 1000;
  };
  const always = () => true;
  const full = await time(
    () => {
      const res = response();
      middleware(request, res, fail);
      return res;
    },
    (res) => res.statusCode === 200 && res.body === '{"ok":true}',
  );
  const baseline = await time(() => {
    const res = response();
    res.setHeader('Content-Type', 'application/json');
    res.end('{"ok":true}');
  }, always);
  console.log(
    `endpoint pipeline: ${(full - baseline).toFixed(1)} µs per authorized call with ${EXTRA_TOKENS + 1} tokens and ${EXTRA_DEFINITIONS + 1} definitions, metrics ${promClient ? 'on' : 'off'}, usage counting ${usage ? 'on' : 'off'} (${CALLS} calls, response object cost subtracted)`,
  );

  // requireToken() on a host route: the same check up to next(), without the definition and the action.
  const guard = udapi.requireToken();
  let passed = 0;
  const next = (error) => {
    if (error) throw error;
    passed += 1;
  };
  const admitted = { ...request, url: '/host/ping', path: '/host/ping', baseUrl: '', query: {} };
  guard(admitted, response(), next);
  if (passed !== 1 || admitted.udapi?.token?.id !== token.id) throw new Error('requireToken() did not admit the token');
  // One request object for every call, as the endpoint's timing uses (req.udapi is set again each time).
  const hostFull = await time(
    () => {
      const before = passed;
      guard(admitted, response(), next);
      return passed === before + 1;
    },
    (admittedNow) => admittedNow,
  );
  const hostBaseline = await time(() => next(undefined, admitted, response()), always);
  console.log(
    `requireToken() pipeline: ${(hostFull - hostBaseline).toFixed(1)} µs per admitted call (${CALLS} calls, response object cost subtracted)`,
  );
} finally {
  await udapi.close();
  await connection.dropDatabase();
  await connection.close();
  await database?.stop();
}
