// Usage counting: exact counts per token, API and outcome, GET /usage and its permissions, retention, and three processes.
import { randomBytes, randomUUID } from 'node:crypto';
import mongoose from 'mongoose';
import request from 'supertest';
import type { UsageModel } from '../src/models/usage';
import { internalsOf } from '../src/plugin';
import { MAX_USAGE_KEYS, USAGE_STOP_WAIT_MS, UsageCounter } from '../src/usage/usage-counter';
import { captureLogger } from './helpers/capture';
import { ADMIN, openTestHost, userWith, type TestHost } from './helpers/app';
import { ensureBuilt, startInstance, type Instance } from './helpers/instances';

let host: TestHost;

beforeAll(async () => {
  // A long interval: counts reach the database when the test flushes them, never halfway through a test.
  host = await openTestHost({ failedAuthThrottle: false, usageIntervalMs: 3_600_000 });
});

afterAll(async () => {
  await host?.close();
});

const admin = {
  get: (path: string, headers: Record<string, string> = ADMIN) =>
    request(host.app).get(`/admin/udapi${path}`).set(headers),
  post: (path: string, body: object) => request(host.app).post(`/admin/udapi${path}`).set(ADMIN).send(body),
};
const call = (route: string, secret: string) =>
  request(host.app).get(`/api/custom/${route}`).set('Authorization', `Bearer ${secret}`);
const flush = () => internalsOf(host.t.udapi).usage!.flush();

async function token(body: object = {}): Promise<{ id: string; secret: string }> {
  const res = await admin.post('/tokens', { name: `usage-${randomUUID().slice(0, 8)}`, ...body });
  expect(res.status).toBe(201);
  return { id: res.body.id, secret: res.body.secret };
}

async function definition(route: string, allowedTokens: string[], extra: object = {}): Promise<string> {
  const res = await admin.post('/definitions', {
    route,
    actionMeta: { name: 'test.echo' },
    securitySettings: { allowedTokens },
    ...extra,
  });
  expect(res.status).toBe(201);
  return String(res.body.id);
}

