// Express and Node conventions over real HTTP on the real database: refusals thrown by authenticateAdmin, failures passed to the host's error handler, request ids, the call log levels, and the headers a host's response logger reads back.
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import http from 'node:http';
import express, { type ErrorRequestHandler, type Express } from 'express';
import request from 'supertest';
import { ALL_PERMISSIONS, UserDefinedApisError, type UserDefinedApisOptions } from '../src';
import { ADMIN, createTestApp, type TestApp } from './helpers/app';
import { openTestDb, type TestDb } from './helpers/db';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

let db: TestDb;
const plugins: TestApp[] = [];

beforeAll(async () => {
  db = await openTestDb();
});

afterAll(async () => {
  for (const t of plugins) await t.udapi.close();
  await db.drop();
});

interface Host {
  t: TestApp;
  app: Express;
  /** What the host's error handler received. */
  passed: unknown[];
  secret: string;
  tokenId: string;
}

/**
 * A host app with both routers, a token allowed to call `conv/echo` (answers the context's request id) and
 * `conv/throws`, and an error handler of the host's own that records what it gets and answers `{ host: true }`.
 */
async function host(options: Partial<UserDefinedApisOptions> = {}, before?: express.RequestHandler): Promise<Host> {
  const t = await createTestApp(db, { failedAuthThrottle: false, ...options });
  plugins.push(t);
  t.udapi.registerHandler('conv.echo', (input) => ({
    responseCode: 200,
    responseBody: { requestId: input.context.requestId },
  }));
  t.udapi.registerHandler('conv.throws', () => {
    throw new Error('the action failed on purpose');
  });
  const passed: unknown[] = [];
  const app = express();
  if (before) app.use(before);
  app.use('/admin/udapi', t.udapi.adminRouter());
  app.use('/api/custom', t.udapi.endpoint());
  const hostErrors: ErrorRequestHandler = (
    error: { status?: number; headers?: Record<string, string> },
    _req,
    res,
    _next,
  ) => {
    passed.push(error);
    res
      .status(error.status ?? 500)
      .set(error.headers ?? {})
      .json({ host: true });
  };
  app.use(hostErrors);
  const tokenName = `conv-${plugins.length}`;
  const created = await request(t.app).post('/admin/udapi/tokens').set(ADMIN).send({ name: tokenName }).expect(201);
  const { secret, id: tokenId } = created.body as { secret: string; id: string };
  for (const [route, name] of [
    [`conv${plugins.length}/echo`, 'conv.echo'],
    [`conv${plugins.length}/throws`, 'conv.throws'],
  ])
    await request(t.app)
      .post('/admin/udapi/definitions')
      .set(ADMIN)
      .send({ route, actionMeta: { name }, securitySettings: { allowedTokens: [tokenId] } })
      .expect(201);
  return { t, app, passed, secret, tokenId };
}

/** An authenticateAdmin that throws what `error()` returns, once it returns something; until then, an administrator. */
function throwing(error: () => unknown): UserDefinedApisOptions['authenticateAdmin'] {
  return () => {
    const thrown = error();
    // What hosts throw is not always an Error (a string here): thrown as it is.
    if (thrown !== undefined) throw thrown as Error;
    return { name: 'alice', permissions: ALL_PERMISSIONS };
  };
}

function route(h: Host, action: 'echo' | 'throws'): string {
  return `/api/custom/conv${plugins.indexOf(h.t) + 1}/${action}`;
}

