// The endpoint over real HTTP against the real database: every error code, the handler contract, limits and logs.
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import express, { type Express } from 'express';
import request, { type Response } from 'supertest';
import { ENDPOINT_ERROR_TITLE, ErrorCodes, type ErrorCodeName } from '../src';
import type { HandlerInput, HandlerOutput } from '../src/actions/types';
import { internalsOf } from '../src/plugin';
import { parseRoute } from '../src/domain/route-grammar';
import { ADMIN, createTestApp, type TestApp } from './helpers/app';
import { openTestDb, type TestDb } from './helpers/db';

let db: TestDb;
let t: TestApp;
let app: Express;
/** Every endpoint response of this file, for the no-CORS check at the end. */
const responses: Response[] = [];
const secrets: string[] = [];
const inputs: HandlerInput[] = [];

const handlers: Record<string, (input: HandlerInput) => HandlerOutput | Promise<HandlerOutput>> = {
  'ep.echo': (input) => {
    inputs.push(input);
    return {
      responseCode: 200,
      responseBody: {
        requestMethod: input.requestMethod,
        route: input.route,
        routeTemplate: input.routeTemplate,
        rawBody: input.rawBody,
        parameters: input.parameters,
        query: input.queryParameters,
        routeParameters: input.routeParameters,
        tokenId: input.context.tokenId,
        tokenName: input.context.tokenName,
      },
    };
  },
  'ep.output': (input) => JSON.parse(input.rawBody) as HandlerOutput,
  'ep.bytes': () => ({ responseCode: 201, responseBodyBytes: Buffer.from([0, 1, 2, 255]), responseBody: 'ignored' }),
  'ep.text': () => ({
    responseCode: 200,
    responseBody: '<ok/>',
    headers: { 'content-type': 'application/xml', 'X-Multi': ['a', 'b'], 'Cache-Control': 'no-cache, no-store' },
  }),
  'ep.nothing': () => undefined as unknown as HandlerOutput,
  'ep.throws': () => {
    throw new Error('handler exploded with details the client must not see');
  },
  'ep.large': () => ({ responseCode: 200, responseBody: 'x'.repeat(70_000) }),
};

beforeAll(async () => {
  db = await openTestDb();
  t = await createTestApp(db, {
    failedAuthThrottle: { limit: 100_000, windowSeconds: 60 },
    maxBodyBytes: 64 * 1024,
    maxResponseBodyBytes: 64 * 1024,
  });
  for (const [name, fn] of Object.entries(handlers)) t.udapi.registerHandler(name, fn);
  app = express();
  app.use('/admin/udapi', t.udapi.adminRouter());
  app.use('/api/custom', t.udapi.endpoint());
});

afterAll(async () => {
  try {
    for (const res of [...responses]) {
      for (const header of Object.keys(res.headers))
        expect(header.toLowerCase().startsWith('access-control-')).toBe(false);
    }
    expect(responses.length).toBeGreaterThan(50);
    // No secret in any endpoint log line.
    const logText = JSON.stringify(t.logs);
    for (const secret of secrets) expect(logText).not.toContain(secret);
  } finally {
    // Even when a check above fails: an open connection would keep jest from exiting.
    await t?.udapi.close();
    await db?.drop();
  }
});

async function keep(res: Response | Promise<Response>): Promise<Response> {
  const settled = await res;
  responses.push(settled);
  return settled;
}

interface Api {
  secret: string;
  tokenId: string;
  definitionId: string;
  route: string;
}

/** A token and a definition that allows it; returns the secret and ids. */
async function api(
  route: string,
  options: {
    action?: string;
    actionType?: 'handler' | 'procedure';
    inputType?: 'rawBody' | 'parameters';
    rateLimit?: object;
    target?: Express;
  } = {},
): Promise<Api> {
  const target = options.target ?? app;
  const token = await request(target)
    .post('/admin/udapi/tokens')
    .set(ADMIN)
    .send({ name: `tok-${route}`, ...(options.rateLimit ? { rateLimit: options.rateLimit } : {}) });
  expect(token.status).toBe(201);
  secrets.push(token.body.secret);
  const actionMeta = {
    name: options.action ?? 'ep.echo',
    ...(options.inputType ? { inputType: options.inputType } : {}),
  };
  const definition = await request(target)
    .post('/admin/udapi/definitions')
    .set(ADMIN)
    .send({
      route,
      actionType: options.actionType ?? 'handler',
      actionMeta,
      securitySettings: { allowedTokens: [token.body.id] },
    });
  expect(definition.status).toBe(201);
  return { secret: token.body.secret, tokenId: token.body.id, definitionId: definition.body.id, route };
}

const unique = () => `r${randomUUID().slice(0, 8)}`;
const bearer = (secret: string) => ({ Authorization: `Bearer ${secret}` });

function expectError(res: Response, name: ErrorCodeName, faultingNode = 'test-node'): void {
  const { status, code, detail } = ErrorCodes[name];
  expect(res.status).toBe(status);
  expect(res.headers['content-type']).toMatch(/^application\/json/);
  expect(res.body).toEqual({
    errors: [
      {
        title: ENDPOINT_ERROR_TITLE,
        detail,
        errorCode: code,
        faultingNode,
        ...(name === 'MissingScriptParameters' ? { missingScriptParameters: expect.any(Array) } : {}),
      },
    ],
  });
}

