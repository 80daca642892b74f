// POST /explain: every verdict in the endpoint's order, agreeing with real calls, without counting, echoing or leaking.
import { randomBytes, randomUUID } from 'node:crypto';
import express, { type Express } from 'express';
import Redis from 'ioredis';
import request from 'supertest';
import { createRedisRateLimitStore } from '../src';
import { ADMIN, createTestApp, userWith, type TestApp } from './helpers/app';
import { openTestDb, type TestDb } from './helpers/db';
import { itWithRedis, REDIS_URL } from './helpers/redis';

let db: TestDb;
let t: TestApp;
let app: Express;
let redis: Redis | undefined;
const prefix = `x${randomUUID().slice(0, 8)}`;

function host(testApp: TestApp): Express {
  const server = express();
  server.use('/admin/udapi', testApp.udapi.adminRouter());
  server.use('/api/custom', testApp.udapi.endpoint());
  return server;
}

beforeAll(async () => {
  db = await openTestDb();
  t = await createTestApp(db);
  t.udapi.registerHandler('explain.only-here', () => ({ responseCode: 200 }));
  app = host(t);
});

afterAll(async () => {
  redis?.disconnect();
  await t?.udapi.close();
  await db?.drop();
});

const admin = (target: Express = app) => ({
  post: (path: string, body: object, headers: Record<string, string> = ADMIN) =>
    request(target).post(`/admin/udapi${path}`).set(headers).send(body),
  patch: (path: string, body: object) => request(target).patch(`/admin/udapi${path}`).set(ADMIN).send(body),
});

async function token(body: object = {}): Promise<{ id: string; secret: string }> {
  const res = await admin().post('/tokens', { name: `explain-${randomUUID().slice(0, 6)}`, ...body });
  expect(res.status).toBe(201);
  return res.body as { id: string; secret: string };
}

async function define(route: string, allowed: string[], action = 'test.echo'): Promise<string> {
  const res = await admin().post('/definitions', {
    route,
    actionMeta: { name: action },
    securitySettings: { allowedTokens: allowed },
  });
  expect(res.status).toBe(201);
  return res.body.id as string;
}

const explain = (body: object, headers: Record<string, string> = ADMIN, target: Express = app) =>
  admin(target).post('/explain', body, headers);
const call = (method: string, path: string, secret: string, target: Express = app) =>
  request(target)[method.toLowerCase() as 'get'](path).set('Authorization', `Bearer ${secret}`);

