// npm run bench: measures the SPEC section 9 scenarios as ratios to bare Express in one run, prints a table, writes JSON.
import { spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import bcrypt from 'bcrypt';
import mongoose from 'mongoose';
import { digestSecret } from '../dist/security/secrets.js';
import { parseRoute } from '../dist/routing/route-grammar.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
const quick = process.env.BENCH_QUICK === '1';
const SIZES = { tokens: quick ? 10_000 : 100_000, definitions: quick ? 1_000 : 10_000 };
const DURATION = Number(process.env.BENCH_DURATION ?? (quick ? 3 : 8));
const pepper = randomBytes(32).toString('base64');
const dbName = `udapi_bench_${randomBytes(3).toString('hex')}`;
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

function startServer(mode, extraEnv = {}) {
  // --expose-gc lets /__bench/stats collect garbage first, so that heap figures are live objects only.
  const child = spawn(process.execPath, ['--expose-gc', path.join(here, 'server.mjs')], {
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
          stop: () => new Promise((done) => {
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

/** One load run, with the server's CPU time per request and the database's CPU use during the run. */
async function measure(server, config) {
  const cpuBefore = (await http('GET', `${server.url}/__bench/cpu`)).body;
  const dbBefore = database ? processCpuSeconds(database.pid) : null;
  const run = await load(config);
  const cpuAfter = (await http('GET', `${server.url}/__bench/cpu`)).body;
  const dbAfter = database ? processCpuSeconds(database.pid) : null;
  {
    const micros = cpuAfter.userMicros + cpuAfter.systemMicros - cpuBefore.userMicros - cpuBefore.systemMicros;
    run.serverCpuMicrosPerRequest = +(micros / run.total).toFixed(1);
  }
  if (dbBefore !== null && dbAfter !== null) run.databaseCpuShare = +((dbAfter - dbBefore) / (config.duration ?? DURATION)).toFixed(2);
  return run;
}

function load(config) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(here, 'load.mjs'), JSON.stringify({ duration: DURATION, ...config })], { stdio: ['ignore', 'pipe', 'inherit'] });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.once('exit', (code) => (code === 0 ? resolve(JSON.parse(output)) : reject(new Error(`load generator exited with ${code}`))));
  });
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

async function seed(connection, allowedTokenId) {
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
      batch.push({
        _id: id, name: `seed-${i}`, secretDigest: digestSecret(peppers, randomBytes(32).toString('base64')), secretHash: sharedHash,
        isDisabled: i % 10 === 0, rateLimit: null, createdBy: i % 7 === 0 ? 'carol' : 'seed', createdAt: at, lastModifiedBy: 'seed', lastModified: at, deletingSince: null,
      });
    }
    await tokens.insertMany(batch, { ordered: false });
    log(`seeded ${Math.min(offset + 5000, SIZES.tokens)} tokens`);
  }
  const now = new Date();
  const docs = [];
  for (let i = 0; i < SIZES.definitions; i += 1) {
    const route = i % 2 === 0 ? `bench/s${i}/leaf` : `bench/d${i}/{id}/x`;
    docs.push({
      _id: randomUUID(), route, routeKey: parseRoute(route, '/api/custom').key, routeLower: route.toLowerCase(),
      securitySettings: { allowedTokens: [tokenIds[i % tokenIds.length], allowedTokenId] }, actionType: 'handler',
      actionMeta: { name: 'bench.ping', inputType: 'rawBody' }, createdBy: 'seed', createdAt: now, lastModifiedBy: 'seed', lastModified: now,
    });
  }
  for (let offset = 0; offset < docs.length; offset += 5000) await definitions.insertMany(docs.slice(offset, offset + 5000), { ordered: false });
  log(`seeded ${SIZES.definitions} definitions`);
}