describe('what a call counts', () => {
  it('counts each outcome against its token and API; an unknown secret against the API only', async () => {
    const caller = await token({ rateLimit: { limit: 3, windowSeconds: 60 } });
    const stranger = await token();
    const route = `usage/${randomUUID().slice(0, 8)}`;
    const id = await definition(`${route}/{n}`, [caller.id], {
      input: { route: { type: 'object', properties: { n: { type: 'integer' } } } },
    });
    expect((await call(`${route}/1`, caller.secret)).status).toBe(200);
    expect((await call(`${route}/x`, caller.secret)).status).toBe(400); // input: code 18
    expect((await call(`${route}/2`, caller.secret)).status).toBe(200);
    expect((await call(`${route}/3`, caller.secret)).status).toBe(429); // the fourth in the window
    expect((await call(`${route}/1`, stranger.secret)).status).toBe(401); // not allowed
    for (let i = 0; i < 2; i++) expect((await call(`${route}/1`, randomBytes(32).toString('base64'))).status).toBe(401);
    await flush();

    const mine = await admin.get(`/usage?tokenId=${caller.id}&bucket=minute`);
    expect(mine.status).toBe(200);
    expect(mine.body.totals).toMatchObject({
      calls: 4,
      ok: 2,
      clientErrors: 2,
      serverErrors: 0,
      refusals: { InvalidInput: 1, RateLimitExceeded: 1 },
    });
    expect(mine.body.totals.durationMs).toBeGreaterThan(0);
    expect(mine.body.series).toHaveLength(60);
    expect(mine.body.series.at(-1)).toMatchObject({ calls: 4 });
    const api = await admin.get(`/usage?definitionId=${id}&bucket=minute&groupBy=token`);
    expect(api.body.totals).toMatchObject({
      calls: 7,
      refusals: { InvalidInput: 1, RateLimitExceeded: 1, not_allowed: 1, unknown_secret: 2 },
    });
    const byToken = Object.fromEntries(
      (api.body.groups as { id: string; calls: number; label: string | null }[]).map((group) => [
        group.id,
        [group.calls, group.label],
      ]),
    );
    // The unknown secrets are nobody's: their calls are under '' (no token), never under a token.
    expect(byToken).toEqual({
      [caller.id]: [4, expect.stringMatching(/^usage-/)],
      [stranger.id]: [1, expect.stringMatching(/^usage-/)],
      '': [2, null],
    });
    // Most refused first.
    const refused = await admin.get(`/usage?definitionId=${id}&bucket=minute&groupBy=token&sort=refusals`);
    expect(refused.body.groups.map((group: { id: string }) => group.id)).toEqual(['', caller.id, stranger.id]);
  });

  it('minutes, hours and days agree; everything at once is the sum of its tokens', async () => {
    const caller = await token();
    const route = `usage/sum-${randomUUID().slice(0, 8)}`;
    await definition(route, [caller.id]);
    for (let i = 0; i < 5; i++) expect((await call(route, caller.secret)).status).toBe(200);
    await flush();
    const totals = await Promise.all(
      ['minute', 'hour', 'day'].map(
        async (bucket) =>
          ((await admin.get(`/usage?tokenId=${caller.id}&bucket=${bucket}`)).body as UsageBody).totals.calls,
      ),
    );
    expect(totals).toEqual([5, 5, 5]);
    const everything = await admin.get('/usage?bucket=day&groupBy=definition');
    const sum = (everything.body.groups as { calls: number }[]).reduce((total, group) => total + group.calls, 0);
    expect(sum).toBe(everything.body.totals.calls);
    expect(everything.body.series).toHaveLength(30);
  });

  it('a flush that fails keeps its counts for the next one', async () => {
    const caller = await token();
    const route = `usage/retry-${randomUUID().slice(0, 8)}`;
    await definition(route, [caller.id]);
    for (let i = 0; i < 3; i++) await call(route, caller.secret);
    const model =
      host.db.connection.models[Object.keys(host.db.connection.models).find((n) => n.startsWith('UdapiUsage'))!]!;
    const bulkWrite = jest.spyOn(model, 'bulkWrite').mockRejectedValueOnce(new Error('database away'));
    await flush();
    bulkWrite.mockRestore();
    expect(host.t.logs.some((line) => String(line.msg).includes('Could not write usage counts'))).toBe(true);
    expect((await admin.get(`/usage?tokenId=${caller.id}&bucket=minute`)).body.totals.calls).toBe(0);
    await flush();
    expect((await admin.get(`/usage?tokenId=${caller.id}&bucket=minute`)).body.totals.calls).toBe(3);
  });

  it('prunes minutes after their retention and hours after theirs', async () => {
    const caller = await token();
    const route = `usage/prune-${randomUUID().slice(0, 8)}`;
    await definition(route, [caller.id]);
    await call(route, caller.secret);
    await flush();
    const usage = internalsOf(host.t.udapi).usage!;
    const collection = host.db.connection.collection('udapiUsage');
    const count = (size: string) => collection.countDocuments({ tokenId: caller.id, size });
    expect([await count('minute'), await count('hour')]).toEqual([1, 1]);
    await usage.prune(new Date(Date.now() + 6 * 86_400_000));
    expect([await count('minute'), await count('hour')]).toEqual([1, 1]);
    await usage.prune(new Date(Date.now() + 8 * 86_400_000));
    expect([await count('minute'), await count('hour')]).toEqual([0, 1]);
    // The hour (and the days made from it) stays for 90 days.
    expect((await admin.get(`/usage?tokenId=${caller.id}&bucket=hour`)).body.totals.calls).toBe(1);
    await usage.prune(new Date(Date.now() + 92 * 86_400_000));
    expect(await count('hour')).toBe(0);
  });
});

