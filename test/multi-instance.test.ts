// Two and three real app processes on one database: changes made on one are enforced by the others within 1 s.
import { randomBytes, randomUUID } from 'node:crypto';
import mongoose from 'mongoose';
import request from 'supertest';
import { settledWithin } from '../src/shared/settled-within';
import { ensureBuilt, startInstance, type Instance } from './helpers/instances';
import { itWithRedis, REDIS_URL } from './helpers/redis';
import { stallingProxy } from './helpers/stalling-proxy';

const ADMIN = { 'x-test-user': 'alice' };
const dbName = `udapi_w${process.env.JEST_WORKER_ID ?? '0'}_multi_${randomBytes(3).toString('hex')}`;
const instances: Instance[] = [];

async function start(count: number, env: Record<string, string> = {}): Promise<Instance[]> {
  const started = await Promise.all(
    Array.from({ length: count }, (_, i) =>
      startInstance({ DB_NAME: dbName, INSTANCE_ID: `node-${instances.length + i}`, ...env }),
    ),
  );
  instances.push(...started);
  return started;
}

beforeAll(() => {
  ensureBuilt();
});

/** Rejects, naming the step, when `step` takes longer than `ms`. */
async function within<T>(what: string, step: Promise<T>, ms: number): Promise<T> {
  if (!(await settledWithin(step, ms))) throw new Error(`${what} took more than ${ms} ms`);
  return step;
}

// Each step bounded and named: this hook once ran out of jest's 30 s in a fresh-clone run in which every test had
// passed (instances stop in under a second here), and the timeout did not say which step hung.
afterAll(async () => {
  await Promise.all(
    instances.map((instance) => within(`stopping the instance at ${instance.url}`, instance.stop(), 15_000)),
  );
  const connection = await within(
    'connecting to drop the database',
    mongoose.createConnection(process.env.MONGODB_URI!, { dbName }).asPromise(),
    10_000,
  );
  await within('dropping the database', connection.dropDatabase(), 10_000);
  await connection.close();
}, 60_000);

/** What a check saw on one instance: true when it holds, else a description of the answer that did not fit. */
type Observation = true | string;

/** Describes an endpoint answer for a timeout message: the status and, for the fixed error body, its code. */
function answer(res: request.Response): string {
  const code = (res.body as { errors?: { errorCode?: number }[] } | undefined)?.errors?.[0]?.errorCode;
  return code === undefined ? String(res.status) : `${res.status}/${code}`;
}

/** An observation from endpoint answers: true when each has its expected status, else what each one was. */
function expectStatuses(...pairs: [request.Response, number][]): Observation {
  return (
    pairs.every(([res, status]) => res.status === status) ||
    pairs.map(([res, status]) => `${answer(res)} (want ${status})`).join(', ')
  );
}

/**
 * Milliseconds until `check` holds on every instance; past `limitMs` it fails naming each pending instance and the
 * last answer it gave, so a timeout says whether a change did not arrive or something else answered.
 */