describe('authenticateAdmin that throws in the http-errors convention', () => {
  /** express-jwt's UnauthorizedError has this shape: name, code, status and the inner error. */
  class UnauthorizedError extends Error {
    readonly status = 401;
    readonly code = 'invalid_token';
    constructor(readonly inner: Error) {
      super('jwt expired: the token of user alice@example.com');
      this.name = 'UnauthorizedError';
    }
  }
  /** http-errors' shape: status and statusCode, expose below 500. */
  const httpError = (status: number) =>
    Object.assign(new Error(`host says ${status} for reasons of its own`), {
      status,
      statusCode: status,
      expose: true,
    });

  let thrown: unknown;
  let h: Host;
  beforeAll(async () => {
    h = await host({ authenticateAdmin: throwing(() => thrown) });
  });

  it.each<[string, unknown, number, string]>([
    ['status 401', Object.assign(new Error('no session'), { status: 401 }), 401, 'Unauthenticated'],
    ['statusCode 401', Object.assign(new Error('no session'), { statusCode: 401 }), 401, 'Unauthenticated'],
    ["express-jwt's UnauthorizedError", new UnauthorizedError(new Error('expired')), 401, 'Unauthenticated'],
    ['an http-errors 401', httpError(401), 401, 'Unauthenticated'],
    ['status 403', Object.assign(new Error('not an admin'), { status: 403 }), 403, 'MissingPermission'],
    ['statusCode 403', Object.assign(new Error('not an admin'), { statusCode: 403 }), 403, 'MissingPermission'],
    ['an http-errors 403', httpError(403), 403, 'MissingPermission'],
  ])('%s is answered as the package own refusal, without the thrown message', async (_label, error, status, reason) => {
    thrown = error;
    const logged = h.t.logs.length;
    const res = await request(h.app).get('/admin/udapi/tokens').expect(status);
    expect(res.body).toEqual({ errors: [{ reason, message: expect.any(String) as string }] });
    expect(res.text).not.toMatch(/session|admin@|alice|host says|jwt/);
    // A refusal, not a failure: nothing at error level, and the host's error handler is not involved.
    expect(h.t.logs.slice(logged).filter((line) => line.level === 'error')).toEqual([]);
    expect(h.passed).toEqual([]);
  });

  it.each<[string, unknown]>([
    ['status 500', httpError(500)],
    ['status 400', httpError(400)],
    ['a plain Error', new Error('database of users down')],
    ['a string', 'not an error'],
  ])('anything else (%s) is still an unexpected failure: 500, logged', async (_label, error) => {
    thrown = error;
    const logged = h.t.logs.length;
    const res = await request(h.app).get('/admin/udapi/tokens').expect(500);
    expect((res.body as { errors: { reason: string }[] }).errors[0]!.reason).toBe('InternalError');
    expect(h.t.logs.slice(logged).map((line) => [line.level, line.msg])).toContainEqual([
      'error',
      'Admin request failed unexpectedly',
    ]);
  });
});