describe('request checks (codes 3, 1011, 1003, 1009, 1)', () => {
  it.each(['OPTIONS', 'TRACE'])('answers %s with 405, code 3', async (method) => {
    const client = request(app);
    const res = await keep(
      client[method.toLowerCase() as 'options'](`/api/custom/${unique()}`).set(bearer('x'.repeat(44))),
    );
    expectError(res, 'InvalidRequestMethod');
  });

  it('answers HEAD with 405 and no body', async () => {
    const res = await keep(request(app).head(`/api/custom/${unique()}`));
    expect(res.status).toBe(405);
    expect(res.text ?? '').toBe('');
  });

  it('answers a query string over 2 KB with 414, code 1011, and accepts exactly 2 KB', async () => {
    const { route, secret } = await api(unique());
    expectError(
      await keep(
        request(app)
          .get(`/api/custom/${route}?q=${'a'.repeat(2047)}`)
          .set(bearer(secret)),
      ),
      'QueryStringTooLarge',
    );
    expect(
      (
        await keep(
          request(app)
            .get(`/api/custom/${route}?q=${'a'.repeat(2046)}`)
            .set(bearer(secret)),
        )
      ).status,
    ).toBe(200);
  });

  it.each([
    ['text/html', 'x'],
    ['application/x-www-form-urlencoded', 'a=b'],
    ['multipart/form-data; boundary=x', '--x--'],
  ])('answers Content-Type %s with 415, code 1003', async (type, body) => {
    const res = await keep(request(app).post(`/api/custom/${unique()}`).set('Content-Type', type).send(body));
    expectError(res, 'InvalidContentType');
  });

  it('answers a body without Content-Type with 415, and accepts no Content-Type with no body', async () => {
    const { route, secret } = await api(unique());
    const req = request(app).post(`/api/custom/${route}`).set(bearer(secret));
    const res = await keep(
      req
        .serialize(() => 'raw')
        .set('Content-Type', '')
        .send('raw'),
    );
    expectError(res, 'InvalidContentType');
    expect((await keep(request(app).post(`/api/custom/${route}`).set(bearer(secret)))).status).toBe(200);
  });

  it.each(['application/json; charset=utf-8', 'APPLICATION/XML', 'text/xml', 'text/plain;charset=UTF-8'])(
    'accepts Content-Type %s',
    async (type) => {
      const { route, secret } = await api(unique());
      const res = await keep(
        request(app).post(`/api/custom/${route}`).set(bearer(secret)).set('Content-Type', type).send('{"a":"b"}'),
      );
      expect(res.status).toBe(200);
      expect(res.body.rawBody).toBe('{"a":"b"}');
    },
  );

  it.each(['gzip', 'deflate', 'br', 'gzip, identity', 'x-unknown'])(
    'answers Content-Encoding %s with 415, code 1003, before authentication',
    async (encoding) => {
      const { route, secret } = await api(unique());
      const before = inputs.length;
      const res = await keep(
        request(app)
          .post(`/api/custom/${route}`)
          .set(bearer(secret))
          .set('Content-Type', 'text/plain')
          .set('Content-Encoding', encoding)
          .send('x'),
      );
      expectError(res, 'InvalidContentType');
      expect(inputs.length).toBe(before);
    },
  );

  it('accepts Content-Encoding identity', async () => {
    const { route, secret } = await api(unique());
    const res = await keep(
      request(app)
        .post(`/api/custom/${route}`)
        .set(bearer(secret))
        .set('Content-Type', 'text/plain')
        .set('Content-Encoding', 'Identity')
        .send('plain'),
    );
    expect([res.status, res.body.rawBody]).toEqual([200, 'plain']);
  });

  it('answers a declared body over the limit with 413, code 1009, before authentication', async () => {
    const res = await keep(
      request(app)
        .post(`/api/custom/${unique()}`)
        .set('Content-Type', 'text/plain')
        .send('x'.repeat(64 * 1024 + 1)),
    );
    expectError(res, 'BodyTooLarge');
  });

  it('answers a chunked body over the limit with 413 before the handler runs, without reading it all', async () => {
    const { route, secret } = await api(unique());
    const before = inputs.length;
    const logsBefore = t.logs.length;
    const server = app.listen(0);
    try {
      const { port } = server.address() as { port: number };
      const { status, body, sent } = await chunkedPost(port, `/api/custom/${route}`, secret, 64 * 1024, 40);
      expect(sent).toBeLessThan(40); // the answer came (or the connection closed) before the client finished sending
      if (status === 0) {
        // The server answered and closed while the client was still writing, and the reset reached the client
        // before the answer was read: the endpoint log shows what it answered.
        const endLine = () =>
          t.logs
            .slice(logsBefore)
            .find(
              (line) =>
                line.bindings.stream === 'endpoint' &&
                (line.obj as { route?: string }).route === route &&
                'status' in line.obj,
            );
        for (let waited = 0; !endLine() && waited < 1000; waited += 50)
          await new Promise((resolve) => setTimeout(resolve, 50));
        expect(endLine()?.obj).toMatchObject({ status: 413 });
      } else {
        expect(status).toBe(413);
        expect(JSON.parse(body).errors[0].errorCode).toBe(1009);
      }
    } finally {
      server.close();
    }
    expect(inputs.length).toBe(before);
  });

  it.each(['/api/custom', '/api/custom/', '/api/custom//', '/api/custom///'])(
    'answers the empty route %s with 400, code 1',
    async (path) => {
      expectError(await keep(request(app).get(path)), 'EmptyRoute');
    },
  );
});

