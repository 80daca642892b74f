// Prometheus metrics over real HTTP against the real database: each counter moves by what a call did, gauges read live state.
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type Express } from 'express';
import mongoose from 'mongoose';
import * as promClient from 'prom-client';
import request from 'supertest';
import {
  createUserDefinedApis,
  OptionsError,
  type PromClientLike,
  type RegistryLike,
  type UserDefinedApis,
} from '../src';
import { METRIC_DEFINITIONS } from '../src/metrics/definitions';
import { AUTH_FAILURE_REASONS, type AuthFailureReason } from '../src/metrics/endpoint-metrics';
import { internalsOf } from '../src/plugin';
import type { UserDefinedApisOptions } from '../src/types';
import { ADMIN, createTestApp, openTestHost, TEST_PEPPER, type TestApp, type TestHost } from './helpers/app';
import { registerLeakSource } from './helpers/leak-registry';

// Type level (checked by `tsc -p test/tsconfig.json` and ts-jest): the real module fits the package's structural types.
const realClient: PromClientLike = promClient;
const realRegistry: RegistryLike = promClient.register;
const openMetricsRegistry: RegistryLike = new promClient.Registry<promClient.OpenMetricsContentType>();
// @ts-expect-error a module without the metric classes is not a prom-client
const notAClient: PromClientLike = { Registry: promClient.Registry };
void [realClient, realRegistry, openMetricsRegistry, notAClient];

let host: TestHost;
let t: TestApp;
let app: Express;
/** Every scrape of this file: the suite-wide leak scan reads them, and the last test checks them for ids and secrets. */
const scrapes: string[] = [];
const secrets: string[] = [];
const tokenIds: string[] = [];
registerLeakSource('metrics text', () => scrapes);

/** The controlled blocking action of the concurrency tests. */
let releaseBlocked: () => void = () => undefined;
let blocked = new Promise<void>((resolve) => {
  releaseBlocked = resolve;
});

beforeAll(async () => {
  host = await openTestHost({ metrics: { promClient }, failedAuthThrottle: { limit: 2, windowSeconds: 60 } });
  ({ t, app } = host);
  // Each test that fails authentications comes from its own address, so the throttle only bites where it is tested.
  app.set('trust proxy', true);
  app.get('/metrics', t.udapi.metricsHandler());
  t.udapi.registerHandler('metrics.sleep', async (input) => {
    await new Promise((resolve) => setTimeout(resolve, Number(input.queryParameters.get('ms') ?? 0)));
    return { responseCode: 200 };
  });
  t.udapi.registerHandler('metrics.status', (input) => ({ responseCode: Number(input.queryParameters.get('status')) }));
});

afterAll(async () => {
  await host?.close();
});

// ---------------------------------------------------------------------------------------------------------------
// Reading the exposition.

type Labels = Record<string, string>;
interface Sample {
  name: string;
  labels: Labels;
  value: number;
}

function parseExposition(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([A-Za-z_:][A-Za-z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match) throw new Error(`Not an exposition line: ${line}`);
    const labels: Labels = {};
    for (const [, name, value] of (match[2] ?? '').matchAll(/([A-Za-z_][A-Za-z0-9_]*)="((?:[^"\\]|\\.)*)"/g))
      labels[name!] = value!;
    const raw = match[3]!;
    samples.push({
      name: match[1]!,
      labels,
      value: raw === '+Inf' ? Infinity : raw === '-Inf' ? -Infinity : Number(raw),
    });
  }
  return samples;
}

class Scrape {
  constructor(readonly samples: Sample[]) {}

  /** The value of the one series with exactly these labels; 0 when it does not exist (yet). */
  value(name: string, labels: Labels = {}): number {
    const found = this.samples.filter((sample) => sample.name === name && sameLabels(sample.labels, labels));
    if (found.length > 1) throw new Error(`${found.length} series for ${name} ${JSON.stringify(labels)}`);
    return found[0]?.value ?? 0;
  }

  has(name: string, labels: Labels = {}): boolean {
    return this.samples.some((sample) => sample.name === name && sameLabels(sample.labels, labels));
  }
}

function sameLabels(a: Labels, b: Labels): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((key) => a[key] === b[key]);
}

