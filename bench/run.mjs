// npm run bench: measures the scenarios of docs/performance.md as ratios to bare Express in one run, prints a table, writes JSON.
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import bcrypt from 'bcrypt';
import mongoose from 'mongoose';
import { digestSecret } from '../dist/domain/secrets.js';
import { parseRoute } from '../dist/domain/route-grammar.js';
import { seededToken } from './seed-rows.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
const quick = process.env.BENCH_QUICK === '1';
const SIZES = { tokens: quick ? 10_000 : 100_000, definitions: quick ? 1_000 : 10_000 };
/**
 * Seconds per load run, and load runs per contender, interleaved; ratios are medians over rounds. Many short rounds,
 * not a few long ones: this machine's speed drifts by more than the differences measured (bare Express at 156 to
 * 235 µs of CPU per request within one run), and each ratio compares runs a few seconds apart.
 */
const DURATION = Number(process.env.BENCH_DURATION ?? 2);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? (quick ? 3 : 7));
/** BENCH_PROFILE_DIR: a CPU profile of each server for each load run, <phase>-<contender>-<round>.cpuprofile. */
const PROFILE_DIR = process.env.BENCH_PROFILE_DIR && path.resolve(process.env.BENCH_PROFILE_DIR);
if (PROFILE_DIR) {
  mkdirSync(PROFILE_DIR, { recursive: true });
  process.env.BENCH_PROFILE_DIR = PROFILE_DIR; // absolute, for the servers, which inherit it
}
/**
 * BENCH_TOGETHER=1: the two sides of each throughput ratio loaded at once (16 connections each), sharing the servers'
 * CPU, instead of one after the other (docs/performance.md, "Loaded together").
 */
const TOGETHER = process.env.BENCH_TOGETHER === '1';
/** Refusals per kind in the timing comparison. */
const TIMING_SAMPLES = Number(process.env.BENCH_TIMING_SAMPLES ?? (quick ? 300 : 1500));
/** Revocation trials per variant (without and with Redis change hints). */
const REVOCATION_TRIALS = Number(process.env.BENCH_REVOCATION_TRIALS ?? (quick ? 5 : 20));
/** A realistic input schema and a body that passes it (bench/typed vs bench/untyped). */
const ORDER_SCHEMA = {
  type: 'object',
  required: ['item', 'quantity', 'email'],
  additionalProperties: false,
  properties: {
    item: { type: 'string', minLength: 1, maxLength: 40, pattern: '^[a-z][a-z0-9-]*$' },
    quantity: { type: 'integer', minimum: 1, maximum: 100 },
    email: { type: 'string', format: 'email', maxLength: 254 },
    tags: { type: 'array', maxItems: 10, items: { type: 'string', maxLength: 20 } },
    gift: { type: 'boolean' },
    address: {
      type: 'object',
      required: ['street', 'zip'],
      properties: { street: { type: 'string', maxLength: 100 }, zip: { type: 'string', maxLength: 10 } },
    },
  },
};
const ORDER = {
  item: 'green-tea',
  quantity: 3,
  email: 'ada@example.com',
  tags: ['gift', 'tea'],
  gift: true,
  address: { street: 'Main Street 1', zip: '1000' },
};
const pepper = randomBytes(32).toString('base64');
const dbName = `udapi_bench_${randomBytes(3).toString('hex')}`;
/** The 1-token instance of the size row keeps its token apart from the seeded ones. */
const singleDbName = `${dbName}_single`;
const ADMIN = { 'x-bench-admin': '1', 'content-type': 'application/json' };
const started = Date.now();
const log = (line) => process.stderr.write(`[bench ${((Date.now() - started) / 1000).toFixed(0)}s] ${line}\n`);

let database;
let uri = process.env.MONGODB_URI;
if (!uri) {
  const { startTestDb } = require('../scripts/testdb.cjs');
  database = await startTestDb({ log });
  uri = database.uri;
}
const servers = [];

/**
 * The CPUs this process may use (Linux: /proc/self/status), e.g. [0, 1]; null where that cannot be read or
 * `taskset` is missing. With two or more, the servers run on the first and the load generators and the database on
 * the second (BENCH_PIN=0: wherever the scheduler puts them). Unpinned, the scheduler sometimes ran a server and
 * autocannon on one core: the same server took 135 to 255 µs of CPU per request from one 2 s round to the next.
 */
function allowedCpus() {
  if (process.env.BENCH_PIN === '0') return null;
  try {
    execFileSync('taskset', ['-V'], { stdio: 'ignore' });
    const list = /^Cpus_allowed_list:\s*(\S+)/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? '';
    const cpus = list.split(',').flatMap((part) => {
      const [from, to = from] = part.split('-').map(Number);
      return Array.from({ length: to - from + 1 }, (_, i) => from + i);
    });
    return cpus.length >= 2 && cpus.every(Number.isInteger) ? cpus : null;
  } catch {
    return null;
  }
}
const cpus = allowedCpus();
const SERVER_CPU = cpus?.[0];
const HELPER_CPU = cpus?.[1];
/** The command and arguments that run a Node script on one CPU (or anywhere, unpinned). */
function nodeOn(cpu, args) {
  return cpu === undefined ? [process.execPath, args] : ['taskset', ['-c', String(cpu), process.execPath, ...args]];
}
if (database && HELPER_CPU !== undefined)
  execFileSync('taskset', ['-a', '-cp', String(HELPER_CPU), String(database.pid)], { stdio: 'ignore' });

/**
 * V8 options for every server (BENCH_NODE_FLAGS, space-separated; none by default): to see what a GC setting does to
 * every row at once, e.g. --no-allocation-site-pretenuring (docs/performance.md, "GC regimes").
 */