describe('passErrorsToHost', () => {
  let byDefault: Host;
  let all: Host;
  let unexpected: Host;
  beforeAll(async () => {
    byDefault = await host();
    all = await host({ passErrorsToHost: 'all' });
    unexpected = await host({ passErrorsToHost: 'unexpected' });
  });

  /** Each host's own failures: unauthenticated, a missing permission, a wrong secret, an action that throws. */
  async function failures(h: Host): Promise<request.Response[]> {
    return [
      await request(h.app).get('/admin/udapi/tokens'),
      await request(h.app).get('/admin/udapi/tokens').set({ 'x-test-user': 'bob', 'x-test-permissions': ',' }),
      await request(h.app).get(route(h, 'echo')).set('Authorization', 'Bearer wrong-secret-of-thirty-two-chars-xx'),
      await request(h.app).get(route(h, 'throws')).set('Authorization', `Bearer ${h.secret}`),
    ];
  }

  it('default: the package answers every failure itself; the host error handler gets nothing', async () => {
    const answers = await failures(byDefault);
    expect(answers.map((res) => res.status)).toEqual([401, 403, 401, 500]);
    expect(answers.map((res) => (res.body as { host?: boolean }).host)).toEqual([
      undefined,
      undefined,
      undefined,
      undefined,
    ]);
    expect((answers[2]!.body as { errors: { errorCode: number }[] }).errors[0]!.errorCode).toBe(1010);
    expect(byDefault.passed).toEqual([]);
  });

  it("'all': every admin and endpoint failure reaches the host error handler as a typed error", async () => {
    const answers = await failures(all);
    expect(answers.map((res) => [res.status, res.body as unknown])).toEqual([
      [401, { host: true }],
      [403, { host: true }],
      [401, { host: true }],
      [500, { host: true }],
    ]);
    // The headers the package would have sent come with the error (the host's handler sets them here).
    expect(answers[2]!.headers['www-authenticate']).toBe('Bearer error="invalid_token"');
    expect(all.passed).toHaveLength(4);
    for (const error of all.passed) expect(error).toBeInstanceOf(UserDefinedApisError);
    const [unauthenticated, missing, wrongSecret, threw] = all.passed as UserDefinedApisError[];
    expect(unauthenticated).toMatchObject({
      source: 'admin',
      status: 401,
      statusCode: 401,
      expose: true,
      code: 'Unauthenticated',
    });
    expect(unauthenticated!.body.errors).toEqual([
      { reason: 'Unauthenticated', message: expect.any(String) as string },
    ]);
    expect(missing).toMatchObject({ source: 'admin', status: 403, code: 'MissingPermission' });
    expect(wrongSecret).toMatchObject({
      source: 'endpoint',
      status: 401,
      code: 'AuthenticationFailed',
      errorCode: 1010,
      headers: { 'WWW-Authenticate': 'Bearer error="invalid_token"' },
      body: { errors: [expect.objectContaining({ errorCode: 1010, faultingNode: 'test-node' }) as unknown] },
    });
    expect(threw).toMatchObject({ source: 'endpoint', status: 500, expose: false, code: 'ActionError', errorCode: 12 });
    expect((threw!.cause as Error).message).toBe('the action failed on purpose');
    // The end log line still says what happened.
    expect(all.t.logs.map((line) => line.msg)).toContainEqual(
      expect.stringMatching(
        /'conv\d+\/throws' FAILED \(passed to the host's error handler\) after .* Response code: 500\./,
      ),
    );
    expect(JSON.stringify(all.passed)).not.toContain(all.secret);
  });

  it("'unexpected': only the 500s reach the host, with their cause; refusals are answered by the package", async () => {
    const answers = await failures(unexpected);
    expect(answers.map((res) => res.status)).toEqual([401, 403, 401, 500]);
    expect(answers.map((res) => (res.body as { host?: boolean }).host)).toEqual([
      undefined,
      undefined,
      undefined,
      true,
    ]);
    const failure: { error?: Error } = {};
    const failing = await host({ passErrorsToHost: 'unexpected', authenticateAdmin: throwing(() => failure.error) });
    failure.error = new Error('user store down');
    const res = await request(failing.app).get('/admin/udapi/tokens').expect(500);
    expect(res.body).toEqual({ host: true });
    expect(failing.passed).toHaveLength(1);
    const error = failing.passed[0] as UserDefinedApisError;
    expect(error).toMatchObject({ source: 'admin', status: 500, code: 'InternalError', expose: false });
    expect((error.cause as Error).message).toBe('user store down');
    expect(unexpected.passed).toHaveLength(1);
    expect(unexpected.passed[0]).toMatchObject({ code: 'ActionError', status: 500 });
  });
});

/** Sends one request with exactly these header bytes (what an HTTP client library would refuse to send). */
function rawGet(app: Express, path: string, headerLines: string[]): Promise<{ status: number; headers: string[] }> {
  const server = http.createServer(app);
  return new Promise((resolve, reject) => {
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      const socket = net.connect(port, '127.0.0.1');
      const chunks: Buffer[] = [];
      socket.on('data', (chunk: Buffer) => chunks.push(chunk));
      socket.on('error', reject);
      socket.on('end', () => {
        server.close();
        const [head] = Buffer.concat(chunks).toString('latin1').split('\r\n\r\n');
        const [statusLine, ...headers] = head!.split('\r\n');
        resolve({ status: Number(statusLine!.split(' ')[1]), headers });
      });
      socket.end(
        Buffer.concat([
          Buffer.from(`GET ${path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n`, 'latin1'),
          ...headerLines.map((line) => Buffer.from(`${line}\r\n`, 'latin1')),
          Buffer.from('\r\n'),
        ]),
      );
    });
  });
}