async function scrape(target: Express = app, path = '/metrics'): Promise<Scrape> {
  const res = await request(target).get(path);
  expect(res.status).toBe(200);
  expect(res.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8');
  expect(res.headers['cache-control']).toBe('no-store');
  scrapes.push(res.text);
  return new Scrape(parseExposition(res.text));
}

/** Scrapes until the condition holds (gauges of work in flight settle asynchronously); fails after 5 s. */
async function scrapeUntil(target: Express, condition: (scrape: Scrape) => boolean): Promise<Scrape> {
  const deadline = Date.now() + 5000;
  for (;;) {
    const current = await scrape(target);
    if (condition(current)) return current;
    if (Date.now() > deadline)
      throw new Error(`Metrics never reached the expected state:\n${scrapes[scrapes.length - 1]}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function authFailures(current: Scrape): Record<AuthFailureReason, number> {
  return Object.fromEntries(
    AUTH_FAILURE_REASONS.map((reason) => [reason, current.value('udapi_auth_failures_total', { reason })]),
  ) as Record<AuthFailureReason, number>;
}

/** The auth-failure counters moved by exactly this: one reason by one, the others not at all. */
function expectAuthFailureDelta(before: Scrape, after: Scrape, reason: AuthFailureReason): void {
  const expected = authFailures(before);
  expected[reason] += 1;
  expect(authFailures(after)).toEqual(expected);
}

// ---------------------------------------------------------------------------------------------------------------
// Making tokens and definitions through the admin API.

const unique = () => `m${randomUUID().slice(0, 8)}`;
const bearer = (secret: string) => ({ Authorization: `Bearer ${secret}` });
/** A fresh client address (trust proxy is on), so that failures of one test never throttle another. */
const fromAddress = () => ({
  'X-Forwarded-For': `10.${Math.floor(Math.random() * 250)}.${Math.floor(Math.random() * 250)}.${Math.floor(Math.random() * 250)}`,
});

async function createToken(target: Express, body: object = {}): Promise<{ id: string; secret: string }> {
  const res = await request(target)
    .post('/admin/udapi/tokens')
    .set(ADMIN)
    .send({ name: `tok-${unique()}`, ...body });
  expect(res.status).toBe(201);
  secrets.push(res.body.secret as string);
  tokenIds.push(res.body.id as string);
  return { id: res.body.id as string, secret: res.body.secret as string };
}

async function createDefinition(
  target: Express,
  route: string,
  allowedTokens: string[],
  action = 'test.echo',
): Promise<string> {
  const res = await request(target)
    .post('/admin/udapi/definitions')
    .set(ADMIN)
    .send({ route, actionMeta: { name: action }, securitySettings: { allowedTokens } });
  expect(res.status).toBe(201);
  return res.body.id as string;
}

async function api(
  target: Express = app,
  options: { action?: string; token?: object } = {},
): Promise<{ route: string; secret: string; tokenId: string; definitionId: string }> {
  const token = await createToken(target, options.token);
  const route = unique();
  const definitionId = await createDefinition(target, route, [token.id], options.action);
  return { route, secret: token.secret, tokenId: token.id, definitionId };
}

// ---------------------------------------------------------------------------------------------------------------

describe('calls and latency', () => {
  it('counts a 200 call under its definition and status, and observes its latency once', async () => {
    const { route, secret, definitionId } = await api();
    const before = await scrape();
    const res = await request(app)
      .post(`/api/custom/${route}`)
      .set(bearer(secret))
      .set('Content-Type', 'text/plain')
      .send('hi');
    expect(res.status).toBe(200);
    const after = await scrape();
    expect(after.value('udapi_calls_total', { definition: definitionId, status: '200' })).toBe(
      before.value('udapi_calls_total', { definition: definitionId, status: '200' }) + 1,
    );
    expect(after.value('udapi_call_duration_seconds_count', { definition: definitionId })).toBe(1);
    expect(after.value('udapi_call_duration_seconds_bucket', { definition: definitionId, le: '+Inf' })).toBe(1);
    expect(after.value('udapi_call_duration_seconds_sum', { definition: definitionId })).toBeGreaterThan(0);
    // No other series of this definition: nothing was counted twice or under another status.
    const ofDefinition = after.samples.filter(
      (sample) => sample.name === 'udapi_calls_total' && sample.labels.definition === definitionId,
    );
    expect(ofDefinition).toEqual([
      { name: 'udapi_calls_total', labels: { definition: definitionId, status: '200' }, value: 1 },
    ]);
  });

  it('counts the status the action chose', async () => {
    const { route, secret, definitionId } = await api(app, { action: 'metrics.status' });
    for (const status of [201, 418, 503])
      expect((await request(app).get(`/api/custom/${route}?status=${status}`).set(bearer(secret))).status).toBe(status);
    const after = await scrape();
    for (const status of ['201', '418', '503'])
      expect(after.value('udapi_calls_total', { definition: definitionId, status })).toBe(1);
  });

  it('measures latency in seconds: a 30 ms action lands above the 25 ms bucket', async () => {
    const { route, secret, definitionId } = await api(app, { action: 'metrics.sleep' });
    expect((await request(app).get(`/api/custom/${route}?ms=30`).set(bearer(secret))).status).toBe(200);
    const after = await scrape();
    expect(after.value('udapi_call_duration_seconds_count', { definition: definitionId })).toBe(1);
    expect(after.value('udapi_call_duration_seconds_bucket', { definition: definitionId, le: '0.025' })).toBe(0);
    expect(after.value('udapi_call_duration_seconds_bucket', { definition: definitionId, le: '10' })).toBe(1);
    const seconds = after.value('udapi_call_duration_seconds_sum', { definition: definitionId });
    expect(seconds).toBeGreaterThanOrEqual(0.029);
    expect(seconds).toBeLessThan(5);
    // The documented buckets, half a millisecond to 10 s.
    const bounds = after.samples
      .filter(
        (sample) => sample.name === 'udapi_call_duration_seconds_bucket' && sample.labels.definition === definitionId,
      )
      .map((sample) => sample.labels.le);
    expect(bounds).toEqual([
      '0.0005',
      '0.001',
      '0.0025',
      '0.005',
      '0.01',
      '0.025',
      '0.05',
      '0.1',
      '0.25',
      '0.5',
      '1',
      '2.5',
      '5',
      '10',
      '+Inf',
    ]);
  });

  it('counts a call that matched no definition under definition=""', async () => {
    const { secret } = await createToken(app);
    const before = await scrape();
    expect((await request(app).get(`/api/custom/${unique()}`).set(bearer(secret))).status).toBe(404);
    const after = await scrape();
    expect(after.value('udapi_calls_total', { definition: '', status: '404' })).toBe(
      before.value('udapi_calls_total', { definition: '', status: '404' }) + 1,
    );
    expect(after.value('udapi_call_duration_seconds_count', { definition: '' })).toBe(
      before.value('udapi_call_duration_seconds_count', { definition: '' }) + 1,
    );
  });
});

describe('auth failures by reason (the consumer sees the one 401)', () => {
  it('starts every reason at 0, so that rates exist before the first failure', async () => {
    const fresh = await createTestApp(host.db, { metrics: { promClient } });
    try {
      const server = express().get('/metrics', fresh.udapi.metricsHandler());
      expect(authFailures(await scrape(server))).toEqual(
        Object.fromEntries(AUTH_FAILURE_REASONS.map((reason) => [reason, 0])),
      );
      expect((await scrape(server)).value('udapi_rate_limit_rejections_total')).toBe(0);
    } finally {
      await fresh.udapi.close();
    }
  });

  const expectRefused = (res: request.Response, code: number, status = 401): void => {
    expect(res.status).toBe(status);
    expect(res.body.errors[0].errorCode).toBe(code);
  };

  it('header_invalid: no bearer header (401, 1008)', async () => {
    const { route } = await api();
    const before = await scrape();
    expectRefused(await request(app).get(`/api/custom/${route}`).set(fromAddress()), 1008);
    const after = await scrape();
    expectAuthFailureDelta(before, after, 'header_invalid');
    expect(after.value('udapi_calls_total', { definition: '', status: '401' })).toBe(
      before.value('udapi_calls_total', { definition: '', status: '401' }) + 1,
    );
  });

  it('unknown_secret: a secret no token has', async () => {
    const { route } = await api();
    const before = await scrape();
    expectRefused(
      await request(app)
        .get(`/api/custom/${route}`)
        .set(bearer(`${'Q'.repeat(43)}=`))
        .set(fromAddress()),
      1010,
    );
    expectAuthFailureDelta(before, await scrape(), 'unknown_secret');
  });

  it('disabled: the token is disabled', async () => {
    const { route, secret, tokenId } = await api();
    expect(
      (await request(app).patch(`/admin/udapi/tokens/${tokenId}`).set(ADMIN).send({ isDisabled: true })).status,
    ).toBe(200);
    const before = await scrape();
    expectRefused(await request(app).get(`/api/custom/${route}`).set(bearer(secret)).set(fromAddress()), 1010);
    expectAuthFailureDelta(before, await scrape(), 'disabled');
  });

  it('expired: the token has expired', async () => {
    const { route, secret } = await api(app, { token: { expiresAt: new Date(Date.now() - 3_600_000).toISOString() } });
    const before = await scrape();
    expectRefused(await request(app).get(`/api/custom/${route}`).set(bearer(secret)).set(fromAddress()), 1010);
    expectAuthFailureDelta(before, await scrape(), 'expired');
  });

  it('not_allowed: the matched definition does not allow the token, counted under that definition', async () => {
    const { route, definitionId } = await api();
    const stranger = await createToken(app);
    const before = await scrape();
    expectRefused(await request(app).get(`/api/custom/${route}`).set(bearer(stranger.secret)).set(fromAddress()), 1010);
    const after = await scrape();
    expectAuthFailureDelta(before, after, 'not_allowed');
    expect(after.value('udapi_calls_total', { definition: definitionId, status: '401' })).toBe(1);
  });

  it('wrong_secret: the digest matches but the bcrypt hash does not (tampered document)', async () => {
    const { route, secret, tokenId } = await api();
    const other = await createToken(app);
    const tokens = host.db.connection.collection('udapiApiTokens');
    const otherDoc = await tokens.findOne({ _id: other.id as never });
    await tokens.updateOne({ _id: tokenId as never }, { $set: { secretHash: otherDoc!.secretHash } });
    await internalsOf(t.udapi).catalog.refreshToken(tokenId);
    const before = await scrape();
    expectRefused(await request(app).get(`/api/custom/${route}`).set(bearer(secret)).set(fromAddress()), 1010);
    expectAuthFailureDelta(before, await scrape(), 'wrong_secret');
  });

  it('throttled: the address failed too often (429, 2003), counted apart from the failures that led to it', async () => {
    const { route } = await api();
    const address = fromAddress();
    const before = await scrape();
    for (let i = 0; i < 2; i += 1)
      expectRefused(
        await request(app)
          .get(`/api/custom/${route}`)
          .set(bearer(`${'Z'.repeat(43)}=`))
          .set(address),
        1010,
      );
    const afterFailures = await scrape();
    expect(authFailures(afterFailures)).toEqual({
      ...authFailures(before),
      unknown_secret: authFailures(before).unknown_secret + 2,
    });
    expectRefused(
      await request(app)
        .get(`/api/custom/${route}`)
        .set(bearer(`${'Z'.repeat(43)}=`))
        .set(address),
      2003,
      429,
    );
    const after = await scrape();
    expectAuthFailureDelta(afterFailures, after, 'throttled');
    expect(after.value('udapi_calls_total', { definition: '', status: '429' })).toBe(
      afterFailures.value('udapi_calls_total', { definition: '', status: '429' }) + 1,
    );
    // A throttle refusal is not a rate-limit rejection.
    expect(after.value('udapi_rate_limit_rejections_total')).toBe(
      afterFailures.value('udapi_rate_limit_rejections_total'),
    );
  });
});

describe('rate limit', () => {
  it('counts a 429 of the token rate limit (code 1014), and nothing for the call it let through', async () => {
    const { route, secret } = await api(app, { token: { rateLimit: { limit: 1, windowSeconds: 60 } } });
    const before = await scrape();
    expect((await request(app).get(`/api/custom/${route}`).set(bearer(secret))).status).toBe(200);
    const between = await scrape();
    expect(between.value('udapi_rate_limit_rejections_total')).toBe(before.value('udapi_rate_limit_rejections_total'));
    const refused = await request(app).get(`/api/custom/${route}`).set(bearer(secret));
    expect(refused.status).toBe(429);
    expect(refused.body.errors[0].errorCode).toBe(1014);
    const after = await scrape();
    expect(after.value('udapi_rate_limit_rejections_total')).toBe(
      before.value('udapi_rate_limit_rejections_total') + 1,
    );
    // The limit is checked before the route is matched: the refusal has no definition.
    expect(after.value('udapi_calls_total', { definition: '', status: '429' })).toBe(
      between.value('udapi_calls_total', { definition: '', status: '429' }) + 1,
    );
    expect(authFailures(after)).toEqual(authFailures(before));
  });
});

describe('queues and actions in flight (read at scrape time)', () => {
  let capped: TestApp;
  let server: Express;

  beforeAll(async () => {
    capped = await createTestApp(host.db, {
      metrics: { promClient },
      maxConcurrentActions: 1,
      bcryptConcurrency: 1,
      bcryptRounds: 12,
    });
    capped.udapi.registerHandler('metrics.block', async () => {
      await blocked;
      return { responseCode: 200 };
    });
    server = express();
    server.use('/admin/udapi', capped.udapi.adminRouter());
    server.use('/api/custom', capped.udapi.endpoint());
    server.get('/metrics', capped.udapi.metricsHandler());
  });

  afterAll(async () => {
    releaseBlocked();
    await capped?.udapi.close();
  });

  it('shows actions waiting for the one slot, and the one running, until they finish', async () => {
    const { route, secret, definitionId } = await api(server, { action: 'metrics.block' });
    // The bcrypt check of this secret runs once, now, so that the calls below reach the action queue directly.
    const warm = await internalsOf(capped.udapi).verifier.verify(secret);
    expect(warm).not.toBeNull();
    const idle = await scrape(server);
    expect(idle.value('udapi_queue_depth', { queue: 'actions' })).toBe(0);
    expect(idle.value('udapi_actions_in_flight')).toBe(0);
    const calls = [0, 1, 2].map(() =>
      request(server)
        .get(`/api/custom/${route}`)
        .set(bearer(secret))
        .then((res) => res),
    );
    const busy = await scrapeUntil(server, (current) => current.value('udapi_queue_depth', { queue: 'actions' }) === 2);
    expect(busy.value('udapi_actions_in_flight')).toBe(1);
    releaseBlocked();
    expect((await Promise.all(calls)).map((res) => res.status)).toEqual([200, 200, 200]);
    const done = await scrape(server);
    expect(done.value('udapi_queue_depth', { queue: 'actions' })).toBe(0);
    expect(done.value('udapi_actions_in_flight')).toBe(0);
    expect(done.value('udapi_calls_total', { definition: definitionId, status: '200' })).toBe(3);
    blocked = new Promise<void>((resolve) => {
      releaseBlocked = resolve;
    });
  });

  it('sums the queues of every endpoint handler the object made', async () => {
    const { route, secret } = await api(server, { action: 'metrics.block' });
    expect(await internalsOf(capped.udapi).verifier.verify(secret)).not.toBeNull();
    const second = express().use('/api/custom', capped.udapi.endpoint());
    const calls = [server, server, second, second].map((target) =>
      request(target)
        .get(`/api/custom/${route}`)
        .set(bearer(secret))
        .then((res) => res),
    );
    const busy = await scrapeUntil(server, (current) => current.value('udapi_queue_depth', { queue: 'actions' }) === 2);
    expect(busy.value('udapi_actions_in_flight')).toBe(2);
    releaseBlocked();
    expect((await Promise.all(calls)).map((res) => res.status)).toEqual([200, 200, 200, 200]);
    blocked = new Promise<void>((resolve) => {
      releaseBlocked = resolve;
    });
  });

  it('counts a call whose client went away as 499', async () => {
    const { route, secret, definitionId } = await api(server, { action: 'metrics.block' });
    expect(await internalsOf(capped.udapi).verifier.verify(secret)).not.toBeNull();
    const listening = http.createServer(server).listen(0, '127.0.0.1');
    let call: http.ClientRequest | undefined;
    try {
      await new Promise((resolve) => listening.once('listening', resolve));
      const { port } = listening.address() as AddressInfo;
      call = http.get({ host: '127.0.0.1', port, path: `/api/custom/${route}`, headers: bearer(secret) });
      call.on('error', () => undefined);
      await scrapeUntil(server, (current) => current.value('udapi_actions_in_flight') === 1);
      call.destroy();
      const after = await scrapeUntil(
        server,
        (current) => current.value('udapi_calls_total', { definition: definitionId, status: '499' }) === 1,
      );
      expect(after.value('udapi_calls_total', { definition: definitionId, status: '200' })).toBe(0);
    } finally {
      call?.destroy();
      releaseBlocked();
      blocked = new Promise<void>((resolve) => {
        releaseBlocked = resolve;
      });
      listening.closeAllConnections();
      await new Promise((resolve) => listening.close(resolve));
    }
  });

  it('shows bcrypt operations waiting for the pool', async () => {
    const { bcrypt } = internalsOf(capped.udapi);
    // One runs (concurrency 1, cost 12: some 200 ms each), three wait.
    const hashes = [0, 1, 2, 3].map(() => bcrypt.hash(randomUUID()));
    try {
      const busy = await scrape(server);
      expect(busy.value('udapi_queue_depth', { queue: 'bcrypt' })).toBe(3);
    } finally {
      await Promise.all(hashes);
    }
    expect((await scrape(server)).value('udapi_queue_depth', { queue: 'bcrypt' })).toBe(0);
  });
});

describe('revision lag and readiness', () => {
  it('is +Inf and not ready before ready(), then about one poll interval', async () => {
    const fresh = createUserDefinedApis({
      connection: host.db.connection,
      pepper: TEST_PEPPER,
      authenticateAdmin: () => null,
      bcryptRounds: 4,
      changePollIntervalMs: 100,
      metrics: { promClient },
    });
    const server = express().get('/metrics', fresh.metricsHandler());
    try {
      const early = await scrape(server);
      expect(early.value('udapi_revision_lag_seconds')).toBe(Infinity);
      expect(early.value('udapi_ready')).toBe(0);
      await fresh.ready();
      await new Promise((resolve) => setTimeout(resolve, 300));
      const running = await scrape(server);
      expect(running.value('udapi_ready')).toBe(1);
      const lag = running.value('udapi_revision_lag_seconds');
      expect(lag).toBeGreaterThanOrEqual(0);
      // A poll every 100 ms: the newest successful one started well within a second.
      expect(lag).toBeLessThan(1);
    } finally {
      await fresh.close();
    }
  });

  it('grows while this instance stops applying the change log', async () => {
    const fresh = createUserDefinedApis({
      connection: host.db.connection,
      pepper: TEST_PEPPER,
      authenticateAdmin: () => null,
      bcryptRounds: 4,
      changePollIntervalMs: 50,
      metrics: { promClient },
    });
    const server = express().get('/metrics', fresh.metricsHandler());
    try {
      await fresh.ready();
      await internalsOf(fresh).feed.stop();
      await new Promise((resolve) => setTimeout(resolve, 700));
      const stopped = (await scrape(server)).value('udapi_revision_lag_seconds');
      expect(stopped).toBeGreaterThanOrEqual(0.65);
      expect(stopped).toBeLessThan(5);
      // One successful poll brings it back.
      await internalsOf(fresh).feed.poll();
      expect((await scrape(server)).value('udapi_revision_lag_seconds')).toBeLessThan(0.5);
    } finally {
      await fresh.close();
    }
  });
});

describe('the metrics handler and the option', () => {
  let plain: UserDefinedApis;
  const connection = mongoose.createConnection();
  const valid: UserDefinedApisOptions = { connection, pepper: TEST_PEPPER, authenticateAdmin: () => null };

  afterAll(async () => {
    await connection.close();
  });

  it('throws a clear OptionsError when the metrics option was not given', () => {
    plain = createUserDefinedApis(valid);
    expect(() => plain.metricsHandler()).toThrow(OptionsError);
    expect(() => plain.metricsHandler()).toThrow(/metricsHandler\(\) needs the `metrics` option/);
  });

  it('answers HEAD without a body and refuses other methods with 405', async () => {
    const head = await request(app).head('/metrics');
    expect(head.status).toBe(200);
    expect(head.text ?? '').toBe('');
    const router = express().use('/metrics', t.udapi.metricsHandler());
    const post = await request(router).post('/metrics');
    expect(post.status).toBe(405);
    expect(post.headers.allow).toBe('GET, HEAD');
  });

  it.each<[string, unknown, RegExp]>([
    ['a string', 'prom-client', /`metrics` must be an object/],
    ['no promClient', {}, /`metrics.promClient` must be the prom-client module/],
    [
      'a promClient without Histogram',
      { promClient: { Registry: promClient.Registry, Counter: promClient.Counter, Gauge: promClient.Gauge } },
      /`metrics.promClient`/,
    ],
    ['a registry that is not one', { promClient, registry: {} }, /`metrics.registry` must be a prom-client Registry/],
    [
      'a prefix with a dash',
      { promClient, prefix: 'my-app_' },
      /`metrics.prefix` must be letters, digits and underscores/,
    ],
    ['a prefix starting with a digit', { promClient, prefix: '9lives_' }, /`metrics.prefix`/],
    ['a prefix with a colon', { promClient, prefix: 'a:b_' }, /`metrics.prefix`/],
    ['a prefix that is not a string', { promClient, prefix: 7 }, /`metrics.prefix`/],
    ['a typo in a metrics option', { promClient, prefx: 'x_' }, /unknown option `metrics.prefx`/],
  ])('refuses %s', (_label, metrics, message) => {
    const build = () => createUserDefinedApis({ ...valid, metrics } as UserDefinedApisOptions);
    expect(build).toThrow(OptionsError);
    expect(build).toThrow(message);
  });

  it('uses a registry of its own by default, never the global one', () => {
    createUserDefinedApis({ ...valid, metrics: { promClient } });
    expect(promClient.register.getSingleMetric('udapi_calls_total')).toBeUndefined();
  });

  it('registers on the given registry with the given prefix, and refuses a second object with the same names', async () => {
    const registry = new promClient.Registry();
    createUserDefinedApis({ ...valid, metrics: { promClient, registry, prefix: 'shop_' } });
    const text = await registry.metrics();
    expect(text).toContain('# TYPE shop_calls_total counter');
    expect(text).toContain('shop_queue_depth{queue="actions"} 0');
    expect(text).not.toContain('udapi_');
    const second = () => createUserDefinedApis({ ...valid, metrics: { promClient, registry, prefix: 'shop_' } });
    expect(second).toThrow(OptionsError);
    expect(second).toThrow(/already holds a metric named shop_calls_total/);
    expect(() =>
      createUserDefinedApis({ ...valid, metrics: { promClient, registry, prefix: 'shop2_' } }),
    ).not.toThrow();
  });

  it('exposes exactly the documented metrics (definitions.ts, from which the table of docs/operations.md is generated), with their types and help', async () => {
    const res = await request(app).get('/metrics');
    scrapes.push(res.text);
    const documented = METRIC_DEFINITIONS.map((metric) => [
      `# HELP udapi_${metric.name} ${metric.help.replace(/\\/g, '\\\\')}`,
      `# TYPE udapi_${metric.name} ${metric.type}`,
    ]).flat();
    const comments = res.text.split('\n').filter((line) => line.startsWith('#'));
    expect(comments).toEqual(documented);
    for (const metric of METRIC_DEFINITIONS) {
      const labels = new Set(
        parseExposition(res.text)
          .filter((sample) => sample.name.startsWith(`udapi_${metric.name}`))
          .flatMap((sample) => Object.keys(sample.labels)),
      );
      labels.delete('le');
      expect([...labels].sort()).toEqual([...metric.labels].sort());
    }
  });

  it('takes an empty prefix', async () => {
    const registry = new promClient.Registry();
    createUserDefinedApis({ ...valid, metrics: { promClient, registry, prefix: '' } });
    expect(await registry.metrics()).toContain('# TYPE calls_total counter');
  });
});

describe('what the metrics never contain', () => {
  it('holds no secret and no token id in any label or value', async () => {
    await scrape();
    expect(secrets.length).toBeGreaterThan(10);
    expect(tokenIds.length).toBe(secrets.length);
    const labelKeys = new Set<string>();
    for (const text of scrapes) {
      for (const sample of parseExposition(text)) for (const key of Object.keys(sample.labels)) labelKeys.add(key);
      for (const value of [...secrets, ...tokenIds]) expect(text).not.toContain(value);
    }
    expect([...labelKeys].sort()).toEqual(['definition', 'le', 'queue', 'reason', 'status']);
  });
});