const SERVER_FLAGS = (process.env.BENCH_NODE_FLAGS ?? '').split(' ').filter(Boolean);

function startServer(mode, extraEnv = {}) {
  // --expose-gc lets /__bench/stats collect garbage first, so that heap figures are live objects only.
  const child = spawn(...nodeOn(SERVER_CPU, ['--expose-gc', ...SERVER_FLAGS, path.join(here, 'server.mjs')]), {
    env: { ...process.env, BENCH_MODE: mode, MONGODB_URI: uri, BENCH_DB: dbName, BENCH_PEPPER: pepper, ...extraEnv },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let exited = false;
  child.once('exit', () => (exited = true));
  return new Promise((resolve, reject) => {
    let output = '';
    child.stdout.on('data', (chunk) => {
      output += chunk;
      const match = /READY (\d+)/.exec(output);
      if (match) {
        const server = {
          url: `http://127.0.0.1:${match[1]}`,
          stop: () =>
            new Promise((done) => {
              if (exited) return done();
              child.once('exit', done);
              child.kill('SIGTERM');
            }),
        };
        servers.push(server);
        resolve(server);
      }
    });
    child.once('exit', (code) => reject(new Error(`${mode} server exited with ${code}`)));
  });
}

/** CPU seconds used so far by a process, from /proc (Linux); null elsewhere. */
function processCpuSeconds(pid) {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime + stime, in clock ticks of 1/100 s
  } catch {
    return null;
  }
}

/** What a server has used so far: its CPU time and its collector's pauses and major collections. */
const cpuOf = async (server) => (await http('GET', `${server.url}/__bench/cpu`)).body;

/**
 * One load run of one contender, or of two at once, each with its own server's CPU time per request and the
 * database's CPU use during the run. Two servers loaded together (half the connections each) share the servers' CPU
 * for the same seconds, so the machine's drift hits both alike: on this machine the ratio of two identical bare
 * Express processes spread with a standard deviation of 0.13 between runs one after the other and of 0.02 between
 * runs together (ten rounds of 2 s each). Two routes of one process are never loaded together: its one event loop
 * would serve both streams alike, whatever each costs.
 */
async function measure(contenders, phase, round) {
  if (new Set(contenders.map(({ server }) => server)).size !== contenders.length)
    throw new Error(`${phase} round ${round}: two contenders of one server process cannot be loaded together`);
  if (PROFILE_DIR) for (const { server } of contenders) await http('POST', `${server.url}/__bench/profile/start`);
  const before = await Promise.all(contenders.map(({ server }) => cpuOf(server)));
  const dbBefore = database ? processCpuSeconds(database.pid) : null;
  const connections = 32 / contenders.length;
  const runs = await load(contenders.map(({ config }) => ({ connections, ...config })));
  if (PROFILE_DIR)
    for (const { server, name } of contenders)
      await http('POST', `${server.url}/__bench/profile/stop`, { name: `${phase}-${name}-${round}` });
  const after = await Promise.all(contenders.map(({ server }) => cpuOf(server)));
  const dbAfter = database ? processCpuSeconds(database.pid) : null;
  return runs.map((run, i) => {
    const micros = after[i].userMicros + after[i].systemMicros - before[i].userMicros - before[i].systemMicros;
    run.serverCpuMicrosPerRequest = +(micros / run.total).toFixed(1);
    run.gcPauseMicrosPerRequest = +((after[i].gcPauseMicros - before[i].gcPauseMicros) / run.total).toFixed(1);
    run.majorGcs = after[i].majorGcs - before[i].majorGcs;
    if (dbBefore !== null && dbAfter !== null)
      run.databaseCpuShare = +((dbAfter - dbBefore) / (contenders[i].config.duration ?? DURATION)).toFixed(2);
    run.alongside = contenders.length > 1 ? contenders.find((_, j) => j !== i).name : null;
    return run;
  });
}

/** The load generator: one process on its CPU for the whole bench, serving one run at a time (bench/load.mjs). */
let loader = null;

function startLoader() {
  const child = spawn(...nodeOn(HELPER_CPU, [path.join(here, 'load.mjs')]), { stdio: ['pipe', 'pipe', 'inherit'] });
  const waiting = [];
  createInterface({ input: child.stdout }).on('line', (line) => waiting.shift()?.resolve(JSON.parse(line)));
  child.once('exit', (code) => {
    for (const run of waiting.splice(0)) run.reject(new Error(`load generator exited with ${code}`));
  });
  return {
    run: (config) =>
      new Promise((resolve, reject) => {
        waiting.push({ resolve, reject });
        child.stdin.write(`${JSON.stringify(config)}\n`);
      }),
    stop: () =>
      new Promise((done) => {
        if (child.exitCode !== null || child.signalCode !== null) return done();
        child.once('exit', done);
        child.stdin.end();
      }),
  };
}

/** One run (a config), or runs at once (an array of configs: an array of results). */
function load(config) {
  loader ??= startLoader();
  const withDuration = (one) => ({ duration: DURATION, ...one });
  return loader.run(Array.isArray(config) ? config.map(withDuration) : withDuration(config));
}

/** Load generators still running, stopped in the end whatever ends the bench (a phase that throws included). */
const backgrounds = [];

/** A load generator left running (revocation under load) until stop() kills it; its figures are not used. */
function backgroundLoad(config) {
  const child = spawn(
    ...nodeOn(HELPER_CPU, [path.join(here, 'load.mjs'), JSON.stringify({ duration: 1200, connections: 4, ...config })]),
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
  const background = {
    stop: () =>
      new Promise((done) => {
        if (child.exitCode !== null || child.signalCode !== null) return done();
        child.once('exit', done);
        child.kill('SIGTERM');
      }),
  };
  backgrounds.push(background);
  return background;
}

async function http(method, url, body, headers = ADMIN) {
  const t0 = performance.now();
  const res = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null, ms: performance.now() - t0 };
}

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
};