describe("the host's response logging", () => {
  it('reads the headers of a refusal back from the response, as morgan and pino-http do when it finishes', async () => {
    const t = await createTestApp(db, { failedAuthThrottle: false });
    plugins.push(t);
    const seen: Record<string, unknown>[] = [];
    const app = express();
    // Without X-Powered-By (helmet's default too) no header is set before the package answers: Node then keeps
    // what writeHead() is given out of getHeader()'s reach, so the package must set its headers one by one.
    app.disable('x-powered-by');
    // What a logging middleware does: once the response is finished, read its status and headers back.
    app.use((_req, res, next) => {
      res.on('finish', () =>
        seen.push({
          status: res.statusCode,
          contentType: res.getHeader('content-type'),
          contentLength: res.getHeader('content-length'),
          authenticate: res.getHeader('www-authenticate'),
        }),
      );
      next();
    });
    app.use('/api/custom', t.udapi.endpoint());
    const refused = await request(app)
      .get('/api/custom/any/route')
      .set('Authorization', 'Bearer wrong-secret-of-thirty-two-chars-xx');
    expect(refused.status).toBe(401);
    expect(seen).toEqual([
      {
        status: 401,
        contentType: 'application/json; charset=utf-8',
        contentLength: Buffer.byteLength(refused.text),
        authenticate: 'Bearer error="invalid_token"',
      },
    ]);
  });
});

describe('request ids', () => {
  let plain: Host;
  let fromHeader: Host;
  let headerOnly: Host;
  beforeAll(async () => {
    plain = await host();
    const setReqId: express.RequestHandler = (req, _res, next) => {
      const id = req.header('x-host-id');
      if (id !== undefined) (req as express.Request & { id?: unknown }).id = /^\d+$/.test(id) ? Number(id) : id;
      next();
    };
    fromHeader = await host({ requestId: { header: 'X-Request-Id' } }, setReqId);
    headerOnly = await host(
      { requestId: { header: 'x-correlation-id', fromRequest: false, responseHeader: 'Correlation-Id' } },
      setReqId,
    );
  });

  const call = (h: Host, headers: Record<string, string> = {}) =>
    request(h.app).get(route(h, 'echo')).set('Authorization', `Bearer ${h.secret}`).set(headers).expect(200);
  const idsLogged = (h: Host) =>
    h.t.logs
      .filter((line) => line.bindings.stream === 'endpoint')
      .map((line) => (line.obj as { requestId?: string }).requestId);

  it('without the option: a new UUID per call, the incoming header ignored, no response header (as before)', async () => {
    const res = await call(plain, { 'X-Request-Id': 'from-the-client' });
    expect(res.headers['x-request-id']).toBeUndefined();
    expect((res.body as { requestId: string }).requestId).toMatch(UUID);
    expect(idsLogged(plain)).not.toContain('from-the-client');
  });

  it('with a header configured: the incoming id is used in the logs and the action context, and sent back', async () => {
    const res = await call(fromHeader, { 'X-Request-Id': 'abc-123.x:y/z+w=@' });
    expect(res.headers['x-request-id']).toBe('abc-123.x:y/z+w=@');
    expect(res.body).toEqual({ requestId: 'abc-123.x:y/z+w=@' });
    expect(idsLogged(fromHeader).filter((id) => id === 'abc-123.x:y/z+w=@')).toHaveLength(2); // start and end lines
  });

  it("req.id from the host's middleware comes first (pino-http's numbers too); fromRequest false ignores it", async () => {
    expect((await call(fromHeader, { 'x-host-id': 'host-7', 'X-Request-Id': 'client-1' })).body).toEqual({
      requestId: 'host-7',
    });
    const numbered = await call(fromHeader, { 'x-host-id': '42' });
    expect([numbered.headers['x-request-id'], numbered.body]).toEqual(['42', { requestId: '42' }]);
    const ignored = await call(headerOnly, { 'x-host-id': 'host-7', 'x-correlation-id': 'corr-9' });
    expect([ignored.headers['correlation-id'], ignored.headers['x-request-id'], ignored.body]).toEqual([
      'corr-9',
      undefined,
      { requestId: 'corr-9' },
    ]);
  });

  it('a refused call carries the id too, and so do admin answers, whose log lines take it as traceId', async () => {
    const refused = await request(fromHeader.app)
      .get(route(fromHeader, 'echo'))
      .set('X-Request-Id', 'refused-1')
      .expect(401);
    expect(refused.headers['x-request-id']).toBe('refused-1');
    const unauthenticated = await request(fromHeader.app)
      .get('/admin/udapi/tokens')
      .set('X-Request-Id', 'admin-0')
      .expect(401);
    expect(unauthenticated.headers['x-request-id']).toBe('admin-0');
    const created = await request(fromHeader.app)
      .post('/admin/udapi/tokens')
      .set(ADMIN)
      .set('X-Request-Id', 'admin-1')
      .send({ name: 'traced' })
      .expect(201);
    expect(created.headers['x-request-id']).toBe('admin-1');
    const line = fromHeader.t.logs.find((entry) => entry.msg?.startsWith("Created ApiToken 'traced'"));
    expect(line?.obj).toMatchObject({ traceId: 'admin-1' });
    const fresh = await request(fromHeader.app).get('/admin/udapi/tokens').set(ADMIN).expect(200);
    expect(fresh.headers['x-request-id']).toMatch(UUID);
  });

  it.each<[string, string]>([
    ['129 characters', 'a'.repeat(129)],
    ['a space', 'two words'],
    ['a tab', 'tab\there'],
    ['a comma (two headers joined)', 'a, b'],
    ['a quote', 'say"hi'],
    ['bytes beyond ASCII', 'caf\xe9'],
    ['markup', '<script>'],
    ['an empty value', ''],
  ])('an id with %s is never used nor echoed: a new UUID instead', async (_label, value) => {
    const before = idsLogged(fromHeader).length;
    const res = await rawGet(fromHeader.app, route(fromHeader, 'echo'), [
      `Authorization: Bearer ${fromHeader.secret}`,
      `X-Request-Id: ${value}`,
    ]);
    expect(res.status).toBe(200);
    const sent = res.headers.filter((line) => /^x-request-id:/i.test(line));
    expect(sent).toHaveLength(1);
    expect(sent[0]!.slice('x-request-id: '.length)).toMatch(UUID);
    expect(
      idsLogged(fromHeader)
        .slice(before)
        .every((id) => UUID.test(id ?? '')),
    ).toBe(true);
  });

  it('128 characters is the longest id used', async () => {
    const longest = 'b'.repeat(128);
    expect((await call(fromHeader, { 'X-Request-Id': longest })).headers['x-request-id']).toBe(longest);
  });

  it('an id that is not a string or a whole number (req.id an object) is not used', async () => {
    const h = await host({ requestId: {} }, (req, _res, next) => {
      (req as express.Request & { id?: unknown }).id = { toString: () => 'injected' };
      next();
    });
    expect((await call(h)).headers['x-request-id']).toMatch(UUID);
  });
});

