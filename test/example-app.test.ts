// The example app as a real process: HTTP Basic admin users and the README's curl that creates a token.
import { spawnSync } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import request from 'supertest';
import { startExampleApp, type ExampleApp } from './helpers/example-app';

let app: ExampleApp | undefined;
let baseUrl: string;

beforeAll(async () => {
  app = await startExampleApp(`udapi_w${process.env.JEST_WORKER_ID ?? '0'}_example`);
  baseUrl = app.baseUrl;
});

afterAll(async () => {
  await app?.stop();
});

describe('example app', () => {
  it("answers the README's curl (admin:admin creates a token) with the generated secret, once", async () => {
    const res = await request(baseUrl).post('/admin/udapi/tokens').auth('admin', 'admin').send({ name: 'x' });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      name: 'x',
      createdBy: 'admin',
      secret: expect.stringMatching(/^[A-Za-z0-9+/]{43}=$/),
    });
    const read = await request(baseUrl).get(`/admin/udapi/tokens/${res.body.id}`).auth('admin', 'admin');
    expect(read.status).toBe(200);
    expect(read.body).not.toHaveProperty('secret');
    expect(app!.output()).not.toContain(res.body.secret);
  });

  it("protects its own /reports/summary with requireToken: a token with the scope 'reports:read' only", async () => {
    const reader = await request(baseUrl)
      .post('/admin/udapi/tokens')
      .auth('admin', 'admin')
      .send({ name: 'reports', scopes: ['reports:read'] });
    const other = await request(baseUrl).post('/admin/udapi/tokens').auth('admin', 'admin').send({ name: 'plain' });
    expect([reader.status, other.status]).toEqual([201, 201]);
    const ok = await request(baseUrl).get('/reports/summary').set('Authorization', `Bearer ${reader.body.secret}`);
    expect({ status: ok.status, for: ok.body.for }).toEqual({ status: 200, for: 'reports' });
    const forbidden = await request(baseUrl)
      .get('/reports/summary')
      .set('Authorization', `Bearer ${other.body.secret}`);
    expect({ status: forbidden.status, challenge: forbidden.headers['www-authenticate'] }).toEqual({
      status: 403,
      challenge: 'Bearer error="insufficient_scope", scope="reports:read"',
    });
    const anonymous = await request(baseUrl).get('/reports/summary');
    expect({ status: anonymous.status, challenge: anonymous.headers['www-authenticate'] }).toEqual({
      status: 401,
      challenge: 'Bearer',
    });
  });

  it('lets viewer/viewer read but not write, and challenges a browser without credentials', async () => {
    expect((await request(baseUrl).get('/admin/udapi/tokens').auth('viewer', 'viewer')).status).toBe(200);
    const write = await request(baseUrl).post('/admin/udapi/tokens').auth('viewer', 'viewer').send({ name: 'y' });
    expect(write.status).toBe(403);
    expect(write.body.errors[0]).toMatchObject({
      reason: 'MissingPermission',
      permission: 'UserDefinableApiTokenCreateUpdate',
    });
    const anonymous = await request(baseUrl).get('/admin/udapi/tokens');
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers['www-authenticate']).toMatch(/^Basic realm=/);
    expect((await request(baseUrl).get('/admin/udapi/tokens').auth('admin', 'wrong')).status).toBe(401);
  });

  it('serves user-defined APIs end to end: token, definitions, handler, parameters handler and procedure', async () => {
    const token = await request(baseUrl)
      .post('/admin/udapi/tokens')
      .auth('admin', 'admin')
      .send({ name: 'example-consumer' });
    const allow = { securitySettings: { allowedTokens: [token.body.id] } };
    const define = (body: object) =>
      request(baseUrl)
        .post('/admin/udapi/definitions')
        .auth('admin', 'admin')
        .send({ ...body, ...allow });
    expect((await define({ route: 'encoders', actionMeta: { name: 'encoders.list' } })).status).toBe(201);
    expect((await define({ route: 'encoders/{id}', actionMeta: { name: 'encoders.get' } })).status).toBe(201);
    expect(
      (await define({ route: 'tickets', actionMeta: { name: 'tickets.create', inputType: 'parameters' } })).status,
    ).toBe(201);
    expect(
      (
        await define({
          route: 'encoders/{id}/restart',
          actionType: 'procedure',
          actionMeta: { name: 'encoders.restart' },
        })
      ).status,
    ).toBe(201);
    const bearer = { Authorization: `Bearer ${token.body.secret}` };

    const running = await request(baseUrl).get('/api/custom/encoders?status=running').set(bearer);
    expect(running.status).toBe(200);
    expect(running.body.items.map((e: { id: string }) => e.id)).toEqual(['enc-1', 'enc-3']);
    expect((await request(baseUrl).get('/api/custom/Encoders/enc-2').set(bearer)).body).toMatchObject({
      id: 'enc-2',
      name: 'Studio B',
    });
    expect((await request(baseUrl).get('/api/custom/encoders/nope').set(bearer)).status).toBe(404);
    const ticket = await request(baseUrl)
      .post('/api/custom/tickets')
      .set(bearer)
      .send({ title: 'Audio drift', priority: 'high' });
    expect(ticket.status).toBe(201);
    expect(ticket.headers.location).toBe('tickets/1');
    const restart = await request(baseUrl)
      .post('/api/custom/encoders/enc-2/restart')
      .set(bearer)
      .send({ encoderId: 'enc-2' });
    expect(restart.status).toBe(200);
    expect(restart.text).toBe('');
    const missing = await request(baseUrl).post('/api/custom/encoders/enc-2/restart').set(bearer).send({});
    expect(missing.status).toBe(400);
    expect(missing.body.errors[0]).toMatchObject({ errorCode: 16, missingScriptParameters: ['encoderId'] });
    expect((await request(baseUrl).get('/api/custom/encoders').set('Authorization', 'Bearer wrong')).status).toBe(401);
    expect(app!.output()).not.toContain(token.body.secret);

    // The calls above show in the metrics (for admin users only), and the APIs in the consumers' OpenAPI document.
    expect((await request(baseUrl).get('/metrics')).status).toBe(401);
    const metrics = await request(baseUrl).get('/metrics').auth('viewer', 'viewer');
    expect(metrics.status).toBe(200);
    expect(metrics.text).toMatch(/^udapi_calls_total\{definition="[0-9a-f-]{36}",status="200"\} [1-9]/m);
    expect(metrics.text).toMatch(/^udapi_auth_failures_total\{reason="unknown_secret"\} [1-9]/m);
    expect(metrics.text).not.toContain(token.body.secret);
    const apis = await request(baseUrl).get('/admin/udapi/openapi/apis.json').auth('viewer', 'viewer');
    expect(apis.status).toBe(200);
    expect(Object.keys(apis.body.paths)).toEqual(
      expect.arrayContaining(['/encoders', '/encoders/{id}', '/tickets', '/encoders/{id}/restart']),
    );
  });
});