async function enforcedWithin(
  targets: Instance[],
  check: (instance: Instance) => Promise<Observation>,
  limitMs: number,
): Promise<number> {
  const started = Date.now();
  const pending = new Map(targets.map((instance) => [instance, 'not asked yet']));
  while (pending.size > 0) {
    if (Date.now() - started > limitMs) {
      const last = [...pending].map(([instance, seen]) => `${instance.url}: ${seen}`).join('; ');
      throw new Error(`not enforced on ${pending.size} instance(s) within ${limitMs} ms; last answers: ${last}`);
    }
    for (const instance of [...pending.keys()]) {
      const seen = await check(instance);
      if (seen === true) pending.delete(instance);
      else pending.set(instance, seen);
    }
    if (pending.size > 0) await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return Date.now() - started;
}

describe('three instances on one database', () => {
  let a: Instance;
  let b: Instance;
  let c: Instance;
  let tokenId: string;
  let secret: string;
  let definitionId: string;
  const route = `multi/${randomUUID().slice(0, 8)}`;
  const call = (instance: Instance, path = route, key = secret) =>
    request(instance.url).get(`/api/custom/${path}`).set('Authorization', `Bearer ${key}`);

  beforeAll(async () => {
    // These tests poll with secrets an instance does not accept yet (or any more) every ~20 ms: each such 401 would
    // count against the failed-auth throttle (30 a minute) and end in 429s. The throttle has its own test below.
    [a, b, c] = (await start(3, { FAILED_AUTH_THROTTLE: 'off' })) as [Instance, Instance, Instance];
    const token = await request(a.url).post('/admin/udapi/tokens').set(ADMIN).send({ name: 'shared' });
    tokenId = token.body.id;
    secret = token.body.secret;
    const definition = await request(a.url)
      .post('/admin/udapi/definitions')
      .set(ADMIN)
      .send({ route, actionMeta: { name: 'echo' }, securitySettings: { allowedTokens: [tokenId] } });
    definitionId = definition.body.id;
  }, 60_000);

  it('serves a token and definition created on one instance from the others within 1 s', async () => {
    expect((await call(a)).status).toBe(200);
    expect(
      await enforcedWithin([b, c], async (instance) => expectStatuses([await call(instance), 200]), 1000),
    ).toBeLessThan(1000);
  });

  it('enforces a disable made on one instance on the others within 1 s, and a re-enable', async () => {
    expect(
      (await request(a.url).patch(`/admin/udapi/tokens/${tokenId}`).set(ADMIN).send({ isDisabled: true })).status,
    ).toBe(200);
    expect((await call(a)).status).toBe(401);
    await enforcedWithin([b, c], async (instance) => expectStatuses([await call(instance), 401]), 1000);
    await request(b.url).patch(`/admin/udapi/tokens/${tokenId}`).set(ADMIN).send({ isDisabled: false });
    await enforcedWithin([a, b, c], async (instance) => expectStatuses([await call(instance), 200]), 1000);
  });

  it('enforces a rotation made on one instance on the others within 1 s', async () => {
    const rotated = await request(b.url).post(`/admin/udapi/tokens/${tokenId}/rotate`).set(ADMIN);
    const old = secret;
    secret = rotated.body.secret;
    await enforcedWithin(
      [a, b, c],
      async (instance) => expectStatuses([await call(instance, route, old), 401], [await call(instance), 200]),
      1000,
    );
  });

  it('keeps the previous secret working on every instance during a grace period, and on none after it', async () => {
    const graceEnd = Date.now() + 3000;
    const rotated = await request(c.url)
      .post(`/admin/udapi/tokens/${tokenId}/rotate`)
      .set(ADMIN)
      .send({ previousSecretExpiresAt: new Date(graceEnd).toISOString() });
    expect(rotated.status).toBe(200);
    const old = secret;
    secret = rotated.body.secret;
    await enforcedWithin([a, b, c], async (instance) => expectStatuses([await call(instance), 200]), 1000);
    for (const instance of [a, b, c]) expect((await call(instance, route, old)).status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, graceEnd - Date.now())));
    // No write happens at the end of a grace period: each instance refuses by the clock alone.
    for (const instance of [a, b, c]) {
      const refused = await call(instance, route, old);
      expect([refused.status, refused.body.errors[0].errorCode]).toEqual([401, 1010]);
      expect((await call(instance)).status).toBe(200);
    }
  });

  it('ends a grace period early on every instance within 1 s', async () => {
    const rotated = await request(a.url)
      .post(`/admin/udapi/tokens/${tokenId}/rotate`)
      .set(ADMIN)
      .send({ previousSecretExpiresAt: new Date(Date.now() + 3_600_000).toISOString() });
    const old = secret;
    secret = rotated.body.secret;
    await enforcedWithin(
      [a, b, c],
      async (instance) => expectStatuses([await call(instance), 200], [await call(instance, route, old), 200]),
      1000,
    );
    const ended = await request(b.url)
      .patch(`/admin/udapi/tokens/${tokenId}`)
      .set(ADMIN)
      .send({ previousSecretExpiresAt: null });
    expect([ended.status, ended.body.previousSecretExpiresAt]).toEqual([200, null]);
    await enforcedWithin(
      [a, b, c],
      async (instance) => expectStatuses([await call(instance, route, old), 401], [await call(instance), 200]),
      1000,
    );
  });

  it('applies a route change made on one instance on the others within 1 s', async () => {
    const moved = `${route}/v2`;
    expect(
      (await request(c.url).patch(`/admin/udapi/definitions/${definitionId}`).set(ADMIN).send({ route: moved })).status,
    ).toBe(200);
    await enforcedWithin(
      [a, b, c],
      async (instance) => expectStatuses([await call(instance, moved), 200], [await call(instance), 404]),
      1000,
    );
  });

  it('enforces deletes made on one instance on the others within 1 s', async () => {
    expect((await request(a.url).delete(`/admin/udapi/definitions/${definitionId}`).set(ADMIN)).status).toBe(204);
    expect((await request(a.url).delete(`/admin/udapi/tokens/${tokenId}`).set(ADMIN)).status).toBe(204);
    await enforcedWithin(
      [a, b, c],
      async (instance) => expectStatuses([await call(instance, `${route}/v2`), 401]),
      1000,
    );
  });
});