describe('callLogLevels', () => {
  const linesOf = (h: Host, from: number) =>
    h.t.logs
      .slice(from)
      .filter((line) => line.bindings.stream === 'endpoint' && /API trigger/.test(line.msg ?? ''))
      .map((line) => [line.level, (line.msg ?? '').startsWith('Started') ? 'start' : 'end']);

  async function calls(h: Host): Promise<string[][]> {
    const from = h.t.logs.length;
    await request(h.app).get(route(h, 'echo')).set('Authorization', `Bearer ${h.secret}`).expect(200);
    await request(h.app).get(route(h, 'throws')).set('Authorization', `Bearer ${h.secret}`).expect(500);
    return linesOf(h, from);
  }

  it('default: two lines per call at info, the end of a 500 at error', async () => {
    expect(await calls(await host())).toEqual([
      ['info', 'start'],
      ['info', 'end'],
      ['info', 'start'],
      ['error', 'end'],
    ]);
  });

  it('{ start: false }: one line per call', async () => {
    expect(await calls(await host({ callLogLevels: { start: false } }))).toEqual([
      ['info', 'end'],
      ['error', 'end'],
    ]);
  });

  it('levels of their own; a server failure keeps its level, even with end: false', async () => {
    expect(await calls(await host({ callLogLevels: { start: 'debug', end: 'warn' } }))).toEqual([
      ['debug', 'start'],
      ['warn', 'end'],
      ['debug', 'start'],
      ['error', 'end'],
    ]);
    expect(await calls(await host({ callLogLevels: { start: false, end: false } }))).toEqual([['error', 'end']]);
  });
});