describe('authentication (codes 1008, 1010) and the failed-auth throttle (2003)', () => {
  it.each([
    ['no Authorization header', undefined],
    ['a Basic scheme', 'Basic YWRtaW46YWRtaW4='],
    ['a bare secret', 'x'.repeat(44)],
    ['Bearer with two secrets', `Bearer ${'a'.repeat(40)} ${'b'.repeat(40)}`],
  ])('answers %s with 401, code 1008, and WWW-Authenticate: Bearer', async (_label, header) => {
    const req = request(app).get(`/api/custom/${unique()}`);
    const res = await keep(header === undefined ? req : req.set('Authorization', header));
    expectError(res, 'AuthenticationHeaderInvalid');
    expect(res.headers['www-authenticate']).toBe('Bearer');
  });

  it('accepts the scheme in any case', async () => {
    const { route, secret } = await api(unique());
    expect((await keep(request(app).get(`/api/custom/${route}`).set('Authorization', `bearer ${secret}`))).status).toBe(
      200,
    );
  });

  it('gives unknown, empty, disabled and not-allowed tokens byte-identical 401 bodies (code 1010)', async () => {
    const allowed = await api(unique());
    const other = await api(unique());
    const disabled = await api(unique());
    await request(app).patch(`/admin/udapi/tokens/${disabled.tokenId}`).set(ADMIN).send({ isDisabled: true });
    const answers = await Promise.all([
      keep(
        request(app)
          .get(`/api/custom/${allowed.route}`)
          .set(bearer('z'.repeat(44))),
      ),
      keep(request(app).get(`/api/custom/${allowed.route}`).set('Authorization', 'Bearer ')),
      keep(request(app).get(`/api/custom/${disabled.route}`).set(bearer(disabled.secret))),
      keep(request(app).get(`/api/custom/${allowed.route}`).set(bearer(other.secret))),
    ]);
    for (const res of answers) {
      expectError(res, 'AuthenticationFailed');
      // RFC 6750: every 401 names the scheme; a secret that was presented and failed is an invalid_token.
      expect(res.headers['www-authenticate']).toBe('Bearer error="invalid_token"');
    }
    expect(new Set(answers.map((res) => res.text)).size).toBe(1);
    expect(
      new Set(answers.map((res) => JSON.stringify([res.headers['content-type'], res.headers['content-length']]))).size,
    ).toBe(1);
  });

  it('revokes a disabled token on the very next request and restores it when re-enabled', async () => {
    const { route, secret, tokenId } = await api(unique());
    expect((await keep(request(app).get(`/api/custom/${route}`).set(bearer(secret)))).status).toBe(200);
    await request(app).patch(`/admin/udapi/tokens/${tokenId}`).set(ADMIN).send({ isDisabled: true });
    expectError(await keep(request(app).get(`/api/custom/${route}`).set(bearer(secret))), 'AuthenticationFailed');
    await request(app).patch(`/admin/udapi/tokens/${tokenId}`).set(ADMIN).send({ isDisabled: false });
    expect((await keep(request(app).get(`/api/custom/${route}`).set(bearer(secret)))).status).toBe(200);
  });

  it('stops a rotated secret at once and accepts the new one', async () => {
    const { route, secret, tokenId } = await api(unique());
    const rotated = await request(app).post(`/admin/udapi/tokens/${tokenId}/rotate`).set(ADMIN);
    secrets.push(rotated.body.secret);
    expectError(await keep(request(app).get(`/api/custom/${route}`).set(bearer(secret))), 'AuthenticationFailed');
    expect((await keep(request(app).get(`/api/custom/${route}`).set(bearer(rotated.body.secret)))).status).toBe(200);
  });

  it('throttles an address after too many failures with 429, code 2003 and Retry-After, honouring trust proxy', async () => {
    const throttled = await createTestApp(db, { failedAuthThrottle: { limit: 3, windowSeconds: 60 } });
    const host = express();
    host.set('trust proxy', true);
    host.use('/api/custom', throttled.udapi.endpoint());
    const from = (ip: string) =>
      request(host)
        .get('/api/custom/anything')
        .set('X-Forwarded-For', ip)
        .set(bearer('q'.repeat(44)));
    for (let i = 0; i < 3; i += 1) expectError(await keep(from('203.0.113.7')), 'AuthenticationFailed');
    const blocked = await keep(from('203.0.113.7'));
    expectError(blocked, 'TooManyFailedAuthentications');
    expect(Number(blocked.headers['retry-after'])).toBeGreaterThan(0);
    // Another address is not affected.
    expectError(await keep(from('203.0.113.8')), 'AuthenticationFailed');
    await throttled.udapi.close();
  });

  it('never refuses a secret that authenticates, even from a throttled address (a shared NAT or proxy)', async () => {
    const throttled = await createTestApp(db, { failedAuthThrottle: { limit: 3, windowSeconds: 60 } });
    const host = express();
    host.set('trust proxy', true);
    host.use('/admin/udapi', throttled.udapi.adminRouter());
    host.use('/api/custom', throttled.udapi.endpoint());
    const token = await request(host).post('/admin/udapi/tokens').set(ADMIN).send({ name: 'behind-the-nat' });
    secrets.push(token.body.secret);
    const route = unique();
    await request(host)
      .post('/admin/udapi/definitions')
      .set(ADMIN)
      .send({ route, actionMeta: { name: 'test.echo' }, securitySettings: { allowedTokens: [token.body.id] } });
    const from = (ip: string, secret: string) =>
      request(host).get(`/api/custom/${route}`).set('X-Forwarded-For', ip).set(bearer(secret));
    for (let i = 0; i < 3; i += 1)
      expectError(await keep(from('198.51.100.9', 'q'.repeat(44))), 'AuthenticationFailed');
    expectError(await keep(from('198.51.100.9', 'q'.repeat(44))), 'TooManyFailedAuthentications');
    // The attacker's address is throttled; the consumer behind it is served, and its calls count nothing.
    for (let i = 0; i < 5; i += 1) expect((await keep(from('198.51.100.9', token.body.secret))).status).toBe(200);
    expectError(await keep(from('198.51.100.9', 'q'.repeat(44))), 'TooManyFailedAuthentications');
    await throttled.udapi.close();
  });

  it('counts malformed headers (1008) as failures, and IPv6 addresses by their /64', async () => {
    const throttled = await createTestApp(db, { failedAuthThrottle: { limit: 2, windowSeconds: 60 } });
    const host = express();
    host.set('trust proxy', true);
    host.use('/api/custom', throttled.udapi.endpoint());
    const from = (ip: string, header: string) =>
      request(host).get('/api/custom/anything').set('X-Forwarded-For', ip).set('Authorization', header);
    expectError(await keep(from('2001:db8:1:2::1', 'Basic x')), 'AuthenticationHeaderInvalid');
    expectError(
      await keep(from('2001:db8:1:2:ffff:eeee:dddd:cccc', `Bearer ${'q'.repeat(44)}`)),
      'AuthenticationFailed',
    );
    // A third address of the same /64: throttled, whatever its failure.
    expectError(await keep(from('2001:db8:1:2:aaaa::7', 'Basic x')), 'TooManyFailedAuthentications');
    expectError(await keep(from('2001:db8:1:2:aaaa::7', `Bearer ${'q'.repeat(44)}`)), 'TooManyFailedAuthentications');
    // The next /64 has its own budget.
    expectError(await keep(from('2001:db8:1:3::1', `Bearer ${'q'.repeat(44)}`)), 'AuthenticationFailed');
    await throttled.udapi.close();

    const wider = await createTestApp(db, { failedAuthThrottle: { limit: 1, windowSeconds: 60, ipv6Subnet: 48 } });
    const widerHost = express();
    widerHost.set('trust proxy', true);
    widerHost.use('/api/custom', wider.udapi.endpoint());
    const fromWider = (ip: string) =>
      request(widerHost)
        .get('/api/custom/anything')
        .set('X-Forwarded-For', ip)
        .set(bearer('q'.repeat(44)));
    expectError(await keep(fromWider('2001:db8:1:2::1')), 'AuthenticationFailed');
    expectError(await keep(fromWider('2001:db8:1:99::1')), 'TooManyFailedAuthentications');
    await wider.udapi.close();
  });
});