/** Whether a TCP connection to host:port is accepted. */
function accepts(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    socket.setTimeout(2000);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
  });
}

// On Linux all of 127.0.0.0/8 is this machine: a server on every interface answers 127.0.0.2, one on 127.0.0.1 does not.
const linux = process.platform === 'linux';

describe('example app: where it listens', () => {
  it('binds 127.0.0.1 by default and logs that address', async () => {
    expect(baseUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(app!.output()).toMatch(
      /"address":"127\.0\.0\.1".*"msg":"Example app listening on http:\/\/127\.0\.0\.1:\d+"/,
    );
    const port = Number(new URL(baseUrl).port);
    expect(await accepts('127.0.0.1', port)).toBe(true);
    if (linux) expect(await accepts('127.0.0.2', port)).toBe(false);
  });

  (linux ? it : it.skip)('binds the address HOST names instead (Linux: 127.0.0.2)', async () => {
    const other = await startExampleApp(`udapi_w${process.env.JEST_WORKER_ID ?? '0'}_example_host`, {
      HOST: '127.0.0.2',
    });
    try {
      expect(other.baseUrl).toMatch(/^http:\/\/127\.0\.0\.2:\d+$/);
      expect((await request(other.baseUrl).get('/')).status).toBe(200);
      expect(await accepts('127.0.0.1', Number(new URL(other.baseUrl).port))).toBe(false);
    } finally {
      await other.stop();
    }
  });
});

describe('example app: failed sign-ins', () => {
  it('answers 429 with Retry-After after 10 failures a minute, to concurrent guesses too, before any password check', async () => {
    // An app of its own: the throttle counts per address, and every test here comes from 127.0.0.1.
    const fresh = await startExampleApp(`udapi_w${process.env.JEST_WORKER_ID ?? '0'}_example_throttle`);
    try {
      const signIn = (user: string, password: string) =>
        request(fresh.baseUrl).get('/admin/udapi/me').auth(user, password);
      expect((await signIn('admin', 'admin')).status).toBe(200);
      // 30 different wrong passwords at once: each of the first 10 costs a bcrypt comparison (401), the rest none (429).
      const guesses = await Promise.all(Array.from({ length: 30 }, (_, i) => signIn('admin', `wrong-${i}`)));
      const statuses = guesses.map((res) => res.status).sort();
      expect(statuses).toEqual([...Array<number>(10).fill(401), ...Array<number>(20).fill(429)]);
      for (const res of guesses.filter((guess) => guess.status === 429)) {
        expect(Number(res.headers['retry-after'])).toBeGreaterThanOrEqual(1);
        expect(Number(res.headers['retry-after'])).toBeLessThanOrEqual(60);
      }
      // Throttled means throttled: the right password, a guessed user and no credentials all get 429 now (see
      // basic-auth.mjs: checking even a remembered password would let guessing go on at no bcrypt cost).
      for (const res of [
        await signIn('admin', 'admin'),
        await signIn('nobody', 'x'),
        await request(fresh.baseUrl).get('/admin/udapi/me'),
      ]) {
        expect([res.status, res.text]).toEqual([429, expect.stringContaining('Too many failed sign-ins')]);
      }
      expect((await request(fresh.baseUrl).get('/metrics').auth('admin', 'admin')).status).toBe(429);
      // The consumers' endpoint and the home page are not behind the admin sign-in.
      expect((await request(fresh.baseUrl).get('/')).status).toBe(200);
      expect(fresh.output()).toContain('Too many failed admin sign-ins from one address');
    } finally {
      await fresh.stop();
    }
  });

  it('keeps the throttle bounded: a window per client (IPv6 by /64), failures forgotten as they age, a cap on clients', () => {
    // The module itself, on a clock the script moves, in a process of its own (it is an ES module, as the app).
    const script = `
      import { clientKeyOf, loginThrottle } from ${JSON.stringify(path.join(__dirname, '..', 'example-app', 'login-throttle.mjs'))};
      let clock = 1_000_000;
      const t = loginThrottle({ maxClients: 3, now: () => clock });
      const out = {};
      for (let i = 0; i < 10; i += 1) t.charge('a');
      out.eleventh = t.charge('a');
      out.waitA = t.retryAfterSeconds('a');
      const ok = (t.charge('b'), t.charge('b'));
      t.refund(ok);
      out.afterRefundB = t.retryAfterSeconds('b');
      t.charge('c');
      // 'a', 'b', 'c' fill the map: 'd' and 'e' share one entry, so 10 failures between them throttle both.
      for (let i = 0; i < 5; i += 1) { t.charge('d'); t.charge('e'); }
      out.waitE = t.retryAfterSeconds('e');
      out.waitF = t.retryAfterSeconds('f');
      out.sizeFull = t.size;
      clock += 30_000;
      out.waitAHalfway = t.retryAfterSeconds('a');
      clock += 30_000;
      out.waitAAfterMinute = t.retryAfterSeconds('a');
      clock += 2_000;
      t.charge('g');
      out.sizeAfterSweep = t.size;
      out.keys = ['127.0.0.1', '::ffff:192.0.2.7', '2001:db8:1:2:aaaa::1', '2001:db8:1:2::ffff', '2001:db8::1', '::1', 'fe80::1%eth0', '1:2:3:4:5:6:7:8'].map(clientKeyOf);
      console.log(JSON.stringify(out));
    `;
    const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
    expect(run.stderr).toBe('');
    expect(JSON.parse(run.stdout)).toEqual({
      eleventh: null,
      waitA: 60,
      afterRefundB: 0,
      waitE: 60,
      waitF: 60,
      sizeFull: 4,
      waitAHalfway: 30,
      waitAAfterMinute: 0,
      sizeAfterSweep: 1,
      // IPv6 by /64: the first two share one budget.
      keys: [
        '127.0.0.1',
        '192.0.2.7',
        '2001:db8:1:2::/64',
        '2001:db8:1:2::/64',
        '2001:db8:0:0::/64',
        '0:0:0:0::/64',
        'fe80:0:0:0::/64',
        '1:2:3:4::/64',
      ],
    });
  });
});