async function createTimes(server, count) {
  const times = [];
  for (let i = 0; i < count; i += 1) {
    const res = await http('POST', `${server.url}/admin/udapi/tokens`, { name: `create-bench-${i}` });
    if (res.status !== 201) throw new Error(`token create failed: ${res.status}`);
    times.push(res.ms);
  }
  return median(times);
}

/** Seeds the tokens, then the definitions; `between` runs when only the tokens are there. */
async function seed(connection, allowedTokenId, between) {
  const tokens = connection.collection('udapiApiTokens');
  const definitions = connection.collection('udapiApiDefinitions');
  // Seeding bypasses the admin API (100,000 bcrypt hashes alone would take over an hour): every seeded token
  // gets a real digest of its own random secret, and all share one precomputed bcrypt hash.
  const sharedHash = await bcrypt.hash(randomBytes(32).toString('base64'), 10);
  const peppers = Buffer.from(pepper);
  const base = Date.now() - SIZES.tokens * 1000;
  const tokenIds = [];
  for (let offset = 0; offset < SIZES.tokens; offset += 5000) {
    const batch = [];
    for (let i = offset; i < Math.min(offset + 5000, SIZES.tokens); i += 1) {
      const id = randomUUID();
      tokenIds.push(id);
      const at = new Date(base + i * 1000);
      const secretDigest = digestSecret(peppers, randomBytes(32).toString('base64'));
      batch.push(seededToken(i, { id, at, secretDigest, secretHash: sharedHash }));
    }
    await tokens.insertMany(batch, { ordered: false });
    log(`seeded ${Math.min(offset + 5000, SIZES.tokens)} tokens`);
  }
  await between();
  const now = new Date();
  const docs = [];
  for (let i = 0; i < SIZES.definitions; i += 1) {
    const route = i % 2 === 0 ? `bench/s${i}/leaf` : `bench/d${i}/{id}/x`;
    docs.push({
      _id: randomUUID(),
      route,
      routeKey: parseRoute(route, '/api/custom').key,
      routeLower: route.toLowerCase(),
      securitySettings: { allowedTokens: [tokenIds[i % tokenIds.length], allowedTokenId] },
      actionType: 'handler',
      actionMeta: { name: 'bench.ping', inputType: 'rawBody' },
      createdBy: 'seed',
      createdAt: now,
      lastModifiedBy: 'seed',
      lastModified: now,
    });
  }
  for (let offset = 0; offset < docs.length; offset += 5000)
    await definitions.insertMany(docs.slice(offset, offset + 5000), { ordered: false });
  log(`seeded ${SIZES.definitions} definitions`);
}

async function revocationTimes(a, b, trials) {
  const token = await http('POST', `${a.url}/admin/udapi/tokens`, { name: 'revocation' });
  const route = `bench/revocation-${randomUUID().slice(0, 8)}`;
  await http('POST', `${a.url}/admin/udapi/definitions`, {
    route,
    actionMeta: { name: 'bench.ping' },
    securitySettings: { allowedTokens: [token.body.id] },
  });
  const call = async () =>
    (await fetch(`${b.url}/api/custom/${route}`, { headers: { authorization: `Bearer ${token.body.secret}` } })).status;
  const until = async (status, t0 = performance.now()) => {
    const seen = new Map();
    for (let answer = await call(); answer !== status; answer = await call()) {
      seen.set(answer, (seen.get(answer) ?? 0) + 1);
      if (performance.now() - t0 > 10_000)
        throw new Error(
          `instance B never answered ${status} within 10 s (answers seen: ${JSON.stringify(Object.fromEntries(seen))})`,
        );
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    return performance.now() - t0;
  };
  await until(200);
  const fromSent = [];
  const fromAck = [];
  const writes = [];
  for (let i = 0; i < trials; i += 1) {
    // From the moment the disable is sent (the write's own latency counts too), and from its acknowledgement.
    const sent = performance.now();
    const disabled = await http('PATCH', `${a.url}/admin/udapi/tokens/${token.body.id}`, { isDisabled: true });
    if (disabled.status !== 200) throw new Error(`disable failed: ${disabled.status}`);
    const acknowledged = performance.now();
    writes.push(acknowledged - sent);
    await until(401, acknowledged);
    fromAck.push(performance.now() - acknowledged);
    fromSent.push(performance.now() - sent);
    await http('PATCH', `${a.url}/admin/udapi/tokens/${token.body.id}`, { isDisabled: false });
    await until(200);
  }
  return { fromSent, fromAck, writes };
}

/** The p-th percentile (nearest rank) of a sample. */
const percentile = (values, p) =>
  [...values].sort((x, y) => x - y)[Math.max(0, Math.ceil((p / 100) * values.length) - 1)];

/** Whether a Redis answers at REDIS_URL (the change-hint row needs one; without, it is reported as not run). */
async function redisUrl() {
  const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  const { default: Redis } = await import('ioredis');
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, connectTimeout: 1000 });
  try {
    await client.connect();
    await client.ping();
    return url;
  } catch {
    return null;
  } finally {
    client.disconnect();
  }
}

/**
 * Mann-Whitney U test of two samples, as a z score (normal approximation, no tie correction: latencies in
 * fractional milliseconds rarely tie). |z| < 3.29 means no difference at the 0.1 % level.
 */
