// requireToken() and verify(): the host's own routes protected by the same tokens, over real HTTP on the real database.
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import express, { type ErrorRequestHandler, type Express } from 'express';
import * as promClient from 'prom-client';
import request from 'supertest';
import { createUserDefinedApis, OptionsError, UserDefinedApisError, type UserDefinedApis } from '../src';
import { internalsOf } from '../src/plugin';
import { ADMIN, createTestApp, TEST_PEPPER, type TestApp } from './helpers/app';
import { openTestDb, type TestDb } from './helpers/db';

let db: TestDb;
let t: TestApp;
let host: Express;
const handed: unknown[] = [];

/** The host's own routes: what each answers is what requireToken let through. */
function hostApp(udapi: UserDefinedApis): Express {
  const app = express();
  const show: express.RequestHandler = (req, res) => {
    res.json({ udapi: req.udapi });
  };
  app.get('/reports', udapi.requireToken(), show);
  app.get('/scoped', udapi.requireToken({ scopes: ['reports:read', 'reports:write'] }), show);
  app.get(
    '/named',
    udapi.requireToken({
      allow: (token, req) => Promise.resolve(token.name.startsWith(String(req.query.prefix as string))),
    }),
    show,
  );
  app.get(
    '/throws',
    udapi.requireToken({
      allow: () => {
        throw new Error('the predicate failed');
      },
    }),
    show,
  );
  app.get('/query', udapi.requireToken({ queryParameter: 'access_token' }), show);
  app.get(
    '/next-named',
    udapi.requireToken({
      onRefusal: 'next',
      allow: (token, req) => token.name.startsWith(String(req.query.prefix as string)),
    }),
    show,
  );
  app.get('/next', udapi.requireToken({ onRefusal: 'next' }), show);
  app.get(
    '/custom',
    udapi.requireToken({
      onRefusal: (refusal, _req, res) => {
        res.status(refusal.status).json({ problem: refusal.code });
      },
    }),
    show,
  );
  app.use('/api/custom', udapi.endpoint());
  const errors: ErrorRequestHandler = (error: unknown, req, res, _next) => {
    if (error instanceof UserDefinedApisError) Object.assign(error, { udapiOnRequest: req.udapi !== undefined });
    handed.push(error);
    res.status(error instanceof UserDefinedApisError ? error.status : 500).json({ handled: true });
  };
  app.use(errors);
  return app;
}

beforeAll(async () => {
  db = await openTestDb();
  t = await createTestApp(db, { failedAuthThrottle: { limit: 100_000, windowSeconds: 60 } });
  host = hostApp(t.udapi);
});

afterAll(async () => {
  await t?.udapi.close();
  await db?.drop();
});

async function newToken(body: object = {}): Promise<{ id: string; secret: string; name: string }> {
  const res = await request(t.app)
    .post('/admin/udapi/tokens')
    .set(ADMIN)
    .send({ name: `host-${randomUUID().slice(0, 8)}`, ...body });
  expect(res.status).toBe(201);
  return res.body as { id: string; secret: string; name: string };
}

const get = (app: Express, path: string, secret?: string) => {
  const req = request(app).get(path);
  return secret === undefined ? req : req.set('Authorization', `Bearer ${secret}`);
};

function expectRefusal(
  res: request.Response,
  status: number,
  errorCode: number,
  authenticate: string | undefined,
): void {
  expect({ status: res.status, authenticate: res.headers['www-authenticate'] }).toEqual({ status, authenticate });
  expect(res.body).toEqual({
    errors: [{ title: expect.any(String), detail: expect.any(String), errorCode, faultingNode: 'test-node' }],
  });
}

const INVALID_TOKEN = 'Bearer error="invalid_token"';