describe('rate limit per token (code 1014)', () => {
  it('counts before the route is matched (the order of checks): a call to a route that does not allow the token counts too', async () => {
    const limited = await api(unique(), { rateLimit: { limit: 1, windowSeconds: 60 } });
    const other = await api(unique());
    // Not allowed there: the same 401 as an unknown secret, but the call used the token's one request of the minute.
    expectError(
      await keep(request(app).get(`/api/custom/${other.route}`).set(bearer(limited.secret))),
      'AuthenticationFailed',
    );
    expectError(
      await keep(request(app).get(`/api/custom/${other.route}`).set(bearer(limited.secret))),
      'RateLimitExceeded',
    );
    expectError(
      await keep(request(app).get(`/api/custom/${limited.route}`).set(bearer(limited.secret))),
      'RateLimitExceeded',
    );
  });

  it('admits exactly N in a window, does not count 429s, and slides', async () => {
    const { route, secret } = await api(unique(), { rateLimit: { limit: 2, windowSeconds: 3 } });
    const call = () => keep(request(app).get(`/api/custom/${route}`).set(bearer(secret)));
    const t0 = Date.now();
    expect((await call()).status).toBe(200);
    await sleepUntil(t0 + 1500);
    expect((await call()).status).toBe(200);
    const refused = await call();
    expectError(refused, 'RateLimitExceeded');
    expect(Number(refused.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expectError(await call(), 'RateLimitExceeded'); // refusals are not counted...
    await sleepUntil(t0 + 3300);
    expect((await call()).status).toBe(200); // ...so the first hit leaving the window frees exactly one slot
    expectError(await call(), 'RateLimitExceeded'); // a fixed window would have reset here; a sliding one has not
    await sleepUntil(t0 + 4800);
    expect((await call()).status).toBe(200);
  }, 20_000);

  it('counts requests that end in 404 or not-allowed against the limit', async () => {
    const { route, secret } = await api(unique(), { rateLimit: { limit: 2, windowSeconds: 60 } });
    expectError(await keep(request(app).get(`/api/custom/${unique()}`).set(bearer(secret))), 'DefinitionNotFound');
    const other = await api(unique());
    expectError(await keep(request(app).get(`/api/custom/${other.route}`).set(bearer(secret))), 'AuthenticationFailed');
    expectError(await keep(request(app).get(`/api/custom/${route}`).set(bearer(secret))), 'RateLimitExceeded');
  });
});

/** POSTs `chunks` chunks of `chunkSize` bytes with chunked encoding, stopping early once the response arrives. */
function chunkedPost(
  port: number,
  path: string,
  secret: string,
  chunkSize: number,
  chunks: number,
): Promise<{ status: number; body: string; sent: number }> {
  return new Promise((resolve, reject) => {
    let sent = 0;
    let answered = false;
    const req = http.request(
      {
        port,
        path,
        method: 'POST',
        headers: { Authorization: `Bearer ${secret}`, 'Content-Type': 'text/plain', 'Transfer-Encoding': 'chunked' },
      },
      (res) => {
        answered = true;
        let body = '';
        res.on('data', (chunk: Buffer) => (body += chunk.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body, sent }));
      },
    );
    req.on('error', (error: NodeJS.ErrnoException) => {
      if (answered) return;
      // Writing into a connection the server already closed: report it as "no answer read" (status 0).
      if (error.code === 'EPIPE' || error.code === 'ECONNRESET') resolve({ status: 0, body: '', sent });
      else reject(error);
    });
    const pump = (): void => {
      if (answered || sent >= chunks) {
        req.end();
        return;
      }
      sent += 1;
      req.write(Buffer.alloc(chunkSize, 120), () => setTimeout(pump, 5));
    };
    pump();
  });
}

async function sleepUntil(time: number): Promise<void> {
  const wait = time - Date.now();
  if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
}

describe('route matching (code 5)', () => {
  it('answers a route nothing matches with 404, code 5', async () => {
    const { secret } = await api(unique());
    expectError(
      await keep(request(app).get(`/api/custom/${unique()}/nothing`).set(bearer(secret))),
      'DefinitionNotFound',
    );
  });

  it('applies the priority rules, case-insensitive literals, slash handling and single decoding', async () => {
    const p = unique();
    const token = await request(app).post('/admin/udapi/tokens').set(ADMIN).send({ name: 'prio' });
    secrets.push(token.body.secret);
    const routes = [
      `${p}/foo/bar`,
      `${p}/foo/{bar}`,
      `${p}/{foo}/bar`,
      `${p}/{a}/{b}`,
      `${p}/items/special`,
      `${p}/items/{id}`,
    ];
    for (const route of routes) {
      const res = await request(app)
        .post('/admin/udapi/definitions')
        .set(ADMIN)
        .send({ route, actionMeta: { name: 'ep.echo' }, securitySettings: { allowedTokens: [token.body.id] } });
      expect(res.status).toBe(201);
    }
    const hit = async (path: string) => keep(request(app).get(`/api/custom/${path}`).set(bearer(token.body.secret)));
    const template = async (path: string) => (await hit(path)).body.routeTemplate as string;
    expect(await template(`${p}/foo/bar`)).toBe(`${p}/foo/bar`); // static beats dynamic
    expect(await template(`${p}/FOO/Bar`)).toBe(`${p}/foo/bar`); // literals ignore case
    expect(await template(`${p}/foo/baz`)).toBe(`${p}/foo/{bar}`);
    expect(await template(`${p}/qux/bar`)).toBe(`${p}/{foo}/bar`);
    expect(await template(`${p}/qux/quux`)).toBe(`${p}/{a}/{b}`);
    expect(await template(`${p}/items/special`)).toBe(`${p}/items/special`);
    const item = await hit(`${p}//items/Ab%2Fc%2520d/`);
    expect(item.body).toMatchObject({
      routeTemplate: `${p}/items/{id}`,
      routeParameters: { id: 'Ab/c%20d' },
      route: `${p}/items/Ab%2Fc%2520d`,
    });
    expect((await hit(`${p}/items`)).status).toBe(404);
    expect((await hit(`${p}/items/a/b`)).status).toBe(404);
  });

  it('answers a path longer than any route can be with 404, code 5', async () => {
    const { secret } = await api(unique());
    expectError(
      await keep(
        request(app)
          .get(`/api/custom/${'a/'.repeat(2000)}b`)
          .set(bearer(secret)),
      ),
      'DefinitionNotFound',
    );
    expectError(
      await keep(
        request(app)
          .get(`/api/custom/${'x'.repeat(6000)}`)
          .set(bearer(secret)),
      ),
      'DefinitionNotFound',
    );
  });

  it('prefers more literal segments, then the earlier first literal', async () => {
    const p = unique();
    const token = await request(app).post('/admin/udapi/tokens').set(ADMIN).send({ name: 'prio2' });
    secrets.push(token.body.secret);
    for (const route of [`${p}/{x}/{y}/c`, `${p}/{x}/b/{z}`, `${p}/a/{y}/{z}`, `${p}/{x}/b/c`]) {
      await request(app)
        .post('/admin/udapi/definitions')
        .set(ADMIN)
        .send({ route, actionMeta: { name: 'ep.echo' }, securitySettings: { allowedTokens: [token.body.id] } });
    }
    const template = async (path: string): Promise<string> =>
      (await keep(request(app).get(`/api/custom/${path}`).set(bearer(token.body.secret)))).body.routeTemplate as string;
    expect(await template(`${p}/a/b/c`)).toBe(`${p}/{x}/b/c`); // two literals beat one
    expect(await template(`${p}/a/b/x`)).toBe(`${p}/a/{y}/{z}`); // one literal each: the earlier literal wins
    expect(await template(`${p}/q/b/x`)).toBe(`${p}/{x}/b/{z}`);
  });

  it('loads 5,000 definitions at ready() and matches each correctly', async () => {
    const p = unique();
    const token = await request(app).post('/admin/udapi/tokens').set(ADMIN).send({ name: 'many' });
    secrets.push(token.body.secret);
    const now = new Date();
    const docs = Array.from({ length: 5000 }, (_, i) => {
      const route = i % 2 === 0 ? `${p}/static${i}/leaf` : `${p}/dyn${i}/{id}`;
      const parsed = parseRoute(route, '/api/custom') as { key: string };
      return {
        _id: randomUUID(),
        route,
        routeKey: parsed.key,
        routeLower: route.toLowerCase(),
        securitySettings: { allowedTokens: [token.body.id] },
        actionType: 'handler',
        actionMeta: { name: 'ep.echo', inputType: 'rawBody' },
        createdBy: 'seed',
        createdAt: now,
        lastModifiedBy: 'seed',
        lastModified: now,
      };
    });
    await db.connection.collection('udapiApiDefinitions').insertMany(docs as never[]);
    // A fresh instance loads everything at ready().
    const fresh = await createTestApp(db);
    fresh.udapi.registerHandler('ep.echo', handlers['ep.echo']!);
    expect(internalsOf(fresh.udapi).catalog.definitionCount).toBeGreaterThanOrEqual(5000);
    const host = express();
    host.use('/api/custom', fresh.udapi.endpoint());
    for (const i of [0, 1, 2, 3, 1234, 2501, 4998, 4999]) {
      const path = i % 2 === 0 ? `${p}/STATIC${i}/leaf` : `${p}/dyn${i}/value-${i}`;
      const res = await keep(request(host).get(`/api/custom/${path}`).set(bearer(token.body.secret)));
      expect(res.status).toBe(200);
      expect(res.body.routeTemplate).toBe(docs[i]!.route);
      if (i % 2 === 1) expect(res.body.routeParameters).toEqual({ id: `value-${i}` });
    }
    expect((await keep(request(host).get(`/api/custom/${p}/static1/leaf`).set(bearer(token.body.secret)))).status).toBe(
      404,
    );
    await fresh.udapi.close();
  });
});

describe('the handler contract', () => {
  it('passes method, routes, body, multi-valued case-sensitive query and context', async () => {
    const { route, secret, tokenId } = await api(`${unique()}/orders/{orderId}`);
    const concrete = route.replace('{orderId}', 'A-42');
    const res = await keep(
      request(app)
        .patch(`/api/custom/${concrete}?tag=a&tag=b&Tag=C&empty=`)
        .set(bearer(secret))
        .set('Content-Type', 'text/plain')
        .send('hello'),
    );
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('application/json');
    expect(res.body).toEqual({
      requestMethod: 'PATCH',
      route: concrete,
      routeTemplate: route,
      rawBody: 'hello',
      parameters: {},
      query: { tag: ['a', 'b'], Tag: ['C'], empty: [''] },
      routeParameters: { orderId: 'A-42' },
      tokenId,
      tokenName: `tok-${route}`,
    });
    const input = inputs[inputs.length - 1]!;
    expect(input.queryParameters.get('tag')).toBe('a');
    expect(input.queryParameters.getAll('tag')).toEqual(['a', 'b']);
    expect(input.queryParameters.has('TAG')).toBe(false);
    expect(input.queryParameters.keys()).toEqual(['tag', 'Tag', 'empty']);
    expect(input.context.definitionId).toMatch(/^[0-9a-f-]{36}$/);
    expect(input.context.requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(input.context.signal.aborted).toBe(false);
    // The context serialises to its four fields and exposes nothing of the package's request bookkeeping.
    expect(JSON.parse(JSON.stringify(input.context))).toEqual({
      tokenId: input.context.tokenId,
      tokenName: input.context.tokenName,
      definitionId: input.context.definitionId,
      requestId: input.context.requestId,
    });
    expect(Object.keys({ ...input.context }).sort()).toEqual(['definitionId', 'requestId', 'tokenId', 'tokenName']);
  });

  it.each(['GET', 'PUT', 'POST', 'DELETE', 'PATCH'] as const)('runs the action for %s', async (method) => {
    const { route, secret } = await api(unique());
    const res = await keep(request(app)[method.toLowerCase() as 'get'](`/api/custom/${route}`).set(bearer(secret)));
    expect(res.status).toBe(200);
    expect(res.body.requestMethod).toBe(method);
  });

  it('parses a flat JSON body for inputType parameters, and refuses anything else with 400, code 10', async () => {
    const { route, secret } = await api(unique(), { inputType: 'parameters' });
    const call = (body: string) =>
      keep(
        request(app)
          .post(`/api/custom/${route}`)
          .set(bearer(secret))
          .set('Content-Type', 'application/json')
          .send(body),
      );
    const ok = await call('{"userName":"JohnDoe","limit":10,"active":true,"__proto__":"x"}');
    expect(ok.status).toBe(200);
    expect(ok.body.parameters).toEqual(
      JSON.parse('{"userName":"JohnDoe","limit":"10","active":"true","__proto__":"x"}'),
    );
    expect((await keep(request(app).post(`/api/custom/${route}`).set(bearer(secret)))).body.parameters).toEqual({});
    for (const bad of ['{"a":{"b":1}}', '{"a":[1]}', '{"a":null}', '[1,2]', '"text"', 'not json', '{']) {
      expectError(await call(bad), 'BodyToParametersConversionFailed');
    }
  });

  it('runs a procedure with its parameters (200, empty), and lists missing ones with 400, code 16', async () => {
    const calls: unknown[] = [];
    const procedureApp = await createTestApp(db);
    procedureApp.udapi.registerProcedure('ep.proc', { parameters: ['encoderId', 'mode'] }, (parameters, context) => {
      calls.push({ parameters, tokenId: context.tokenId });
    });
    const host = express();
    host.use('/admin/udapi', procedureApp.udapi.adminRouter());
    host.use('/api/custom', procedureApp.udapi.endpoint());
    const { route, secret, tokenId } = await api(unique(), {
      target: host,
      actionType: 'procedure',
      action: 'ep.proc',
    });
    const ok = await keep(
      request(host)
        .post(`/api/custom/${route}`)
        .set(bearer(secret))
        .set('Content-Type', 'application/json')
        .send('{"encoderId":"e1","mode":"fast","extra":"x"}'),
    );
    expect(ok.status).toBe(200);
    expect(ok.text).toBe('');
    expect(calls).toEqual([{ parameters: { encoderId: 'e1', mode: 'fast', extra: 'x' }, tokenId }]);
    const missing = await keep(
      request(host)
        .post(`/api/custom/${route}`)
        .set(bearer(secret))
        .set('Content-Type', 'application/json')
        .send('{"mode":"fast"}'),
    );
    expectError(missing, 'MissingScriptParameters');
    expect(missing.body.errors[0].missingScriptParameters).toEqual(['encoderId']);
    expect(calls).toHaveLength(1);
    await procedureApp.udapi.close();
  });

  it('sends bytes over a body with application/octet-stream, and a handler Content-Type and headers as given', async () => {
    const bytes = await api(unique(), { action: 'ep.bytes' });
    const res = await keep(
      request(app)
        .get(`/api/custom/${bytes.route}`)
        .set(bearer(bytes.secret))
        .buffer(true)
        .parse((r, done) => {
          const chunks: Buffer[] = [];
          r.on('data', (c: Buffer) => chunks.push(c));
          r.on('end', () => done(null, Buffer.concat(chunks)));
        }),
    );
    expect(res.status).toBe(201);
    expect(res.headers['content-type']).toBe('application/octet-stream');
    expect([...(res.body as Buffer)]).toEqual([0, 1, 2, 255]);
    const text = await api(unique(), { action: 'ep.text' });
    const xml = await keep(request(app).get(`/api/custom/${text.route}`).set(bearer(text.secret)));
    expect(xml.headers['content-type']).toBe('application/xml');
    expect(xml.headers['x-multi']).toBe('a, b');
    expect(xml.headers['cache-control']).toBe('no-cache, no-store');
    expect(xml.text).toBe('<ok/>');
  });
});

describe('action failures and output checks (codes 15, 12, 13, 1002, 17, 1012, 1013, 8)', () => {
  it('answers 500, code 15 when the action is no longer registered', async () => {
    const { route, secret } = await api(unique());
    const other = await createTestApp(db); // the same database, but this instance has no 'ep.echo'
    const host = express();
    host.use('/api/custom', other.udapi.endpoint());
    expectError(await keep(request(host).get(`/api/custom/${route}`).set(bearer(secret))), 'ActionNotFound');
    await other.udapi.close();
  });

  it('answers 500, code 12 when the handler throws, without its message, and logs it at error level', async () => {
    const { route, secret } = await api(unique(), { action: 'ep.throws' });
    const res = await keep(request(app).get(`/api/custom/${route}`).set(bearer(secret)));
    expectError(res, 'ActionError');
    expect(res.text).not.toContain('exploded');
    expect(t.logs.some((line) => line.level === 'error' && line.msg === 'The action threw')).toBe(true);
  });

  it('answers 500, code 13 when the handler returns nothing', async () => {
    const { route, secret } = await api(unique(), { action: 'ep.nothing' });
    expectError(await keep(request(app).get(`/api/custom/${route}`).set(bearer(secret))), 'InvalidActionResult');
  });

  it('answers 500, code 17 for a response body over the limit', async () => {
    const { route, secret } = await api(unique(), { action: 'ep.large' });
    expectError(await keep(request(app).get(`/api/custom/${route}`).set(bearer(secret))), 'ResponseBodyTooLarge');
  });

  const outputs: [string, unknown, ErrorCodeName | number][] = [
    ['null', null, 'InvalidActionResult'],
    ['a string', 'ok', 'InvalidActionResult'],
    ['bytes that are not bytes', { responseCode: 200, responseBodyBytes: 'abc' }, 'InvalidActionResult'],
    ['status 99', { responseCode: 99 }, 'UnknownStatusCode'],
    ['status 600', { responseCode: 600 }, 'UnknownStatusCode'],
    ['status 101', { responseCode: 101 }, 'UnknownStatusCode'],
    ['status "200"', { responseCode: '200' }, 'UnknownStatusCode'],
    ['status 200.5', { responseCode: 200.5 }, 'UnknownStatusCode'],
    [
      'Access-Control-Allow-Origin',
      { responseCode: 200, headers: { 'Access-Control-Allow-Origin': '*' } },
      'ResponseHeadersNotAllowed',
    ],
    [
      'access-control-max-age',
      { responseCode: 200, headers: { 'access-control-max-age': '1' } },
      'ResponseHeadersNotAllowed',
    ],
    ['Set-Cookie', { responseCode: 200, headers: { 'Set-Cookie': 'a=b' } }, 'ResponseHeadersNotAllowed'],
    ['Vary', { responseCode: 200, headers: { Vary: 'Origin' } }, 'ResponseHeadersNotAllowed'],
    [
      'Strict-Transport-Security',
      { responseCode: 200, headers: { 'Strict-Transport-Security': 'max-age=1' } },
      'ResponseHeadersNotAllowed',
    ],
    ['a header name with a space', { responseCode: 200, headers: { 'X Bad': 'v' } }, 'ResponseHeadersInvalid'],
    ['a header name with a colon', { responseCode: 200, headers: { 'X:Bad': 'v' } }, 'ResponseHeadersInvalid'],
    ['a header name with a comma', { responseCode: 200, headers: { 'X,Bad': 'v' } }, 'ResponseHeadersInvalid'],
    [
      'a header value with a newline',
      { responseCode: 200, headers: { 'X-Ok': 'a\r\nSet-Cookie: x' } },
      'ResponseHeadersInvalid',
    ],
    ['a null header value', { responseCode: 200, headers: { 'X-Ok': null } }, 'ResponseHeadersInvalid'],
    ['an empty list of values', { responseCode: 200, headers: { 'X-Ok': [] } }, 'ResponseHeadersInvalid'],
    ['204 with no body', { responseCode: 204 }, 204],
    ['418 with a JSON body', { responseCode: 418, responseBody: { teapot: true } }, 418],
  ];

  it.each(outputs)('handles an output with %s', async (_label, output, expected) => {
    const { route, secret } = await api(unique(), { action: 'ep.output' });
    const res = await keep(
      request(app)
        .post(`/api/custom/${route}`)
        .set(bearer(secret))
        .set('Content-Type', 'application/json')
        .send(JSON.stringify(output)),
    );
    if (typeof expected === 'number') expect(res.status).toBe(expected);
    else expectError(res, expected);
  });

  it('answers 500, code 8 when the package itself fails unexpectedly', async () => {
    const { route, secret } = await api(unique());
    const catalog = internalsOf(t.udapi).catalog;
    const original = catalog.match.bind(catalog);
    catalog.match = () => {
      throw new Error('injected fault');
    };
    try {
      expectError(await keep(request(app).get(`/api/custom/${route}`).set(bearer(secret))), 'UnexpectedException');
    } finally {
      catalog.match = original;
    }
    expect((await keep(request(app).get(`/api/custom/${route}`).set(bearer(secret)))).status).toBe(200);
  });
});

describe('timeouts and the concurrency cap (codes 2001, 2002)', () => {
  it('answers 504, code 2001 on timeout, and fires the action signal', async () => {
    const limited = await createTestApp(db, { actionTimeoutMs: 200 });
    let signalFired: Promise<boolean> = Promise.resolve(false);
    limited.udapi.registerHandler('ep.slow', (input) => {
      signalFired = new Promise((resolve) => input.context.signal.addEventListener('abort', () => resolve(true)));
      return new Promise(() => undefined); // never settles on its own
    });
    const host = express();
    host.use('/admin/udapi', limited.udapi.adminRouter());
    host.use('/api/custom', limited.udapi.endpoint());
    const { route, secret } = await api(unique(), { target: host, action: 'ep.slow' });
    const started = Date.now();
    const res = await keep(request(host).get(`/api/custom/${route}`).set(bearer(secret)));
    expectError(res, 'ActionTimeout');
    expect(Date.now() - started).toBeLessThan(2000);
    expect(await signalFired).toBe(true);
    await limited.udapi.close();
  });

  it('queues beyond the cap and refuses with 503, code 2002 when the queue is full', async () => {
    const capped = await createTestApp(db, { maxConcurrentActions: 1, maxQueuedActions: 1 });
    let running = 0;
    let maxRunning = 0;
    capped.udapi.registerHandler('ep.wait', async () => {
      running += 1;
      maxRunning = Math.max(maxRunning, running);
      await new Promise((resolve) => setTimeout(resolve, 300));
      running -= 1;
      return { responseCode: 200 };
    });
    const host = express();
    host.use('/admin/udapi', capped.udapi.adminRouter());
    host.use('/api/custom', capped.udapi.endpoint());
    const { route, secret } = await api(unique(), { target: host, action: 'ep.wait' });
    const results = await Promise.all(
      [0, 1, 2].map(() => keep(request(host).get(`/api/custom/${route}`).set(bearer(secret)))),
    );
    const statuses = results.map((res) => res.status).sort();
    expect(statuses).toEqual([200, 200, 503]);
    expectError(
      results.find((res) => res.status === 503)!,
      'Overloaded',
    );
    expect(maxRunning).toBe(1);
    await capped.udapi.close();
  });
});

describe('logs', () => {
  it('writes a start and an end line per call with request id, route, duration, status and token id', async () => {
    const { route, secret, tokenId } = await api(unique());
    const before = t.logs.length;
    await keep(request(app).get(`/api/custom/${route}`).set(bearer(secret)));
    const lines = t.logs.slice(before).filter((line) => line.bindings.stream === 'endpoint');
    expect(lines).toHaveLength(2);
    const [start, end] = lines as [(typeof lines)[0], (typeof lines)[0]];
    expect(start.msg).toMatch(new RegExp(`^Started handling API trigger [0-9a-f-]{36} for route '${route}'$`));
    expect(end.obj).toMatchObject({ route, status: 200, tokenId, durationMs: expect.any(Number) });
    expect((end.obj as { requestId: string }).requestId).toBe((start.obj as { requestId: string }).requestId);
    expect(end.msg).toContain('SUCCEEDED');
    expect(end.level).toBe('info');
  });
});