function mannWhitneyZ(a, b) {
  const all = [...a.map((value) => ({ value, fromA: true })), ...b.map((value) => ({ value, fromA: false }))].sort(
    (x, y) => x.value - y.value,
  );
  let rankSumA = 0;
  all.forEach((entry, index) => {
    if (entry.fromA) rankSumA += index + 1;
  });
  const u = rankSumA - (a.length * (a.length + 1)) / 2;
  const mean = (a.length * b.length) / 2;
  const sd = Math.sqrt((a.length * b.length * (a.length + b.length + 1)) / 12);
  return (u - mean) / sd;
}

/**
 * Whether refusals tell unknown, disabled and not-allowed tokens apart by response time: the three kinds are sent
 * in random order, one at a time, and their latencies compared pairwise.
 */
async function refusalTiming(server, url, allowedTokenId, samples) {
  const disabled = await http('POST', `${server.url}/admin/udapi/tokens`, {
    name: 'timing-disabled',
    isDisabled: true,
  });
  const notAllowed = await http('POST', `${server.url}/admin/udapi/tokens`, { name: 'timing-not-allowed' });
  if (disabled.status !== 201 || notAllowed.status !== 201 || !allowedTokenId)
    throw new Error('timing tokens were not created');
  // Every secret is made before the measurement, so the client does the same work for each kind.
  const unknownSecrets = Array.from({ length: samples }, () => randomBytes(32).toString('base64'));
  const kinds = {
    unknown: () => unknownSecrets.pop(),
    disabled: () => disabled.body.secret,
    notAllowed: () => notAllowed.body.secret,
  };
  const latencies = { unknown: [], disabled: [], notAllowed: [] };
  const order = Object.keys(kinds).flatMap((kind) => Array.from({ length: samples }, () => kind));
  for (let i = order.length - 1; i > 0; i -= 1) {
    const j = Math.floor(Math.random() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  for (const kind of order) {
    const headers = { authorization: `Bearer ${kinds[kind]()}` }; // made before the clock starts
    const t0 = performance.now();
    const res = await fetch(url, { headers });
    await res.arrayBuffer();
    const ms = performance.now() - t0;
    if (res.status !== 401) throw new Error(`a ${kind} secret got ${res.status}, not 401`);
    latencies[kind].push(ms);
  }
  const pairs = [
    ['unknown', 'disabled'],
    ['unknown', 'notAllowed'],
    ['disabled', 'notAllowed'],
  ];
  const z = Object.fromEntries(
    pairs.map(([a, b]) => [`${a}~${b}`, +mannWhitneyZ(latencies[a], latencies[b]).toFixed(2)]),
  );
  const medians = Object.fromEntries(
    Object.entries(latencies).map(([kind, values]) => [kind, +median(values).toFixed(3)]),
  );
  return { samples, medians, z, maxAbsZ: Math.max(...Object.values(z).map(Math.abs)) };
}

/**
 * Runs each unit (one contender, or two loaded together) once per round, in turn, so that drift on a shared machine
 * hits all of them alike; every other round in the reverse order, so that neither a steady drift within a round nor
 * running right after another unit in the same process (its garbage, its JIT state) favours the unit that comes
 * first. A contender is its server and load, or a function of the round that gives them: a pair of processes that
 * swap roles every other round, so that neither's own luck (a cheaper collector behaviour for its whole life, see
 * docs/performance.md) favours one side of the ratio.
 */
async function rounds(phase, contenders, units) {
  const runs = Object.fromEntries(Object.keys(contenders).map((name) => [name, []]));
  for (let round = 0; round < ROUNDS; round += 1) {
    for (const unit of round % 2 === 0 ? units : [...units].reverse()) {
      const loaded = unit.map((name) => {
        const contender = contenders[name];
        return { name, ...(typeof contender === 'function' ? contender(round) : contender) };
      });
      const measured = await measure(loaded, phase, round + 1);
      unit.forEach((name, i) => runs[name].push(measured[i]));
    }
  }
  return runs;
}

/** The median over rounds of a per-round figure. */
const perRound = (count, figure) => median(Array.from({ length: count }, (_, round) => figure(round)));

try {
  const results = {
    machine: `${os.cpus().length} × ${os.cpus()[0].model}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}`,
    database: database ? 'FerretDB v1.24.2 (SQLite), embedded' : 'MONGODB_URI',
    sizes: SIZES,
    durationSeconds: DURATION,
    rounds: ROUNDS,
    pinning: SERVER_CPU === undefined ? null : { servers: SERVER_CPU, loadAndDatabase: HELPER_CPU },
    serverFlags: SERVER_FLAGS,
    together: TOGETHER,
  };
  const bare = await startServer('bare');
  const pingUrl = (server) => `${server.url}/api/custom/bench/ping`;
  // Bare Express gets the same request bytes (it ignores the header) so that only the server side differs.
  const sameHeader = { authorization: `Bearer ${randomBytes(32).toString('base64')}` };

  const small = await startServer('udapi');
  const token = await http('POST', `${small.url}/admin/udapi/tokens`, { name: 'bench' });
  await http('POST', `${small.url}/admin/udapi/definitions`, {
    route: 'bench/ping',
    actionMeta: { name: 'bench.ping' },
    securitySettings: { allowedTokens: [token.body.id] },
  });
  const auth = { authorization: `Bearer ${token.body.secret}` };
  // The same order posted to an API that describes its input and to one that does not: the cost of the check.
  for (const [route, input] of [
    ['bench/untyped', undefined],
    ['bench/typed', { body: ORDER_SCHEMA }],
  ])
    await http('POST', `${small.url}/admin/udapi/definitions`, {
      route,
      actionMeta: { name: 'bench.ping' },
      securitySettings: { allowedTokens: [token.body.id] },
      ...(input && { input }),
    });
  const posted = (route, server = small) => ({
    url: `${server.url}/api/custom/${route}`,
    method: 'POST',
    headers: { ...auth, 'content-type': 'application/json' },
    body: JSON.stringify(ORDER),
  });
  await load({ url: pingUrl(bare), headers: sameHeader, duration: 2 }); // warm-up
  await load({ url: pingUrl(small), headers: auth, duration: 2 });
  await load({ url: `${small.url}/host/ping`, headers: auth, duration: 2 });
  await load({ url: `${small.url}/host/bare`, headers: auth, duration: 2 });
  await load({ ...posted('bench/typed'), duration: 2 });
  // The same database, the same token and API, without usage counting.
  const uncounted = await startServer('udapi', { BENCH_USAGE: 'off', INSTANCE_ID: 'bench-uncounted' });
  const uncounted2 = await startServer('udapi', { BENCH_USAGE: 'off', INSTANCE_ID: 'bench-uncounted-2' });
  for (const server of [uncounted, uncounted2]) await load({ url: pingUrl(server), headers: auth, duration: 2 });
  log(`authorized call, requireToken() and input schema with 1 token vs bare Express, ${ROUNDS} rounds`);
  const hostRoute = (route) => (server) => ({ url: `${server.url}/${route}`, headers: auth });
  const typedRoute = (route) => (server) => posted(route, server);
  // A second instance like `small` (the same database, token and APIs) and a second bare Express: each side of a
  // ratio is served by one process of a pair in even rounds and by the other in odd ones. Two identical processes
  // loaded together kept a steady difference of 2 to 5 % in CPU per request for their whole life, one way in one
  // run and the other way in the next (docs/performance.md, "Process to process"): a ratio of two single processes
  // carries both processes' luck, a ratio of two pairs less of it.
  const twin = await startServer('udapi', { INSTANCE_ID: 'bench-twin' });
  const bare2 = await startServer('bare');
  await load({ url: pingUrl(twin), headers: auth });
  await load({ url: pingUrl(bare2), headers: sameHeader });
  for (const route of [
    hostRoute('host/ping'),
    hostRoute('host/bare'),
    typedRoute('bench/untyped'),
    typedRoute('bench/typed'),
  ])
    await load(route(twin));
  await load(posted('bench/untyped'));
  /**
   * A contender served by `first` of a pair of processes in even rounds and by the other in odd ones. The two
   * routes of a same-process ratio start with the same process, so that each round compares them in one process;
   * loaded together (BENCH_TOGETHER), they start with different ones, since one process cannot be loaded twice.
   */
  const alternating =
    ([one, other], first, route) =>
    (round) => {
      const server = (round % 2 === 0) === (first === one) ? one : other;
      return { server, config: route(server) };
    };
  const onSmalls = (route, first = small) => alternating([small, twin], first, route);
  const pingRoute = (server) => ({ url: pingUrl(server), headers: auth });
  const authorized = onSmalls(pingRoute);
  const smallRuns = await rounds(
    'small',
    {
      bare: alternating([bare, bare2], bare, (server) => ({ url: pingUrl(server), headers: sameHeader })),
      authorized,
      host: onSmalls(hostRoute('host/ping')),
      hostBare: onSmalls(hostRoute('host/bare'), TOGETHER ? twin : small),
      untyped: onSmalls(typedRoute('bench/untyped'), TOGETHER ? twin : small),
      typed: onSmalls(typedRoute('bench/typed')),
      uncounted: alternating([uncounted, uncounted2], uncounted, pingRoute),
      // The counted side of the usage ratio: the authorized call again, loaded with the uncounted instance.
      ...(TOGETHER && { counted: authorized }),
    },
    TOGETHER
      ? [
          ['bare', 'authorized'],
          ['host', 'hostBare'],
          ['typed', 'untyped'],
          ['counted', 'uncounted'],
        ]
      : [['bare'], ['authorized'], ['host'], ['hostBare'], ['untyped'], ['typed'], ['uncounted']],
  );
  await twin.stop();
  await Promise.all([uncounted, uncounted2].map((server) => server.stop()));
  for (const run of [...smallRuns.untyped, ...smallRuns.typed])
    if (run.statuses['2xx'] !== run.total)
      throw new Error(`posted orders were refused: ${JSON.stringify(run.statuses)}`);
  const memorySmall = (await http('GET', `${small.url}/__bench/stats`)).body.memory;
  log('token create time at 1 token');
  const createSmall = await createTimes(small, 20);
  await small.stop();

  const connection = await mongoose.createConnection(uri, { dbName }).asPromise();
  let tokensOnly;
  let big;
  // With a Redis, every large instance listens for change hints; `big`, the writer in the revocation trials, sends
  // none until the hinted trials, so the first trials are the timer's alone and no third large instance is needed.
  const hintsUrl = await redisUrl();
  const hintEnv = hintsUrl ? { BENCH_CHANGE_HINTS: hintsUrl } : {};
  await seed(connection, token.body.id, async () => {
    log('heap with the tokens only');
    big = await startServer('udapi', { ...hintEnv, BENCH_HINTS_MUTED: '1' });
    tokensOnly = (await http('GET', `${big.url}/__bench/stats`)).body;
  });
  // Every load at this size takes tens of seconds on the embedded FerretDB, so the instance that loaded the tokens
  // alone reads the definitions in the one full reload measured, and ready() at this size is the next instance's.
  log('full reload at the large size');
  const reloads = [(await http('POST', `${big.url}/__bench/reload`)).body.ms];
  const bigStats = (await http('GET', `${big.url}/__bench/stats`)).body;
  if (bigStats.definitions !== SIZES.definitions + 3)
    throw new Error(`the full reload read ${bigStats.definitions} definitions, not ${SIZES.definitions + 3}`);
  // The second large instance: started on the full database (ready() at this size is its), it serves the large
  // side of the size row and the flood in odd rounds (see where `twin` starts), then reads in the revocation trials.
  log('ready() at the large size');
  const second = await startServer('udapi', { ...hintEnv, INSTANCE_ID: 'bench-2' });
  const { readyMs } = (await http('GET', `${second.url}/__bench/stats`)).body;
  log(
    `authorized call and unknown-secret flood with ${bigStats.tokens} tokens and ${bigStats.definitions} definitions vs a 1-token instance and bare Express, ${ROUNDS} rounds`,
  );
  // The 1-token case of the size row, in the same rounds as the large instances (a database of its own): dividing
  // the large phase's ratio to bare Express by the small phase's carried the drift of both phases, which on this
  // machine moved single rounds' ratios from 0.6 to 1.8; a per-round ratio of the two carries a round's only.
  const single = await startServer('udapi', { BENCH_DB: singleDbName, INSTANCE_ID: 'bench-single' });
  const singleToken = await http('POST', `${single.url}/admin/udapi/tokens`, { name: 'bench' });
  const singleApi = await http('POST', `${single.url}/admin/udapi/definitions`, {
    route: 'bench/ping',
    actionMeta: { name: 'bench.ping' },
    securitySettings: { allowedTokens: [singleToken.body.id] },
  });
  if (singleToken.status !== 201 || singleApi.status !== 201)
    throw new Error(`the 1-token instance was not set up: ${singleToken.status}, ${singleApi.status}`);
  const singleAuth = { authorization: `Bearer ${singleToken.body.secret}` };
  const single2 = await startServer('udapi', { BENCH_DB: singleDbName, INSTANCE_ID: 'bench-single-2' });
  const bcryptCompares = async () =>
    (await Promise.all([big, second].map((server) => http('GET', `${server.url}/__bench/stats`)))).reduce(
      (sum, res) => sum + res.body.bcrypt.compares,
      0,
    );
  const largeContenders = {
    authorized: alternating([big, second], big, (server) => ({ url: pingUrl(server), headers: auth })),
    single: alternating([single, single2], single, (server) => ({ url: pingUrl(server), headers: singleAuth })),
    flood: alternating([big, second], big, (server) => ({ url: pingUrl(server), randomSecrets: true })),
    // Bare Express under the flood's own request stream: a new random secret per request costs autocannon more than
    // a fixed header, and on two cores the flood was partly the load generator's limit (a CPU profile of the plugin
    // under it showed 47 µs of idle time per request against 28 under the fixed header).
    bareFlood: alternating([bare, bare2], bare, (server) => ({ url: pingUrl(server), randomSecrets: true })),
  };
  // Each process of the large rounds warmed up with each stream it serves, right before them: the large instance,
  // warmed up before `second` started and then idle for the half minute of its ready(), took 36 to 126 % more CPU per
  // request in the first round than in the others (five runs of 2026-12-04 evening), as if it had gone cold.
  for (const round of [0, 1])
    for (const contender of Object.values(largeContenders)) await load({ ...contender(round).config, duration: 1 });
  const bcryptBefore = await bcryptCompares();
  // No bare Express run of its own here: the size row compares the two instances, the flood bare Express under the
  // flood's stream (bareFlood); one more contender only lengthened every round (about 20 s a bench).
  const bigRuns = await rounds(
    'large',
    largeContenders,
    TOGETHER
      ? [
          ['authorized', 'single'],
          ['flood', 'bareFlood'],
        ]
      : [['authorized'], ['single'], ['flood'], ['bareFlood']],
  );
  const bcryptAfter = await bcryptCompares();
  await Promise.all([single, single2].map((server) => server.stop()));
  log('token create time at the large size');
  const createBig = await createTimes(big, 20);
  log('admin list page');
  const listTimes = [];
  for (let i = 0; i < 20; i += 1) {
    const res = await http('GET', `${big.url}/admin/udapi/tokens?isDisabled=true&limit=100`);
    if (res.status !== 200 || res.body.items.length !== 100) throw new Error(`list failed: ${res.status}`);
    listTimes.push(res.ms);
  }
  // Before the revocation phases, which load the machine for minutes.
  log('refusal timing: unknown, disabled and not-allowed secrets');
  const timing = await refusalTiming(big, pingUrl(big), token.body.id, TIMING_SAMPLES);
  log(`revocation across two instances, ${REVOCATION_TRIALS} trials, the other instance under load`);
  const background = backgroundLoad({ url: pingUrl(second), headers: auth });
  const revocation = await revocationTimes(big, second, REVOCATION_TRIALS);
  let hinted = null;
  if (hintsUrl) {
    log(`revocation with Redis change hints, ${REVOCATION_TRIALS} trials, the other instance under load`);
    await http('POST', `${big.url}/__bench/hints`);
    hinted = await revocationTimes(big, second, REVOCATION_TRIALS);
  }
  log('revocation trials done; stopping the reading instance');
  await background.stop();
  await second.stop();

  // Each ratio is taken within a round (the contenders ran back to back), then the median over rounds.
  const ratio = (runs, name, base = 'bare') =>
    perRound(ROUNDS, (round) => runs[name][round].rps / runs[base][round].rps);
  const authorizedRatio = ratio(smallRuns, 'authorized');
  // The same route with and without the middleware, in the same process: what requireToken() itself costs.
  const hostRatio = ratio(smallRuns, 'host', 'hostBare');
  const hostVsBareExpress = ratio(smallRuns, 'host');
  const inputRatio = ratio(smallRuns, 'typed', 'untyped');
  const counted = TOGETHER ? 'counted' : 'authorized';
  const usageRatio = ratio(smallRuns, counted, 'uncounted');
  const addedP99 = perRound(ROUNDS, (round) => smallRuns.authorized[round].p99 - smallRuns.bare[round].p99);
  // The large instance against the 1-token instance of the same round (see where `single` starts).
  const largeRatio = ratio(bigRuns, 'authorized', 'single');
  const floodRatio = ratio(bigRuns, 'flood', 'bareFlood');
  const rps = (runs) => Math.round(median(runs.map((run) => run.rps)));
  const cpu = (runs) => median(runs.map((run) => run.serverCpuMicrosPerRequest));
  const gc = (runs) => median(runs.map((run) => run.gcPauseMicrosPerRequest));
  const majors = (runs) => median(runs.map((run) => run.majorGcs));
  const floodRefusals = bigRuns.flood.reduce((sum, run) => sum + run.statuses['4xx'], 0);
  results.runs = { small: smallRuns, large: bigRuns };
  results.refusalTiming = timing;
  results.scenarios = [
    {
      scenario: 'Authorized call vs bare Express (throughput)',
      measured: `${rps(smallRuns.authorized)} vs ${rps(smallRuns.bare)} req/s; server CPU ${cpu(smallRuns.authorized)} vs ${cpu(smallRuns.bare)} µs/req, of which GC pauses ${gc(smallRuns.authorized)} vs ${gc(smallRuns.bare)}`,
      ratio: authorizedRatio,
      target: '≥ 0.95',
      pass: authorizedRatio >= 0.95,
    },
    {
      scenario: 'Authorized call with usage counting vs without (throughput)',
      measured: `${rps(smallRuns[counted])} vs ${rps(smallRuns.uncounted)} req/s; server CPU ${cpu(smallRuns[counted])} vs ${cpu(smallRuns.uncounted)} µs/req`,
      ratio: usageRatio,
      target: '≥ 0.97',
      pass: usageRatio >= 0.97,
    },
    {
      scenario: 'Authorized POST with a 6-field input schema vs the same API without one (throughput)',
      measured: `${rps(smallRuns.typed)} vs ${rps(smallRuns.untyped)} req/s; server CPU ${cpu(smallRuns.typed)} vs ${cpu(smallRuns.untyped)} µs/req`,
      ratio: inputRatio,
      target: '≥ 0.90',
      pass: inputRatio >= 0.9,
    },
    {
      scenario: 'requireToken() on a host route vs the same route without it (throughput)',
      measured: `${rps(smallRuns.host)} vs ${rps(smallRuns.hostBare)} req/s; server CPU ${cpu(smallRuns.host)} vs ${cpu(smallRuns.hostBare)} µs/req; vs bare Express (${rps(smallRuns.bare)} req/s, another process) ${hostVsBareExpress.toFixed(2)}`,
      ratio: hostRatio,
      target: '≥ 0.90',
      pass: hostRatio >= 0.9,
    },
    {
      scenario: 'Authorized call: added p99 latency',
      measured: `${median(smallRuns.authorized.map((run) => run.p99))} vs ${median(smallRuns.bare.map((run) => run.p99))} ms`,
      ratio: null,
      value: addedP99,
      target: '≤ 1 ms',
      pass: addedP99 <= 1,
    },
    {
      scenario: `${bigStats.tokens} tokens, ${bigStats.definitions} definitions vs 1 token`,
      measured: `${rps(bigRuns.authorized)} vs ${rps(bigRuns.single)} req/s, in the same rounds; server CPU ${cpu(bigRuns.authorized)} vs ${cpu(bigRuns.single)} µs/req, of which GC pauses ${gc(bigRuns.authorized)} vs ${gc(bigRuns.single)}; major collections per run ${majors(bigRuns.authorized)} vs ${majors(bigRuns.single)}`,
      ratio: largeRatio,
      target: '≥ 0.95',
      pass: largeRatio >= 0.95,
    },
    {
      scenario: 'Flood of unknown secrets vs bare Express',
      measured: `${rps(bigRuns.flood)} vs ${rps(bigRuns.bareFlood)} req/s (${floodRefusals} × 401), ${bcryptAfter - bcryptBefore} bcrypt calls; server CPU ${cpu(bigRuns.flood)} vs ${cpu(bigRuns.bareFlood)} µs/req, of which GC pauses ${gc(bigRuns.flood)} vs ${gc(bigRuns.bareFlood)}`,
      ratio: floodRatio,
      target: '≥ 0.95, 0 bcrypt',
      pass: floodRatio >= 0.95 && bcryptAfter === bcryptBefore,
    },
    {
      scenario: `ready() and a full reload, ${bigStats.tokens} tokens and ${bigStats.definitions} definitions`,
      measured: `ready() ${Math.round(readyMs)} ms; full reload ${Math.round(median(reloads))} ms`,
      ratio: null,
      value: median(reloads),
      target: 'measured',
      pass: true,
    },
    {
      scenario: `Token create, median: ${bigStats.tokens} vs 1 token`,
      measured: `${createBig.toFixed(1)} vs ${createSmall.toFixed(1)} ms`,
      ratio: createBig / createSmall,
      target: '≤ 1.2',
      pass: createBig / createSmall <= 1.2,
    },
    {
      scenario: `Admin list, 100 of ${bigStats.tokens} tokens, filtered, median`,
      measured: `${median(listTimes).toFixed(1)} ms`,
      ratio: null,
      value: median(listTimes),
      target: '≤ 50 ms',
      pass: median(listTimes) <= 50,
    },
    {
      scenario: `Refusal timing: unknown vs disabled vs not-allowed token (${timing.samples} each, Mann-Whitney)`,
      measured: `medians ${timing.medians.unknown} / ${timing.medians.disabled} / ${timing.medians.notAllowed} ms; largest z in absolute value ${timing.maxAbsZ.toFixed(2)}`,
      ratio: null,
      value: timing.maxAbsZ,
      target: 'below 3.29 (no difference at p = 0.001)',
      pass: timing.maxAbsZ < 3.29,
    },
    {
      scenario: `Revocation enforced by another instance under load, from the disable's acknowledgement (worst of ${REVOCATION_TRIALS})`,
      measured: `${Math.max(...revocation.fromAck).toFixed(0)} ms (median ${median(revocation.fromAck).toFixed(0)}); from sending: worst ${Math.max(...revocation.fromSent).toFixed(0)}, median ${median(revocation.fromSent).toFixed(0)} ms, of which the disable's own write ${median(revocation.writes).toFixed(0)} ms`,
      ratio: null,
      value: Math.max(...revocation.fromAck),
      target: '≤ 1000 ms',
      pass: Math.max(...revocation.fromAck) <= 1000,
    },
    hinted
      ? {
          scenario: `Revocation with Redis change hints, from the acknowledgement (p99 of ${REVOCATION_TRIALS})`,
          measured: `${percentile(hinted.fromAck, 99).toFixed(0)} ms (median ${median(hinted.fromAck).toFixed(0)}); from sending: worst ${Math.max(...hinted.fromSent).toFixed(0)} ms`,
          ratio: null,
          value: percentile(hinted.fromAck, 99),
          target: '≤ 150 ms',
          pass: percentile(hinted.fromAck, 99) <= 150,
        }
      : {
          scenario: 'Revocation with Redis change hints',
          measured: 'not run: no Redis at REDIS_URL',
          ratio: null,
          value: null,
          target: '≤ 150 ms',
          pass: false,
        },
  ];
  const memoryBig = bigStats.memory;
  // The view's token columns are typed arrays, whose bytes live outside the JavaScript heap: both count.
  const live = (memory) => memory.heapUsed + memory.arrayBuffers;
  results.memory = {
    heapPerObjectBytes: Math.round((live(memoryBig) - live(memorySmall)) / (bigStats.tokens + bigStats.definitions)),
    heapPerTokenBytes: Math.round((live(tokensOnly.memory) - live(memorySmall)) / (tokensOnly.tokens - 1)),
    heapPerDefinitionBytes: Math.round(
      (live(memoryBig) - live(tokensOnly.memory)) / (bigStats.definitions - tokensOnly.definitions),
    ),
    heapUsedSmallMiB: +(live(memorySmall) / 2 ** 20).toFixed(1),
    heapUsedLargeMiB: +(live(memoryBig) / 2 ** 20).toFixed(1),
    rssLargeMiB: +(memoryBig.rss / 2 ** 20).toFixed(1),
  };
  results.seconds = Math.round((Date.now() - started) / 1000);

  const lines = ['| scenario | measured | ratio | target | met |', '|---|---|---|---|---|'];
  for (const row of results.scenarios)
    lines.push(
      `| ${row.scenario} | ${row.measured} | ${row.ratio === null ? '' : row.ratio.toFixed(2)} | ${row.target} | ${row.pass ? 'yes' : '**no**'} |`,
    );
  const table = lines.join('\n');
  const machine = `Machine: ${results.machine}. Database: ${results.database}. ${DURATION} s per load run, ${ROUNDS} interleaved rounds, every other one in reverse order (median of per-round ratios), ${TOGETHER ? 'the two sides of each ratio loaded together, 16 connections each' : '32 connections'}, each contender served by one of two processes alike in alternate rounds, autocannon in its own process${
    results.pinning
      ? `; servers on CPU ${results.pinning.servers}, autocannon and the database on CPU ${results.pinning.loadAndDatabase}`
      : ''
  }; servers run with ${results.serverFlags.length ? results.serverFlags.join(' ') : "V8's default options"}.`;
  const memoryLine = `In-memory view: ${results.memory.heapUsedLargeMiB} MiB of heap and array buffers with ${bigStats.tokens} tokens and ${bigStats.definitions} definitions (${results.memory.heapUsedSmallMiB} MiB with 1); about ${results.memory.heapPerTokenBytes} bytes per token and ${results.memory.heapPerDefinitionBytes} per definition. Total time ${results.seconds} s.`;
  console.log(`\n${machine}\n\n${table}\n\n${memoryLine}`);
  mkdirSync(path.join(here, '..', 'bench-results'), { recursive: true });
  writeFileSync(path.join(here, '..', 'bench-results', 'latest.json'), `${JSON.stringify(results, null, 2)}\n`);
  writeFileSync(path.join(here, '..', 'bench-results', 'latest.md'), `${machine}\n\n${table}\n\n${memoryLine}\n`);
  await connection.dropDatabase();
  await connection.useDb(singleDbName).dropDatabase();
  await connection.close();
} finally {
  await Promise.all(backgrounds.map((background) => background.stop()));
  await loader?.stop();
  await Promise.all(servers.map((server) => server.stop().catch(() => undefined)));
  await database?.stop();
}