describe('the counter alone (a stand-in model that records writes: the bound is the unit under test)', () => {
  it('holds at most MAX_USAGE_KEYS pairs between writes; calls of further pairs are dropped and logged', async () => {
    const written: unknown[] = [];
    const model = { bulkWrite: (operations: unknown[]) => void written.push(...operations) } as unknown as UsageModel;
    const logs = captureLogger();
    const counter = new UsageCounter(
      model,
      { intervalMs: 3_600_000, minuteRetentionDays: 7, hourRetentionDays: 90, instanceId: 'unit' },
      logs,
    );
    for (let i = 0; i <= MAX_USAGE_KEYS; i++) counter.record(`token-${i}`, 'api', 200, 1, null);
    counter.record('token-0', 'api', 200, 1, null); // a known pair is still counted
    await counter.flush();
    // One minute and one hour write per pair (the calls all fell in one minute, or two if a minute turned).
    expect(written.length).toBeGreaterThanOrEqual(2 * MAX_USAGE_KEYS);
    expect(written.length).toBeLessThanOrEqual(4 * MAX_USAGE_KEYS);
    const warning = logs.lines.find((line) => String(line.msg).includes('were not counted'));
    expect(warning?.obj).toMatchObject({ maxPairs: MAX_USAGE_KEYS });
    expect((warning?.obj as { dropped: number }).dropped).toBeGreaterThanOrEqual(1);
  });

  it('close() waits up to USAGE_STOP_WAIT_MS for the last write, then says it stopped waiting', async () => {
    jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] });
    try {
      let release = (): void => undefined;
      const written: unknown[] = [];
      const model = {
        bulkWrite: (operations: unknown[]) =>
          new Promise<void>((resolve) => {
            release = () => {
              written.push(...operations);
              resolve();
            };
          }),
      } as unknown as UsageModel;
      const logs = captureLogger();
      const options = { intervalMs: 3_600_000, minuteRetentionDays: 7, hourRetentionDays: 90, instanceId: 'unit' };
      const counter = new UsageCounter(model, options, logs);
      counter.record('token', 'api', 200, 1, null);
      let stopped = false;
      const stopping = counter.stop().then(() => (stopped = true));
      await jest.advanceTimersByTimeAsync(USAGE_STOP_WAIT_MS - 1);
      expect({ stopped, warnings: logs.lines.length }).toEqual({ stopped: false, warnings: 0 });
      await jest.advanceTimersByTimeAsync(1);
      await stopping;
      expect(logs.lines.map((line) => [line.level, line.obj])).toEqual([['warn', { waitedMs: USAGE_STOP_WAIT_MS }]]);
      // The write goes on: a host that keeps its connection open still gets the counts.
      release();
      await counter.flush();
      expect(written).toHaveLength(2);

      // A write within the wait: close() resolves with it, and says nothing.
      const quickLogs = captureLogger();
      const quick = new UsageCounter(
        { bulkWrite: () => Promise.resolve() } as unknown as UsageModel,
        options,
        quickLogs,
      );
      quick.record('token', 'api', 200, 1, null);
      await quick.stop();
      expect(quickLogs.lines).toEqual([]);
    } finally {
      jest.useRealTimers();
    }
  });
});

describe('GET /usage', () => {
  it('needs the read permission of what it names or shows', async () => {
    const caller = await token();
    const id = await definition(`usage/perm-${randomUUID().slice(0, 8)}`, [caller.id]);
    const tokensOnly = userWith('UserDefinableApiTokenRead');
    expect((await admin.get(`/usage?tokenId=${caller.id}`, tokensOnly)).status).toBe(200);
    for (const path of ['/usage', `/usage?definitionId=${id}`, `/usage?tokenId=${caller.id}&groupBy=definition`]) {
      const res = await admin.get(path, tokensOnly);
      expect([path, res.status, res.body.errors[0].reason, res.body.errors[0].permission]).toEqual([
        path,
        403,
        'MissingPermission',
        'UserDefinableApiDefinitionRead',
      ]);
    }
    const definitionsOnly = userWith('UserDefinableApiDefinitionRead');
    expect((await admin.get(`/usage?definitionId=${id}`, definitionsOnly)).status).toBe(200);
    expect((await admin.get('/usage', definitionsOnly)).status).toBe(403);
    expect((await admin.get('/usage', {})).status).toBe(401);
  });

  it.each([
    ['an unknown bucket', '?bucket=year'],
    ['a token id that is no UUID', '?tokenId=nope'],
    ['an unknown parameter', '?colour=red'],
    ['a repeated parameter', '?bucket=hour&bucket=day'],
    ['a time that is no time', '?from=yesterday'],
    ['a day that does not exist', '?from=2024-02-31T00:00:00Z'],
    ['from after to', '?from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z'],
    ['over 1440 minutes', '?bucket=minute&from=2026-01-01T00:00:00Z&to=2026-01-03T00:00:00Z'],
    ['over 744 hours', '?bucket=hour&from=2025-01-01T00:00:00Z&to=2026-01-01T00:00:00Z'],
    ['an unknown groupBy', '?groupBy=user'],
    ['a huge parameter', `?tokenId=${'a'.repeat(5000)}`],
  ])('refuses %s with InvalidRequest', async (_label, query) => {
    const res = await admin.get(`/usage${query}`);
    expect([res.status, res.body.errors[0].reason]).toEqual([400, 'InvalidRequest']);
  });
});