describe('rate limits across two instances', () => {
  async function limitedToken(instance: Instance, limit: number): Promise<{ secret: string; path: string }> {
    const path = `limited/${randomUUID().slice(0, 8)}`;
    const token = await request(instance.url)
      .post('/admin/udapi/tokens')
      .set(ADMIN)
      .send({ name: 'limited', rateLimit: { limit, windowSeconds: 60 } });
    await request(instance.url)
      .post('/admin/udapi/definitions')
      .set(ADMIN)
      .send({ route: path, actionMeta: { name: 'echo' }, securitySettings: { allowedTokens: [token.body.id] } });
    return { secret: token.body.secret, path };
  }

  const hit = (instance: Instance, path: string, secret: string) =>
    request(instance.url).get(`/api/custom/${path}`).set('Authorization', `Bearer ${secret}`);

  itWithRedis(
    'holds one limit across instances with the Redis store',
    async () => {
      const [x, y] = (await start(2, { REDIS_URL, REDIS_PREFIX: `udapi-test:${randomUUID()}:` })) as [
        Instance,
        Instance,
      ];
      const { secret, path } = await limitedToken(x, 4);
      // Give y the time to learn about the token (changes reach it within 1 s) without spending the limit.
      await new Promise((resolve) => setTimeout(resolve, 1000));
      const statuses: number[] = [];
      statuses.push((await hit(x, path, secret)).status, (await hit(x, path, secret)).status);
      statuses.push((await hit(y, path, secret)).status, (await hit(y, path, secret)).status);
      expect(statuses).toEqual([200, 200, 200, 200]);
      const fifth = await hit(y, path, secret);
      expect(fifth.status).toBe(429);
      expect(fifth.body.errors[0].errorCode).toBe(1014);
      expect((await hit(x, path, secret)).status).toBe(429);
    },
    30_000,
  );

  it('counts per instance with the default memory store', async () => {
    const [x, y] = (await start(2)) as [Instance, Instance];
    const { secret, path } = await limitedToken(x, 2);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const onX = [
      (await hit(x, path, secret)).status,
      (await hit(x, path, secret)).status,
      (await hit(x, path, secret)).status,
    ];
    const onY = [
      (await hit(y, path, secret)).status,
      (await hit(y, path, secret)).status,
      (await hit(y, path, secret)).status,
    ];
    expect(onX).toEqual([200, 200, 429]);
    expect(onY).toEqual([200, 200, 429]);
  }, 30_000);
});