describe('requireToken()', () => {
  it("lets a valid secret through with the token's id, name, scopes and metadata, and notes its use", async () => {
    const token = await newToken();
    const res = await get(host, '/reports', token.secret);
    expect(res.status).toBe(200);
    expect(res.body.udapi).toEqual({
      token: { id: token.id, name: token.name, scopes: [], metadata: null },
      requestId: expect.any(String),
    });
    await internalsOf(t.udapi).lastUse.flush();
    const shown = await request(t.app).get(`/admin/udapi/tokens/${token.id}`).set(ADMIN);
    expect(shown.body.lastUsedAt).not.toBeNull();
  });

  it('refuses a request without a Bearer header with 401 and a bare challenge, as the endpoint does (1008)', async () => {
    expectRefusal(await get(host, '/reports'), 401, 1008, 'Bearer');
    const basic = await request(host).get('/reports').set('Authorization', 'Basic dXNlcjpwYXNz');
    expectRefusal(basic, 401, 1008, 'Bearer');
  });

  it('refuses unknown, disabled and expired secrets and a rotated-out one after its grace period alike (401 invalid_token)', async () => {
    expectRefusal(await get(host, '/reports', 'x'.repeat(44)), 401, 1010, INVALID_TOKEN);
    const disabled = await newToken({ isDisabled: true });
    expectRefusal(await get(host, '/reports', disabled.secret), 401, 1010, INVALID_TOKEN);
    const expired = await newToken({ expiresAt: new Date(Date.now() - 60_000).toISOString() });
    expectRefusal(await get(host, '/reports', expired.secret), 401, 1010, INVALID_TOKEN);

    const rotating = await newToken();
    const graceEnd = Date.now() + 1500;
    const rotated = await request(t.app)
      .post(`/admin/udapi/tokens/${rotating.id}/rotate`)
      .set(ADMIN)
      .send({ previousSecretExpiresAt: new Date(graceEnd).toISOString() });
    expect(rotated.status).toBe(200);
    expect((await get(host, '/reports', rotating.secret)).status).toBe(200);
    expect((await get(host, '/reports', rotated.body.secret as string)).status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, graceEnd - Date.now() + 20));
    expectRefusal(await get(host, '/reports', rotating.secret), 401, 1010, INVALID_TOKEN);
    expect((await get(host, '/reports', rotated.body.secret as string)).status).toBe(200);
  });

  it('refuses a token without the required scopes with 403 insufficient_scope naming them (2005)', async () => {
    const token = await newToken();
    expectRefusal(
      await get(host, '/scoped', token.secret),
      403,
      2005,
      'Bearer error="insufficient_scope", scope="reports:read reports:write"',
    );
  });

  it('lets a token with every required scope through, and shows its scopes and metadata', async () => {
    const token = await newToken({
      scopes: ['reports:read', 'reports:write', 'admin'],
      metadata: { plan: 'pro', seats: 3 },
    });
    const res = await get(host, '/scoped', token.secret);
    expect(res.status).toBe(200);
    expect(res.body.udapi.token).toEqual({
      id: token.id,
      name: token.name,
      scopes: ['reports:read', 'reports:write', 'admin'],
      metadata: { plan: 'pro', seats: 3 },
    });
    const partial = await newToken({ scopes: ['reports:read'] });
    expect((await get(host, '/scoped', partial.secret)).status).toBe(403);
    expect(await t.udapi.verify(token.secret, { scopes: ['admin'] })).toMatchObject({ valid: true });
    // A scope removed by an admin is enforced at once on this instance.
    const patched = await request(t.app)
      .patch(`/admin/udapi/tokens/${token.id}`)
      .set(ADMIN)
      .send({ scopes: ['reports:read'] });
    expect(patched.status).toBe(200);
    expect((await get(host, '/scoped', token.secret)).status).toBe(403);
  });

  it('refuses what the allow predicate refuses with 403, and hands a predicate that throws to the error handler', async () => {
    const token = await newToken();
    const prefix = token.name.slice(0, 5);
    expect((await get(host, `/named?prefix=${prefix}`, token.secret)).status).toBe(200);
    expectRefusal(
      await get(host, '/named?prefix=nobody', token.secret),
      403,
      2005,
      'Bearer error="insufficient_scope"',
    );
    handed.length = 0;
    const thrown = await get(host, '/throws', token.secret);
    expect(thrown.status).toBe(500);
    expect(handed).toEqual([new Error('the predicate failed')]);
  });

  it("counts against the token's rate limit, and answers 429 with Retry-After (1014)", async () => {
    const token = await newToken({ rateLimit: { limit: 2, windowSeconds: 60 } });
    expect((await get(host, '/reports', token.secret)).status).toBe(200);
    expect((await get(host, '/reports', token.secret)).status).toBe(200);
    const limited = await get(host, '/reports', token.secret);
    expectRefusal(limited, 429, 1014, undefined);
    expect(Number(limited.headers['retry-after'])).toBeGreaterThanOrEqual(1);
  });

  it('says the rate limit in RateLimit-Policy and RateLimit headers, on the endpoint too, as the window slides', async () => {
    const token = await newToken({ rateLimit: { limit: 3, windowSeconds: 2 } });
    const route = `limited/${randomUUID().slice(0, 8)}`;
    const defined = await request(t.app)
      .post('/admin/udapi/definitions')
      .set(ADMIN)
      .send({ route, actionMeta: { name: 'test.echo' }, securitySettings: { allowedTokens: [token.id] } });
    expect(defined.status).toBe(201);
    const headers = (res: request.Response) => [res.status, res.headers['ratelimit-policy'], res.headers.ratelimit];
    const first = Date.now();
    expect(headers(await get(host, '/reports', token.secret))).toEqual([200, '"token";q=3;w=2', '"token";r=2;t=2']);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    // t: until the oldest counted call (the first, a second ago) leaves the window.
    expect(headers(await get(host, `/api/custom/${route}`, token.secret))).toEqual([
      200,
      '"token";q=3;w=2',
      '"token";r=1;t=1',
    ]);
    expect(headers(await get(host, '/reports', token.secret))).toEqual([200, '"token";q=3;w=2', '"token";r=0;t=1']);
    const refused = await get(host, `/api/custom/${route}`, token.secret);
    expect(headers(refused)).toEqual([429, '"token";q=3;w=2', '"token";r=0;t=1']);
    expect(refused.headers['retry-after']).toBe('1');
    // The window slides: once the first call is 2 s old, one more fits, and the next to leave is a second away.
    await new Promise((resolve) => setTimeout(resolve, first + 2050 - Date.now()));
    expect(headers(await get(host, '/reports', token.secret))).toEqual([
      200,
      '"token";q=3;w=2',
      expect.stringMatching(/^"token";r=0;t=[12]$/),
    ]);
    // A token without a rate limit gets neither header; nor does a token the API does not allow (its 401 must
    // look like an unknown secret's).
    const unlimited = await newToken();
    expect(headers(await get(host, '/reports', unlimited.secret))).toEqual([200, undefined, undefined]);
    const stranger = await newToken({ rateLimit: { limit: 3, windowSeconds: 60 } });
    expect(headers(await get(host, `/api/custom/${route}`, stranger.secret))).toEqual([401, undefined, undefined]);
  });

  it('takes the secret from the query parameter only where enabled, and the header first', async () => {
    const token = await newToken();
    const viaQuery = await request(host).get(`/query?access_token=${encodeURIComponent(token.secret)}`);
    expect(viaQuery.status).toBe(200);
    expect(viaQuery.body.udapi.token.id).toBe(token.id);
    expectRefusal(
      await request(host).get(`/reports?access_token=${encodeURIComponent(token.secret)}`),
      401,
      1008,
      'Bearer',
    );
    const headerWins = await get(host, `/query?access_token=${encodeURIComponent(token.secret)}`, 'y'.repeat(44));
    expectRefusal(headerWins, 401, 1010, INVALID_TOKEN);
    // The secret in the URL never reaches the log line of the refusal (the leak scanner checks every line too).
    const refusedQuery = await request(host).get(`/query?access_token=${'z'.repeat(44)}`);
    expect(refusedQuery.status).toBe(401);
    expect(t.logs.some((line) => JSON.stringify(line).includes('z'.repeat(44)))).toBe(false);
  });

  it("hands refusals to the host's error handler or the host's function when asked", async () => {
    handed.length = 0;
    const res = await get(host, '/next', 'x'.repeat(44));
    expect(res.status).toBe(401);
    expect(res.body).toEqual({ handled: true });
    expect(handed).toHaveLength(1);
    const [refusal] = handed as UserDefinedApisError[];
    expect(refusal).toBeInstanceOf(UserDefinedApisError);
    expect(refusal).toMatchObject({
      status: 401,
      code: 'AuthenticationFailed',
      errorCode: 1010,
      headers: { 'WWW-Authenticate': INVALID_TOKEN },
    });
    const custom = await get(host, '/custom');
    expect({ status: custom.status, body: custom.body }).toEqual({
      status: 401,
      body: { problem: 'AuthenticationHeaderInvalid' },
    });
    // A refusal handed on carries no token on the request, even when a valid token was refused by allow.
    handed.length = 0;
    const token = await newToken();
    const refusedByAllow = await get(host, '/next-named?prefix=nobody', token.secret);
    expect(refusedByAllow.status).toBe(403);
    expect(handed).toEqual([expect.objectContaining({ code: 'InsufficientScope', udapiOnRequest: false })]);
  });

  it('logs each refusal once, with the path and status but no secret or query string', async () => {
    const before = t.logs.length;
    await get(host, '/reports?page=2', 'x'.repeat(44));
    const lines = t.logs.slice(before).filter((line) => String(line.msg).includes('host route'));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      level: 'info',
      msg: "Refused a call to the host route '/reports': 401 (Token ID: none)",
      obj: { path: '/reports', status: 401, tokenId: null },
    });
  });

  it("sets req.udapi as an own property on a request that is not Express's (Node's server, no res.locals)", async () => {
    const token = await newToken();
    const guard = t.udapi.requireToken();
    const server = http.createServer((req, res) => {
      guard(req as express.Request, res as express.Response, (error?: unknown) => {
        const udapi = (req as express.Request).udapi;
        res.setHeader('content-type', 'application/json');
        res.end(
          JSON.stringify({ error: error ?? null, tokenId: udapi?.token.id ?? null, own: Object.hasOwn(req, 'udapi') }),
        );
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const res = await request(server).get('/anything').set('Authorization', `Bearer ${token.secret}`);
      expect({ status: res.status, body: res.body }).toEqual({
        status: 200,
        body: { error: null, tokenId: token.id, own: true },
      });
      // Node's own request prototype is left alone.
      expect(Object.getOwnPropertyNames(http.IncomingMessage.prototype)).not.toContain('udapi');
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('refuses bad options with an OptionsError that says how to fix them', () => {
    expect(() => t.udapi.requireToken({ scope: ['a'] } as never)).toThrow(
      /unknown option `requireToken.scope`; did you mean `requireToken.scopes`/,
    );
    expect(() => t.udapi.requireToken({ scopes: ['Reports'] })).toThrow(OptionsError);
    expect(() => t.udapi.requireToken({ scopes: 'reports' as never })).toThrow(/array of at most 50 scopes/);
    expect(() => t.udapi.requireToken({ onRefusal: 'throw' as never })).toThrow(/onRefusal/);
    expect(() => t.udapi.requireToken({ queryParameter: 'a b' })).toThrow(/queryParameter/);
    expect(() => t.udapi.requireToken({ allow: true as never })).toThrow(/allow/);
  });
});

describe('the failed-authentication throttle', () => {
  it('is one budget per address for the endpoint and the host routes (429, code 2003, with Retry-After)', async () => {
    const throttled = await createTestApp(db, { failedAuthThrottle: { limit: 3, windowSeconds: 60 } });
    try {
      const app = hostApp(throttled.udapi);
      expect((await get(app, '/api/custom/nothing', 'x'.repeat(44))).status).toBe(401);
      expect((await get(app, '/api/custom/nothing', 'x'.repeat(44))).status).toBe(401);
      expect((await get(app, '/reports', 'x'.repeat(44))).status).toBe(401);
      const res = await get(app, '/reports', 'x'.repeat(44));
      expectRefusal(res, 429, 2003, undefined);
      expect(Number(res.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    } finally {
      await throttled.udapi.close();
    }
  });
});

describe('metrics', () => {
  it("counts host-route refusals in udapi_auth_failures_total as the endpoint's, with insufficient_scope for a 403 (a scope or allow())", async () => {
    const measured = await createTestApp(db, { metrics: { promClient, registry: new promClient.Registry() } });
    try {
      const app = hostApp(measured.udapi);
      app.get('/metrics', measured.udapi.metricsHandler());
      const failures = async (reason: string) => {
        const text = (await request(app).get('/metrics')).text;
        const line = text
          .split('\n')
          .find((entry) => entry.startsWith(`udapi_auth_failures_total{reason="${reason}"}`));
        return Number(line?.split(' ').at(-1));
      };
      const before = { unknown: await failures('unknown_secret'), scope: await failures('insufficient_scope') };
      expect(before.scope).toBe(0);
      const token = await request(measured.app).post('/admin/udapi/tokens').set(ADMIN).send({ name: 'measured' });
      expect((await get(app, '/reports', 'x'.repeat(44))).status).toBe(401);
      expect((await get(app, '/scoped', token.body.secret as string)).status).toBe(403);
      // allow() saying no, synchronously and through a promise: the same 403, counted the same way.
      expect((await get(app, '/next-named?prefix=other', token.body.secret as string)).status).toBe(403);
      expect((await get(app, '/named?prefix=other', token.body.secret as string)).status).toBe(403);
      expect((await get(app, '/named?prefix=meas', token.body.secret as string)).status).toBe(200);
      expect({ unknown: await failures('unknown_secret'), scope: await failures('insufficient_scope') }).toEqual({
        unknown: before.unknown + 1,
        scope: 3,
      });
    } finally {
      await measured.udapi.close();
    }
  });
});

describe('before ready()', () => {
  it('answers 503, code 7, with Retry-After, and verify() says not_ready', async () => {
    const udapi = createUserDefinedApis({
      connection: db.connection,
      pepper: TEST_PEPPER,
      instanceId: 'test-node',
      authenticateAdmin: () => null,
    });
    const res = await get(hostApp(udapi), '/reports', 'x'.repeat(44));
    expectRefusal(res, 503, 7, undefined);
    expect(res.headers['retry-after']).toBe('1');
    expect(await udapi.verify('x'.repeat(44))).toEqual({ valid: false, reason: 'not_ready', retryAfterMs: 1000 });
  });
});

describe('verify()', () => {
  it('resolves the token for a valid secret and the reason of each refusal, never rejecting for a bad secret', async () => {
    const token = await newToken({ rateLimit: { limit: 1, windowSeconds: 60 } });
    expect(await t.udapi.verify(token.secret)).toEqual({
      valid: true,
      token: { id: token.id, name: token.name, scopes: [], metadata: null },
    });
    const limited = await t.udapi.verify(token.secret);
    expect(limited).toMatchObject({ valid: false, reason: 'rate_limited' });
    expect((limited as { retryAfterMs: number }).retryAfterMs).toBeGreaterThanOrEqual(1000);

    const plain = await newToken();
    expect(await t.udapi.verify(plain.secret, { scopes: ['reports:read'] })).toEqual({
      valid: false,
      reason: 'insufficient_scope',
    });
    expect(await t.udapi.verify(undefined as never)).toEqual({ valid: false, reason: 'missing' });
    expect(await t.udapi.verify('x'.repeat(44))).toEqual({ valid: false, reason: 'unknown_secret' });
    expect(await t.udapi.verify('')).toEqual({ valid: false, reason: 'unknown_secret' });
    const disabled = await newToken({ isDisabled: true });
    expect(await t.udapi.verify(disabled.secret)).toEqual({ valid: false, reason: 'disabled' });
    const expired = await newToken({ expiresAt: new Date(Date.now() - 60_000).toISOString() });
    expect(await t.udapi.verify(expired.secret)).toEqual({ valid: false, reason: 'expired' });

    // A rotated-out secret: valid during its grace period, 'expired' once it ends.
    const rotating = await newToken();
    const graceEnd = Date.now() + 1000;
    const rotated = await request(t.app)
      .post(`/admin/udapi/tokens/${rotating.id}/rotate`)
      .set(ADMIN)
      .send({ previousSecretExpiresAt: new Date(graceEnd).toISOString() });
    expect(rotated.status).toBe(200);
    expect(await t.udapi.verify(rotating.secret)).toMatchObject({ valid: true, token: { id: rotating.id } });
    await new Promise((resolve) => setTimeout(resolve, graceEnd - Date.now() + 20));
    expect(await t.udapi.verify(rotating.secret)).toEqual({ valid: false, reason: 'expired' });
    expect(await t.udapi.verify(rotated.body.secret as string)).toMatchObject({ valid: true });
  });

  it("counts failures against an address's budget only when given one", async () => {
    const throttled = await createTestApp(db, { failedAuthThrottle: { limit: 1, windowSeconds: 60 } });
    try {
      const unknown = 'x'.repeat(44);
      for (let i = 0; i < 3; i += 1)
        expect(await throttled.udapi.verify(unknown)).toEqual({ valid: false, reason: 'unknown_secret' });
      expect(await throttled.udapi.verify(unknown, { address: '203.0.113.9' })).toEqual({
        valid: false,
        reason: 'unknown_secret',
      });
      expect(await throttled.udapi.verify(unknown, { address: '203.0.113.9' })).toMatchObject({
        valid: false,
        reason: 'throttled',
      });
    } finally {
      await throttled.udapi.close();
    }
  });

  it('refuses bad options with an OptionsError', async () => {
    await expect(t.udapi.verify('x', { scope: ['a'] } as never)).rejects.toThrow(/did you mean `verify.scopes`/);
    await expect(t.udapi.verify('x', { scopes: ['A B'] })).rejects.toThrow(OptionsError);
    // A refused list is refused even after a valid one that a separator-joined cache key would confuse it with.
    await t.udapi.verify('x', { scopes: ['reports:read', 'reports:write'] });
    await expect(t.udapi.verify('x', { scopes: ['reports:read reports:write'] })).rejects.toThrow(OptionsError);
    await expect(t.udapi.verify('x', { scopes: [['reports:read']] as never })).rejects.toThrow(OptionsError);
    await expect(t.udapi.verify('x', { address: 7 as never })).rejects.toThrow(/verify.address/);
    await expect(t.udapi.verify('x', null as never)).rejects.toThrow(/options object/);
  });
});