describe('usage: false', () => {
  it('counts nothing, and GET /usage says it is off', async () => {
    const off = await openTestHost({ usage: false });
    try {
      const res = await request(off.app).get('/admin/udapi/usage').set(ADMIN);
      expect([res.status, res.body.errors[0].reason]).toEqual([404, 'NotFound']);
      expect(res.body.errors[0].message).toMatch(/usage option/);
      expect(internalsOf(off.t.udapi).usage).toBeNull();
    } finally {
      await off.close();
    }
  });
});

describe('three instances as processes', () => {
  const dbName = `udapi_w${process.env.JEST_WORKER_ID ?? '0'}_usage_${randomBytes(3).toString('hex')}`;
  const instances: Instance[] = [];

  beforeAll(() => ensureBuilt());
  afterAll(async () => {
    await Promise.all(instances.map((instance) => instance.stop()));
    const connection = await mongoose.createConnection(process.env.MONGODB_URI!, { dbName }).asPromise();
    await connection.dropDatabase();
    await connection.close();
  });

  it('count every concurrent call exactly once, written by close()', async () => {
    // Counts are written only at close(): an interval of an hour.
    for (let i = 0; i < 3; i++)
      instances.push(await startInstance({ DB_NAME: dbName, INSTANCE_ID: `usage-${i}`, USAGE_INTERVAL_MS: '3600000' }));
    const [first] = instances;
    const headers = { 'x-test-user': 'alice', 'content-type': 'application/json' };
    const created = await request(first!.url).post('/admin/udapi/tokens').set(headers).send({ name: 'many' });
    const secret = created.body.secret as string;
    const defined = await request(first!.url)
      .post('/admin/udapi/definitions')
      .set(headers)
      .send({ route: 'counted', actionMeta: { name: 'echo' }, securitySettings: { allowedTokens: [created.body.id] } });
    expect(defined.status).toBe(201);
    const perInstance = 150;
    await Promise.all(
      instances.map(async (instance) => {
        // Each instance may need its poll to see the new definition; calls before that are 404 and counted too.
        const until = Date.now() + 10_000;
        while (
          (await request(instance.url).get('/api/custom/counted').set('Authorization', `Bearer ${secret}`)).status !==
          200
        )
          if (Date.now() > until) throw new Error(`${instance.url} never served the definition`);
      }),
    );
    const before = await countsOf(first!.url, created.body.id as string);
    await Promise.all(
      instances.flatMap((instance) =>
        Array.from({ length: 10 }, async () => {
          for (let i = 0; i < perInstance / 10; i++) {
            const res = await request(instance.url).get('/api/custom/counted').set('Authorization', `Bearer ${secret}`);
            expect(res.status).toBe(200);
          }
        }),
      ),
    );
    // close() writes what each instance counted; a new instance reads the sum.
    await Promise.all(instances.splice(0).map((instance) => instance.stop()));
    instances.push(await startInstance({ DB_NAME: dbName, INSTANCE_ID: 'usage-reader' }));
    const after = await countsOf(instances[0]!.url, created.body.id as string);
    expect(before.ok).toBe(0); // nothing written before close()
    expect(after.ok - before.ok).toBeGreaterThanOrEqual(3 * perInstance + 3);
    const warmUp = after.clientErrors; // 404s while an instance had not seen the definition yet
    expect(after.ok).toBe(3 * perInstance + 3);
    expect(after.calls).toBe(after.ok + warmUp);
  }, 120_000);
});

async function countsOf(url: string, tokenId: string): Promise<{ calls: number; ok: number; clientErrors: number }> {
  const res = await request(url).get(`/admin/udapi/usage?tokenId=${tokenId}&bucket=minute`).set('x-test-user', 'alice');
  expect(res.status).toBe(200);
  return (res.body as UsageBody).totals;
}

interface UsageBody {
  totals: { calls: number; ok: number; clientErrors: number };
}