describe('the failed-auth throttle across two instances', () => {
  it("refuses an address's failures after its limit on the instance that counted them (memory store)", async () => {
    const [x, y] = (await start(2, { FAILED_AUTH_THROTTLE: '5/60' })) as [Instance, Instance];
    const unknown = `${'u'.repeat(40)}${randomBytes(4).toString('hex')}`;
    const knock = (instance: Instance) =>
      request(instance.url).get('/api/custom/anything').set('Authorization', `Bearer ${unknown}`);
    const onX: string[] = [];
    for (let i = 0; i < 6; i += 1) onX.push(answer(await knock(x)));
    expect(onX).toEqual(['401/1010', '401/1010', '401/1010', '401/1010', '401/1010', '429/2003']);
    // Without a shared store each instance counts its own failures.
    expect(answer(await knock(y))).toBe('401/1010');
  }, 30_000);

  itWithRedis(
    'shares one budget per address across instances through the Redis store, and still serves valid secrets',
    async () => {
      const [x, y] = (await start(2, {
        FAILED_AUTH_THROTTLE: '5/60',
        REDIS_URL,
        REDIS_PREFIX: `udapi-test:${randomUUID()}:`,
      })) as [Instance, Instance];
      const token = await request(x.url).post('/admin/udapi/tokens').set(ADMIN).send({ name: 'behind-one-address' });
      const path = `throttle/${randomUUID().slice(0, 8)}`;
      await request(x.url)
        .post('/admin/udapi/definitions')
        .set(ADMIN)
        .send({ route: path, actionMeta: { name: 'echo' }, securitySettings: { allowedTokens: [token.body.id] } });
      // Wait for y to know the token by asking explain, which counts nothing: a call y refused would spend the budget.
      await enforcedWithin(
        [y],
        async (instance) => {
          const verdict = (
            await request(instance.url)
              .post('/admin/udapi/explain')
              .set(ADMIN)
              .send({ secret: token.body.secret, method: 'GET', path })
          ).body.verdict as string;
          return verdict === 'allowed' || `explain: ${verdict}`;
        },
        1000,
      );
      const unknown = `${'v'.repeat(40)}${randomBytes(4).toString('hex')}`;
      const knock = (instance: Instance, secret = unknown) =>
        request(instance.url).get(`/api/custom/${path}`).set('Authorization', `Bearer ${secret}`);
      const seen = [
        answer(await knock(x)),
        answer(await knock(y)),
        answer(await knock(x)),
        answer(await knock(y)),
        answer(await knock(x)),
        answer(await knock(y)),
      ];
      expect(seen).toEqual(['401/1010', '401/1010', '401/1010', '401/1010', '401/1010', '429/2003']);
      expect(answer(await knock(x))).toBe('429/2003');
      // The consumers at that address are not locked out.
      expect(answer(await knock(x, token.body.secret))).toBe('200');
      expect(answer(await knock(y, token.body.secret))).toBe('200');
    },
    30_000,
  );
});

describe('last use across two instances', () => {
  it("shows a call made on one instance in the other one's lists within a few intervals", async () => {
    // y is polled with a secret it does not know yet: no throttle, or those 401s could end in 429s.
    const [x, y] = (await start(2, { LAST_USED_INTERVAL_MS: '200', FAILED_AUTH_THROTTLE: 'off' })) as [
      Instance,
      Instance,
    ];
    const path = `used/${randomUUID().slice(0, 8)}`;
    const token = await request(x.url).post('/admin/udapi/tokens').set(ADMIN).send({ name: 'used-elsewhere' });
    await request(x.url)
      .post('/admin/udapi/definitions')
      .set(ADMIN)
      .send({ route: path, actionMeta: { name: 'echo' }, securitySettings: { allowedTokens: [token.body.id] } });
    const listed = async () =>
      (await request(x.url).get(`/admin/udapi/tokens?ids=${token.body.id}`).set(ADMIN)).body.items[0].lastUsedAt as
        string | null;
    expect(await listed()).toBeNull();
    await enforcedWithin(
      [y],
      async (instance) =>
        expectStatuses([
          await request(instance.url).get(`/api/custom/${path}`).set('Authorization', `Bearer ${token.body.secret}`),
          200,
        ]),
      1000,
    );
    const calledAt = Date.now();
    const waited = await enforcedWithin([x], async () => (await listed()) !== null || 'lastUsedAt still null', 2000);
    expect(Date.parse((await listed())!)).toBeLessThanOrEqual(calledAt);
    expect(waited).toBeLessThan(2000);
    const unused = await request(x.url)
      .get(`/admin/udapi/tokens/count?ids=${token.body.id}&unusedSince=${new Date(calledAt - 60_000).toISOString()}`)
      .set(ADMIN);
    expect(unused.body.count).toBe(0);
  }, 30_000);
});