describe('POST /explain', () => {
  it('gives the verdict, status and code a real call gets, for every kind of refusal', async () => {
    const good = await token();
    const disabled = await token({ isDisabled: true });
    const expired = await token({ expiresAt: '2020-01-01T00:00:00Z' });
    const outsider = await token();
    const definitionId = await define(`${prefix}/items/{id}`, [good.id, disabled.id, expired.id]);
    const cases: [string, string, string, string, number, number | null][] = [
      ['allowed', good.secret, 'GET', `/api/custom/${prefix}/items/7`, 200, null],
      ['allowed', good.secret, 'post', `${prefix.toUpperCase()}/ITEMS/7`, 200, null],
      ['methodNotAllowed', good.secret, 'OPTIONS', `/api/custom/${prefix}/items/7`, 405, 3],
      ['emptyRoute', good.secret, 'GET', '/api/custom/', 400, 1],
      ['unknownSecret', randomBytes(32).toString('base64'), 'GET', `/api/custom/${prefix}/items/7`, 401, 1010],
      ['disabled', disabled.secret, 'GET', `/api/custom/${prefix}/items/7`, 401, 1010],
      ['expired', expired.secret, 'GET', `/api/custom/${prefix}/items/7`, 401, 1010],
      ['noDefinition', good.secret, 'GET', `/api/custom/${prefix}/nothing`, 404, 5],
      ['notAllowed', outsider.secret, 'GET', `/api/custom/${prefix}/items/7`, 401, 1010],
    ];
    for (const [verdict, secret, method, path, status, errorCode] of cases) {
      const res = await explain({ secret, method, path });
      expect({ verdict, response: res.status }).toEqual({ verdict, response: 200 });
      expect(res.body).toMatchObject({ verdict, status, errorCode, explanation: expect.any(String) });
      expect(JSON.stringify(res.body)).not.toContain(secret);
      // The endpoint agrees (methods the endpoint refuses are checked with a request of that method).
      if (method !== 'OPTIONS') {
        const real = await call(method, path.startsWith('/') ? path : `/api/custom/${path}`, secret);
        expect({ verdict, status: real.status }).toEqual({ verdict, status });
      }
    }
    const allowed = await explain({ secret: good.secret, method: 'GET', path: `${prefix}/items/1` });
    expect(allowed.body).toMatchObject({
      token: { id: good.id },
      definition: { id: definitionId, route: `${prefix}/items/{id}` },
      rateLimitChecked: true,
    });
    const unknown = await explain({ secret: 'x'.repeat(44), method: 'GET', path: `${prefix}/items/1` });
    expect(unknown.body.token).toBeNull(); // nothing about any token
    expect(unknown.body.rateLimitChecked).toBe(false); // the checks ended before the rate limit
  });

  it('reports an action that is not registered on this instance', async () => {
    const good = await token();
    await define(`${prefix}/only-here`, [good.id], 'explain.only-here');
    const other = await createTestApp(db); // registers the common test actions, not explain.only-here
    try {
      const res = await explain(
        { secret: good.secret, method: 'GET', path: `${prefix}/only-here` },
        ADMIN,
        host(other),
      );
      expect(res.body).toMatchObject({ verdict: 'actionMissing', status: 500, errorCode: 15 });
      expect(res.body.explanation).toContain("'explain.only-here'");
    } finally {
      await other.udapi.close();
    }
  });

  it('says a token is rate-limited without counting the question', async () => {
    const limited = await token({ rateLimit: { limit: 2, windowSeconds: 60 } });
    await define(`${prefix}/limited`, [limited.id]);
    const question = { secret: limited.secret, method: 'GET', path: `${prefix}/limited` };
    for (let i = 0; i < 5; i += 1) expect((await explain(question)).body.verdict).toBe('allowed');
    expect((await call('GET', `/api/custom/${prefix}/limited`, limited.secret)).status).toBe(200);
    expect((await call('GET', `/api/custom/${prefix}/limited`, limited.secret)).status).toBe(200);
    const res = await explain(question);
    expect(res.body).toMatchObject({ verdict: 'rateLimited', status: 429, errorCode: 1014, rateLimitChecked: true });
    expect((await call('GET', `/api/custom/${prefix}/limited`, limited.secret)).status).toBe(429);
  });

  itWithRedis('peeks at the shared Redis store too', async () => {
    redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
    await redis.connect();
    const shared = await createTestApp(db, {
      rateLimitStore: createRedisRateLimitStore(redis, { prefix: `${prefix}:` }),
    });
    try {
      const target = host(shared);
      const res = await request(target)
        .post('/admin/udapi/tokens')
        .set(ADMIN)
        .send({ name: 'redis-limited', rateLimit: { limit: 1, windowSeconds: 60 } });
      const limited = res.body as { id: string; secret: string };
      expect(
        (
          await request(target)
            .post('/admin/udapi/definitions')
            .set(ADMIN)
            .send({
              route: `${prefix}/redis`,
              actionMeta: { name: 'test.echo' },
              securitySettings: { allowedTokens: [limited.id] },
            })
        ).status,
      ).toBe(201);
      const question = { secret: limited.secret, method: 'GET', path: `${prefix}/redis` };
      expect((await explain(question, ADMIN, target)).body.verdict).toBe('allowed');
      expect((await call('GET', `/api/custom/${prefix}/redis`, limited.secret, target)).status).toBe(200);
      expect((await explain(question, ADMIN, target)).body).toMatchObject({ verdict: 'rateLimited', errorCode: 1014 });
    } finally {
      await shared.udapi.close();
    }
  });

  it('needs the token CreateUpdate permission, shows the definition only to those who may read it, and checks its body', async () => {
    const good = await token();
    await define(`${prefix}/perm`, [good.id]);
    const question = { secret: good.secret, method: 'GET', path: `${prefix}/perm` };
    const viewer = await explain(question, userWith('UserDefinableApiTokenRead', 'UserDefinableApiDefinitionRead'));
    expect(viewer.status).toBe(403);
    expect(viewer.body.errors[0]).toMatchObject({
      reason: 'MissingPermission',
      permission: 'UserDefinableApiTokenCreateUpdate',
    });
    const tokenAdmin = await explain(question, userWith('UserDefinableApiTokenCreateUpdate'));
    expect(tokenAdmin.body).toMatchObject({ verdict: 'allowed', definition: null });
    // Nothing about a definition in the text either: not its route, not its action, for any verdict that has one.
    const other = await token();
    const asked = [
      tokenAdmin,
      await explain({ ...question, secret: other.secret }, userWith('UserDefinableApiTokenCreateUpdate')),
    ];
    expect(asked.map((res) => res.body.verdict as string)).toEqual(['allowed', 'notAllowed']);
    for (const res of asked) {
      expect(res.body.explanation).not.toContain(`${prefix}/perm`);
      expect(res.body.explanation).not.toContain('test.echo');
    }
    const withDefinitions = await explain(
      { ...question, secret: other.secret },
      userWith('UserDefinableApiTokenCreateUpdate', 'UserDefinableApiDefinitionRead'),
    );
    expect(withDefinitions.body.explanation).toContain(`${prefix}/perm`);
    const bad: [object, string][] = [
      [{ method: 'GET', path: 'x' }, 'InvalidSecret'],
      [{ ...question, secret: { $gt: '' } }, 'InvalidSecret'],
      [{ ...question, extra: 1 }, 'InvalidRequest'],
      [{ ...question, method: '' }, 'InvalidRequest'],
    ];
    for (const [body, reason] of bad) {
      const res = await explain(body);
      expect({ body, status: res.status, reason: res.body.errors[0].reason }).toEqual({ body, status: 400, reason });
    }
    // The manager log records who asked and the verdict, never the secret.
    const logged = t.logs.filter((line) => String(line.msg).startsWith('Explained a call'));
    expect(logged.length).toBeGreaterThan(5);
    expect(JSON.stringify(t.logs)).not.toContain(good.secret);
  });
});