async function revocationTimes(a, b, trials) {
  const token = await http('POST', `${a.url}/admin/udapi/tokens`, { name: 'revocation' });
  await http('POST', `${a.url}/admin/udapi/definitions`, { route: 'bench/revocation', actionMeta: { name: 'bench.ping' }, securitySettings: { allowedTokens: [token.body.id] } });
  const call = async () => (await fetch(`${b.url}/api/custom/bench/revocation`, { headers: { authorization: `Bearer ${token.body.secret}` } })).status;
  const until = async (status) => {
    const t0 = performance.now();
    while ((await call()) !== status) {
      if (performance.now() - t0 > 10_000) throw new Error(`instance B never answered ${status}`);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    return performance.now() - t0;
  };
  await until(200);
  const times = [];
  for (let i = 0; i < trials; i += 1) {
    await http('PATCH', `${a.url}/admin/udapi/tokens/${token.body.id}`, { isDisabled: true });
    times.push(await until(401));
    await http('PATCH', `${a.url}/admin/udapi/tokens/${token.body.id}`, { isDisabled: false });
    await until(200);
  }
  return times;
}

try {
  const results = { machine: `${os.cpus().length} × ${os.cpus()[0].model}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}`, database: database ? 'FerretDB v1.24.2 (SQLite), embedded' : 'MONGODB_URI', sizes: SIZES, durationSeconds: DURATION };
  const bare = await startServer('bare');
  const pingUrl = (server) => `${server.url}/api/custom/bench/ping`;
  // Bare Express gets the same request bytes (it ignores the header) so that only the server side differs.
  const sameHeader = { authorization: `Bearer ${randomBytes(32).toString('base64')}` };
  await load({ url: pingUrl(bare), headers: sameHeader, duration: 2 }); // warm-up
  log('bare Express');
  const bareRun = await measure(bare, { url: pingUrl(bare), headers: sameHeader });

  const small = await startServer('udapi');
  const token = await http('POST', `${small.url}/admin/udapi/tokens`, { name: 'bench' });
  await http('POST', `${small.url}/admin/udapi/definitions`, { route: 'bench/ping', actionMeta: { name: 'bench.ping' }, securitySettings: { allowedTokens: [token.body.id] } });
  const auth = { authorization: `Bearer ${token.body.secret}` };
  await load({ url: pingUrl(small), headers: auth, duration: 2 });
  log('authorized call, 1 token');
  const smallRun = await measure(small, { url: pingUrl(small), headers: auth });
  const memorySmall = (await http('GET', `${small.url}/__bench/stats`)).body.memory;
  log('token create time at 1 token');
  const createSmall = await createTimes(small, 20);
  await small.stop();

  const connection = await mongoose.createConnection(uri, { dbName }).asPromise();
  await seed(connection, token.body.id);
  const big = await startServer('udapi');
  const bigStats = (await http('GET', `${big.url}/__bench/stats`)).body;
  await load({ url: pingUrl(big), headers: auth, duration: 2 });
  log(`authorized call, ${bigStats.tokens} tokens and ${bigStats.definitions} definitions`);
  const bigRun = await measure(big, { url: pingUrl(big), headers: auth });
  log('flood of unknown secrets');
  const bcryptBefore = (await http('GET', `${big.url}/__bench/stats`)).body.bcrypt.compares;
  const floodRun = await measure(big, { url: pingUrl(big), randomSecrets: true });
  const bcryptAfter = (await http('GET', `${big.url}/__bench/stats`)).body.bcrypt.compares;
  log('token create time at the large size');
  const createBig = await createTimes(big, 20);
  log('admin list page');
  const listTimes = [];
  for (let i = 0; i < 20; i += 1) {
    const res = await http('GET', `${big.url}/admin/udapi/tokens?isDisabled=true&limit=100`);
    if (res.status !== 200 || res.body.items.length !== 100) throw new Error(`list failed: ${res.status}`);
    listTimes.push(res.ms);
  }
  log('revocation across two instances');
  const second = await startServer('udapi', { INSTANCE_ID: 'bench-2' });
  const revocations = await revocationTimes(big, second, 10);
  // Bare Express again, alone as in its first run: the plugin instances' timers (polls, full reloads of
  // 100,000 tokens) would otherwise load the database and the CPU during it.
  await big.stop();
  await second.stop();
  await load({ url: pingUrl(bare), headers: sameHeader, duration: 2 });
  const bareAgain = await measure(bare, { url: pingUrl(bare), headers: sameHeader });

  const bareRps = (bareRun.rps + bareAgain.rps) / 2;
  const bareCpu = (bareRun.serverCpuMicrosPerRequest + bareAgain.serverCpuMicrosPerRequest) / 2;
  const cpu = (run) => `; server CPU ${run.serverCpuMicrosPerRequest} µs/req`;
  const bareP99 = Math.max(bareRun.p99, bareAgain.p99);
  const memoryBig = bigStats.memory;
  results.runs = { bare: bareRun, bareAgain, authorizedSmall: smallRun, authorizedLarge: bigRun, unknownFlood: floodRun };
  results.scenarios = [
    { scenario: 'Authorized call vs bare Express (throughput)', measured: `${Math.round(smallRun.rps)} vs ${Math.round(bareRps)} req/s; server CPU ${smallRun.serverCpuMicrosPerRequest} vs ${bareCpu.toFixed(1)} µs/req`, ratio: smallRun.rps / bareRps, target: '≥ 0.90', pass: smallRun.rps / bareRps >= 0.9 },
    { scenario: 'Authorized call: added p99 latency', measured: `${smallRun.p99} vs ${bareP99} ms`, ratio: null, value: smallRun.p99 - bareP99, target: '≤ 1 ms', pass: smallRun.p99 - bareP99 <= 1 },
    { scenario: `${bigStats.tokens} tokens, ${bigStats.definitions} definitions vs 1 token`, measured: `${Math.round(bigRun.rps)} vs ${Math.round(smallRun.rps)} req/s; server CPU ${bigRun.serverCpuMicrosPerRequest} vs ${smallRun.serverCpuMicrosPerRequest} µs/req`, ratio: bigRun.rps / smallRun.rps, target: '≥ 0.95', pass: bigRun.rps / smallRun.rps >= 0.95 },
    { scenario: 'Flood of unknown secrets vs bare Express', measured: `${Math.round(floodRun.rps)} req/s (${floodRun.statuses['4xx']} × 401), ${bcryptAfter - bcryptBefore} bcrypt calls${cpu(floodRun)}`, ratio: floodRun.rps / bareRps, target: '≥ 0.90, 0 bcrypt', pass: floodRun.rps / bareRps >= 0.9 && bcryptAfter === bcryptBefore },
    { scenario: `Token create, median: ${bigStats.tokens} vs 1 token`, measured: `${createBig.toFixed(1)} vs ${createSmall.toFixed(1)} ms`, ratio: createBig / createSmall, target: '≤ 1.2', pass: createBig / createSmall <= 1.2 },
    { scenario: `Admin list, 100 of ${bigStats.tokens} tokens, filtered, median`, measured: `${median(listTimes).toFixed(1)} ms`, ratio: null, value: median(listTimes), target: '≤ 50 ms', pass: median(listTimes) <= 50 },
    { scenario: 'Revocation seen by another instance (max of 10)', measured: `${Math.max(...revocations).toFixed(0)} ms (median ${median(revocations).toFixed(0)} ms)`, ratio: null, value: Math.max(...revocations), target: '≤ 1000 ms', pass: Math.max(...revocations) <= 1000 },
  ];
  results.memory = {
    heapPerTokenBytes: Math.round((memoryBig.heapUsed - memorySmall.heapUsed) / (bigStats.tokens + bigStats.definitions)),
    heapUsedSmallMiB: +(memorySmall.heapUsed / 2 ** 20).toFixed(1),
    heapUsedLargeMiB: +(memoryBig.heapUsed / 2 ** 20).toFixed(1),
    rssLargeMiB: +(memoryBig.rss / 2 ** 20).toFixed(1),
  };
  results.seconds = Math.round((Date.now() - started) / 1000);

  const lines = ['| scenario | measured | ratio | target | met |', '|---|---|---|---|---|'];
  for (const row of results.scenarios) lines.push(`| ${row.scenario} | ${row.measured} | ${row.ratio === null ? '' : row.ratio.toFixed(2)} | ${row.target} | ${row.pass ? 'yes' : '**no**'} |`);
  const table = lines.join('\n');
  console.log(`\nMachine: ${results.machine}. Database: ${results.database}. ${DURATION} s per load run, 32 connections, autocannon in its own process.\n`);
  console.log(table);
  console.log(`\nIn-memory view: ${results.memory.heapUsedLargeMiB} MiB heap with ${bigStats.tokens} tokens and ${bigStats.definitions} definitions (${results.memory.heapUsedSmallMiB} MiB with 1); about ${results.memory.heapPerTokenBytes} bytes per object. Total time ${results.seconds} s.`);
  mkdirSync(path.join(here, '..', 'bench-results'), { recursive: true });
  writeFileSync(path.join(here, '..', 'bench-results', 'latest.json'), `${JSON.stringify(results, null, 2)}\n`);
  writeFileSync(path.join(here, '..', 'bench-results', 'latest.md'), `${table}\n`);
  await connection.dropDatabase();
  await connection.close();
} finally {
  await Promise.all(servers.map((server) => server.stop().catch(() => undefined)));
  await database?.stop();
}