describe('an instance cut off from the change log', () => {
  // The instance's database traffic goes through a proxy that stalls: its polls hang without failing, and its
  // health ping (every minute here) cannot tell. The lag rule alone must stop it serving a view that may miss a
  // revocation, and let it serve again once the polls get through.
  it('fails closed with 503/7 once its view is older than maxViewLagMs, and serves again when polls resume', async () => {
    const proxy = await stallingProxy();
    try {
      const [writer] = await start(1);
      const [cutOff] = await start(1, {
        MONGODB_URI: proxy.uri,
        HEALTH_CHECK_INTERVAL_MS: '60000',
        MAX_VIEW_LAG_MS: '1000',
      });
      const path = `lag/${randomUUID().slice(0, 8)}`;
      const token = await request(writer!.url).post('/admin/udapi/tokens').set(ADMIN).send({ name: 'lag' });
      await request(writer!.url)
        .post('/admin/udapi/definitions')
        .set(ADMIN)
        .send({ route: path, actionMeta: { name: 'echo' }, securitySettings: { allowedTokens: [token.body.id] } });
      const call = (instance: Instance) =>
        request(instance.url).get(`/api/custom/${path}`).set('Authorization', `Bearer ${token.body.secret}`);
      await enforcedWithin([cutOff!], async (instance) => expectStatuses([await call(instance), 200]), 2000);

      proxy.stall();
      const stalledAt = Date.now();
      const failedClosedAfter = await enforcedWithin(
        [cutOff!],
        async (instance) => {
          const res = await call(instance);
          return (res.status === 503 && res.body.errors[0].errorCode === 7) || answer(res);
        },
        3000,
      );
      // Not before the bound: a call waits for the poll under way until that poll is a second old (the lag may be
      // this process's own, a busy event loop), and fails closed only then; a poll interval of lag costs nothing.
      expect(Date.now() - stalledAt).toBeGreaterThanOrEqual(900);
      expect(failedClosedAfter).toBeLessThan(3000);

      proxy.resume();
      await enforcedWithin([cutOff!], async (instance) => expectStatuses([await call(instance), 200]), 5000);
    } finally {
      proxy.close();
    }
  }, 60_000);
});

describe('change hints through Redis', () => {
  // The poll timer is 10 s here, so only the hint can bring a change to the other instance within a second.
  itWithRedis(
    'applies a change on the other instance within about a round trip of the hint, every time',
    async () => {
      const env = {
        REDIS_URL,
        CHANGE_HINTS: `udapi-test:${randomUUID()}`,
        CHANGE_POLL_INTERVAL_MS: '10000',
        FAILED_AUTH_THROTTLE: 'off',
      };
      const [a, b] = (await start(2, env)) as [Instance, Instance];
      const path = `hinted/${randomUUID().slice(0, 8)}`;
      const token = await request(a.url).post('/admin/udapi/tokens').set(ADMIN).send({ name: 'hinted' });
      await request(a.url)
        .post('/admin/udapi/definitions')
        .set(ADMIN)
        .send({ route: path, actionMeta: { name: 'echo' }, securitySettings: { allowedTokens: [token.body.id] } });
      const call = (instance: Instance) =>
        request(instance.url).get(`/api/custom/${path}`).set('Authorization', `Bearer ${token.body.secret}`);
      await enforcedWithin([b], async (instance) => expectStatuses([await call(instance), 200]), 1000);
      const times: number[] = [];
      for (let trial = 0; trial < 5; trial += 1) {
        const isDisabled = trial % 2 === 0;
        const patched = await request(a.url)
          .patch(`/admin/udapi/tokens/${token.body.id}`)
          .set(ADMIN)
          .send({ isDisabled });
        expect(patched.status).toBe(200);
        times.push(
          await enforcedWithin(
            [b],
            async (instance) => expectStatuses([await call(instance), isDisabled ? 401 : 200]),
            1000,
          ),
        );
      }
      expect(Math.max(...times)).toBeLessThan(1000);
    },
    60_000,
  );
});
