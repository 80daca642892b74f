// Input schemas per definition: what saving refuses, what the endpoint answers (code 18), and the compiled cache.
import { randomUUID } from 'node:crypto';
import express from 'express';
import request from 'supertest';
import { PATTERN_WORK_LIMIT, patternLengthCap, slowPatternProblem } from '../src/domain/input-schema';
import { InputChecker } from '../src/services/input-check';
import { internalsOf } from '../src/plugin';
import { ADMIN, createTestApp, openTestHost, type TestApp, type TestHost } from './helpers/app';

let host: TestHost;
let other: TestApp;
const otherEndpoint = express();
let secret: string;
let tokenId: string;

beforeAll(async () => {
  host = await openTestHost({ failedAuthThrottle: false });
  host.t.udapi.registerHandler('input.echo', (input) => ({
    responseCode: 200,
    responseBody: {
      body: input.rawBody,
      parameters: input.parameters,
      query: input.queryParameters.getAll('n'),
      route: input.routeParameters,
    },
  }));
  other = await createTestApp(host.db, { changePollIntervalMs: 100, failedAuthThrottle: false });
  other.udapi.registerHandler('input.echo', () => ({ responseCode: 200, responseBody: { other: true } }));
  otherEndpoint.use('/api/custom', other.udapi.endpoint());
  const token = await request(host.app).post('/admin/udapi/tokens').set(ADMIN).send({ name: 'input-caller' });
  secret = token.body.secret;
  tokenId = token.body.id;
});

afterAll(async () => {
  await other?.udapi.close();
  await host?.close();
});

const admin = {
  get: (path: string) => request(host.app).get(`/admin/udapi${path}`).set(ADMIN),
  post: (path: string, body: object) => request(host.app).post(`/admin/udapi${path}`).set(ADMIN).send(body),
  patch: (path: string, body: object) => request(host.app).patch(`/admin/udapi${path}`).set(ADMIN).send(body),
  delete: (path: string) => request(host.app).delete(`/admin/udapi${path}`).set(ADMIN),
};

function unique(prefix: string): string {
  return `${prefix}-${randomUUID().slice(0, 8)}`;
}

async function define(route: string, input: object | undefined, extra: object = {}): Promise<string> {
  const res = await admin.post('/definitions', {
    route,
    actionMeta: { name: 'input.echo' },
    securitySettings: { allowedTokens: [tokenId] },
    ...(input && { input }),
    ...extra,
  });
  expect(res.body).toMatchObject({ route });
  expect(res.status).toBe(201);
  return String(res.body.id);
}

const call = (method: 'get' | 'post' | 'put' | 'delete', path: string, app: express.Express = host.app) =>
  request(app)[method](`/api/custom/${path}`).set('Authorization', `Bearer ${secret}`);

const ORDER_BODY = {
  type: 'object',
  required: ['item', 'quantity'],
  additionalProperties: false,
  properties: {
    item: { type: 'string', minLength: 1, maxLength: 40, pattern: '^[a-z-]+$' },
    quantity: { type: 'integer', minimum: 1, maximum: 100 },
    email: { type: 'string', format: 'email', maxLength: 254 },
  },
};

describe('saving a definition with input schemas', () => {
  it('stores, returns, replaces and removes them', async () => {
    const route = unique('orders');
    const id = await define(route, { body: ORDER_BODY });
    expect((await admin.get(`/definitions/${id}`)).body.input).toEqual({ body: ORDER_BODY });
    const query = { type: 'object', properties: { n: { type: 'integer' } } };
    const patched = await admin.patch(`/definitions/${id}`, { input: { query } });
    expect(patched.status).toBe(200);
    expect(patched.body.input).toEqual({ query });
    // A patch that does not name input keeps it.
    expect((await admin.patch(`/definitions/${id}`, { name: 'kept' })).body.input).toEqual({ query });
    const removed = await admin.patch(`/definitions/${id}`, { input: null });
    expect(removed.status).toBe(200);
    expect(removed.body.input).toBeUndefined();
    expect((await admin.get(`/definitions/${id}`)).body).not.toHaveProperty('input');
  });

  it('keeps schema keywords that no database field name may hold ($defs, $ref, dotted names)', async () => {
    const body = {
      $schema: 'https://json-schema.org/draft/2020-12/schema',
      $defs: { id: { type: 'string', maxLength: 10 } },
      type: 'object',
      properties: { 'a.b': { $ref: '#/$defs/id' }, $weird: { type: 'boolean' } },
    };
    const route = unique('dollars');
    const id = await define(route, { body });
    expect((await admin.get(`/definitions/${id}`)).body.input).toEqual({ body });
    const ok = await call('post', route).send({ 'a.b': 'x', $weird: true });
    expect(ok.status).toBe(200);
    const bad = await call('post', route).send({ 'a.b': 'x'.repeat(11) });
    expect(bad.status).toBe(400);
    expect(bad.body.errors[0].inputErrors).toEqual([
      { in: 'body', instancePath: '/a.b', message: 'must NOT have more than 10 characters' },
    ]);
  });

  it.each([
    ['not an object', 'nope', 'input'],
    ['an unknown part', { headers: {} }, 'input.headers'],
    ['a schema that is not an object', { body: 42 }, 'input.body'],
    ['an unknown keyword (strict mode)', { body: { type: 'object', colour: 'red' } }, 'input.body'],
    ['an unknown format', { body: { type: 'string', format: 'colour', maxLength: 5 } }, 'input.body'],
    [
      'a wrong keyword value (meta-schema)',
      { body: { type: 'object', minProperties: -1 } },
      'input.body/minProperties',
    ],
    ['a remote $ref', { body: { $ref: 'https://example.com/schema.json' } }, 'input.body/$ref'],
    ['a relative $ref to a file', { body: { $ref: 'other.json#/a' } }, 'input.body/$ref'],
    ['a $ref to nothing', { body: { $ref: '#/$defs/missing' } }, 'input.body'],
    ['an $id', { body: { $id: 'https://example.com/s', type: 'object' } }, 'input.body/$id'],
    ['another draft', { body: { $schema: 'http://json-schema.org/draft-07/schema#' } }, 'input.body/$schema'],
    ['a pattern without maxLength', { body: { type: 'string', pattern: '^a' } }, 'input.body/pattern'],
    ['a format without maxLength', { body: { type: 'string', format: 'email' } }, 'input.body/format'],
    ['a catastrophic pattern', { body: { type: 'string', pattern: '^(a+)+$', maxLength: 50 } }, 'input.body/pattern'],
    ['a back-reference', { body: { type: 'string', pattern: '(a)\\1', maxLength: 50 } }, 'input.body/pattern'],
    ['an invalid pattern', { body: { type: 'string', pattern: '(', maxLength: 5 } }, 'input.body'],
    ['uniqueItems without maxItems', { body: { type: 'array', uniqueItems: true } }, 'input.body/uniqueItems'],
    [
      'patternProperties without propertyNames.maxLength',
      { body: { type: 'object', patternProperties: { '^x': true } } },
      'input.body/patternProperties',
    ],
    [
      'a route schema naming a parameter the route lacks',
      { route: { type: 'object', properties: { nope: { type: 'string' } } } },
      'input.route/properties/nope',
    ],
  ])('refuses %s with InvalidInputSchema and where', async (_label, input, field) => {
    const res = await admin.post('/definitions', {
      route: `${unique('bad')}/{id}`,
      actionMeta: { name: 'input.echo' },
      input,
    });
    expect(res.status).toBe(400);
    const items = res.body.errors as { reason: string; field?: string; message: string }[];
    expect(items.map((item) => item.reason)).toContain('InvalidInputSchema');
    expect(items.find((item) => item.reason === 'InvalidInputSchema')).toMatchObject({ field });
    expect(items[0]!.message.length).toBeGreaterThan(10);
  });

  it('lists every problem of a request at once, with the other fields', async () => {
    const res = await admin.post('/definitions', {
      route: unique('many'),
      name: '   ',
      actionMeta: { name: 'input.echo' },
      input: { body: { type: 'string', pattern: '^a' }, query: { type: 'array', uniqueItems: true } },
    });
    expect(res.status).toBe(400);
    const fields = (res.body.errors as { reason: string; field?: string }[]).map((e) => `${e.reason} ${e.field ?? ''}`);
    expect(fields).toEqual(
      expect.arrayContaining([
        'InvalidName ',
        'InvalidInputSchema input.body/pattern',
        'InvalidInputSchema input.query/uniqueItems',
      ]),
    );
  });

  it('refuses schemas over 64 KB and nested over 32 deep, in bounded time', async () => {
    const huge = {
      body: { type: 'object', properties: Object.fromEntries(Array.from({ length: 8000 }, (_, i) => [`p${i}`, {}])) },
    };
    let deep: object = { type: 'string' };
    for (let i = 0; i < 40; i++) deep = { type: 'array', items: deep };
    for (const [input, message] of [
      [huge, /at most 65536/],
      [{ body: deep }, /at most 32 deep/],
    ] as const) {
      const started = Date.now();
      const res = await admin.post('/definitions', { route: unique('big'), actionMeta: { name: 'input.echo' }, input });
      expect(res.status).toBe(400);
      expect(res.body.errors[0]).toMatchObject({ reason: 'InvalidInputSchema' });
      expect(res.body.errors[0].message).toMatch(message);
      expect(Date.now() - started).toBeLessThan(5000);
    }
  });

  it('a request over the admin body limit is refused before any schema work', async () => {
    const res = await admin.post('/definitions', {
      route: unique('limit'),
      actionMeta: { name: 'input.echo' },
      input: { body: { description: 'x'.repeat(2_000_000) } },
    });
    expect(res.status).toBe(413);
  });
});

describe('slow patterns', () => {
  it.each([
    ['(a+)+', true],
    ['(a*)*b', true],
    ['(a|b?c+)*', true],
    ['((ab)*c)+', true],
    ['(x{2,})+', true],
    ['(\\d+\\.)+', true],
    // Conservative: a repeated group holding a repetition is refused even where a separator makes it safe.
    ['^[a-z]+(-[a-z]+)*$', true],
    ['^[a-z]+(-[a-z])*$', false],
    ['^(ab)+$', false],
    ['^a+b+$', false],
    ['(a{1})+', false],
    ['[(]+', false],
    ['\\(a+\\)+', false],
    // Lazy quantifiers repeat as greedy ones do; a brace that is no quantifier is a character.
    ['(a+?)+?', true],
    ['(a{2}?)+', true],
    ['(a{x})+', false],
    ['(a{1,1})*', false],
    // Back-references (numbered or named) can take exponential time whatever surrounds them.
    ['(a)\\1', true],
    ['(?<x>a)\\k<x>', true],
    // Malformed patterns are judged without throwing (ajv's strict compile refuses them afterwards).
    ['a)+', false],
    ['[a\\]+', false],
    ['a\\', false],
    ['x'.repeat(513), true],
  ])('%s is refused: %s', (pattern, refused) => {
    expect(slowPatternProblem(pattern) !== null).toBe(refused);
  });
});

describe('the endpoint checks the input before the action runs', () => {
  it('passes a call whose body, query and route match; the handler sees them as sent', async () => {
    const base = unique('shop');
    await define(`${base}/{id}`, {
      body: ORDER_BODY,
      query: { type: 'object', properties: { n: { type: 'array', items: { type: 'integer' }, maxItems: 3 } } },
      route: { type: 'object', properties: { id: { type: 'integer', minimum: 1 } } },
    });
    const res = await call('post', `${base}/42?n=1&n=2`).send({ item: 'tea', quantity: 3 });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      body: JSON.stringify({ item: 'tea', quantity: 3 }),
      parameters: {},
      query: ['1', '2'],
      route: { id: '42' },
    });
    // A single value passes an array schema; coerced types do not change what the handler gets.
    expect((await call('post', `${base}/7?n=5`).send({ item: 'tea', quantity: 1 })).body.query).toEqual(['5']);
  });

  it('refuses with 400, code 18, and every problem of each part', async () => {
    const base = unique('shop');
    await define(`${base}/{id}`, {
      body: ORDER_BODY,
      query: { type: 'object', properties: { n: { type: 'integer', maximum: 9 } }, required: ['n'] },
      route: { type: 'object', properties: { id: { type: 'integer' } } },
    });
    const res = await call('post', `${base}/abc?n=12`).send({ item: 'Tea!', quantity: 0, extra: 1, email: 'x' });
    expect(res.status).toBe(400);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    const [item] = res.body.errors;
    expect(item).toMatchObject({
      errorCode: 18,
      detail: 'The request does not match the input this API describes.',
      faultingNode: 'test-node',
    });
    expect(item.inputErrors).toEqual([
      { in: 'route', instancePath: '/id', message: 'must be integer' },
      { in: 'query', instancePath: '/n', message: 'must be <= 9' },
      { in: 'body', instancePath: '', message: 'must NOT have additional properties (extra)' },
      { in: 'body', instancePath: '/item', message: 'must match pattern "^[a-z-]+$"' },
      { in: 'body', instancePath: '/quantity', message: 'must be >= 1' },
      { in: 'body', instancePath: '/email', message: 'must match format "email"' },
    ]);
    expect(item).not.toHaveProperty('missingScriptParameters');
  });

  it('an empty body is refused for POST, PUT and PATCH but not GET and DELETE; a body that is not JSON always', async () => {
    const route = unique('bodies');
    await define(route, { body: { type: 'object' } });
    const empty = await call('post', route);
    expect(empty.status).toBe(400);
    expect(empty.body.errors[0].inputErrors).toEqual([
      { in: 'body', instancePath: '', message: 'must be a JSON body; the body is empty' },
    ]);
    expect((await call('put', route)).status).toBe(400);
    expect((await call('get', route)).status).toBe(200);
    expect((await call('delete', route)).status).toBe(200);
    const text = await call('post', route).set('Content-Type', 'text/plain').send('hello');
    expect(text.status).toBe(400);
    expect(text.body.errors[0].inputErrors[0].message).toMatch(/does not parse as JSON/);
  });

  it('a parameters handler has its flat object checked as sent (numbers stay numbers), an empty body as {}', async () => {
    const route = unique('params');
    await define(
      route,
      { body: { type: 'object', required: ['limit'], properties: { limit: { type: 'integer', maximum: 50 } } } },
      { actionMeta: { name: 'input.echo', inputType: 'parameters' } },
    );
    const ok = await call('post', route).send({ limit: 10 });
    expect(ok.status).toBe(200);
    expect(ok.body.parameters).toEqual({ limit: '10' });
    const text = await call('post', route).send({ limit: '10' });
    expect(text.status).toBe(400);
    expect(text.body.errors[0].inputErrors).toEqual([
      { in: 'body', instancePath: '/limit', message: 'must be integer' },
    ]);
    const none = await call('get', route);
    expect(none.body.errors[0].inputErrors).toEqual([
      { in: 'body', instancePath: '', message: "must have required property 'limit'" },
    ]);
    // The original's own checks come first: a body that is not a flat object is code 10.
    expect((await call('post', route).send({ limit: { deep: 1 } })).body.errors[0].errorCode).toBe(10);
  });

  it('caps the list and what it quotes: at most 20 problems, short paths, never a long value', async () => {
    const route = unique('caps');
    await define(route, {
      body: { type: 'object', additionalProperties: { type: 'integer' }, propertyNames: { maxLength: 500 } },
    });
    const body = Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`${'k'.repeat(300)}${i}`, 'v'.repeat(1000)]));
    const res = await call('post', route).send(body);
    expect(res.status).toBe(400);
    const problems = res.body.errors[0].inputErrors as { instancePath: string; message: string }[];
    expect(problems).toHaveLength(20);
    for (const problem of problems) {
      expect(problem.instancePath.length).toBeLessThanOrEqual(200);
      expect(problem.message.length).toBeLessThanOrEqual(300);
    }
    expect(JSON.stringify(res.body)).not.toContain('v'.repeat(100));
  });

  it('a large body gets its first problem only, quickly', async () => {
    const route = unique('large');
    await define(route, { body: { type: 'array', items: { type: 'integer' } } });
    const body = Array.from({ length: 200_000 }, () => 'x');
    const res = await call('post', route).send(body);
    expect(res.status).toBe(400);
    expect(res.body.errors[0].inputErrors).toEqual([{ in: 'body', instancePath: '/0', message: 'must be integer' }]);
  });

  it('data nested far deeper than a recursive schema can follow is refused, not a crash', async () => {
    const route = unique('deep');
    await define(route, {
      body: { $defs: { node: { type: 'array', items: { $ref: '#/$defs/node' } } }, $ref: '#/$defs/node' },
    });
    const depth = 200_000;
    const res = await call('post', route)
      .set('Content-Type', 'application/json')
      .send('['.repeat(depth) + ']'.repeat(depth));
    // JSON.parse or the validator gives up; either way a 400 and the server lives on.
    expect(res.status).toBe(400);
    expect((await call('post', route).send([[[]]])).status).toBe(200);
  });

  it('a polynomial pattern runs only on strings its repetitions allow, even where every problem is listed', async () => {
    // ^a*a*a*b$ backtracks about n^3 steps on n a's: maxLength may be at most the cube root of the work limit.
    const pattern = '^a*a*a*b$';
    const cap = patternLengthCap(pattern);
    expect(cap).toBe(Math.floor(PATTERN_WORK_LIMIT ** (1 / 3)));
    const over = await admin.post('/definitions', {
      route: unique('poly'),
      actionMeta: { name: 'input.echo' },
      input: { body: { type: 'object', properties: { s: { type: 'string', maxLength: cap + 1, pattern } } } },
    });
    expect(over.body.errors[0]).toMatchObject({
      reason: 'InvalidInputSchema',
      field: 'input.body/properties/s/maxLength',
    });
    const route = unique('poly');
    await define(route, { body: { type: 'object', properties: { s: { type: 'string', maxLength: cap, pattern } } } });
    // A body under 64 KB gets its problems listed with ajv's all-errors mode, which runs a pattern even on a string
    // over its maxLength: the string of 60,000 a's (60,000^3 steps) is refused by the bound without running.
    const started = Date.now();
    const long = await call('post', route).send({ s: 'a'.repeat(60_000) });
    expect(long.body.errors[0].inputErrors).toEqual([
      { in: 'body', instancePath: '/s', message: `must NOT have more than ${cap} characters` },
      { in: 'body', instancePath: '/s', message: `must match pattern "${pattern}"` },
    ]);
    const worst = await call('post', route).send({ s: 'a'.repeat(cap) });
    expect(worst.body.errors[0].inputErrors).toEqual([
      { in: 'body', instancePath: '/s', message: `must match pattern "${pattern}"` },
    ]);
    // Not a speed goal: a guard against a hang (60,000^3 steps would take days).
    expect(Date.now() - started).toBeLessThan(10_000);
    expect((await call('post', route).send({ s: 'aaab' })).status).toBe(200);
  });

  it('a schema near the size limit compiles once, at the first call, in bounded time', async () => {
    const properties = Object.fromEntries(
      Array.from({ length: 900 }, (_, i) => [
        `field${i}`,
        { type: 'string', maxLength: 20, enum: ['a', 'b', `c${i}`] },
      ]),
    );
    const input = { body: { type: 'object', properties, required: Object.keys(properties).slice(0, 300) } };
    expect(Buffer.byteLength(JSON.stringify(input))).toBeGreaterThan(50_000);
    const route = unique('wide');
    await define(route, input);
    const started = Date.now();
    const first = await call('post', route).send({});
    expect(first.status).toBe(400);
    expect(first.body.errors[0].inputErrors).toHaveLength(20);
    expect(Date.now() - started).toBeLessThan(10_000);
  });
});

describe('procedures: declared parameters and an input schema', () => {
  it('missing declared parameters stay code 16; a schema then checks the rest (code 18)', async () => {
    const route = unique('proc');
    await define(
      route,
      { body: { type: 'object', properties: { encoderId: { type: 'string', pattern: '^E[0-9]+$', maxLength: 10 } } } },
      { actionType: 'procedure', actionMeta: { name: 'test.restart' } },
    );
    const missing = await call('post', route).send({});
    expect(missing.body.errors[0]).toMatchObject({ errorCode: 16, missingScriptParameters: ['encoderId'] });
    const bad = await call('post', route).send({ encoderId: 'X1' });
    expect(bad.body.errors[0]).toMatchObject({ errorCode: 18 });
    expect((await call('post', route).send({ encoderId: 'E7' })).status).toBe(200);
  });
});

describe('explain reports an input failure as the endpoint would', () => {
  it('invalidInput with the same problems, the procedure codes, and allowed when the input fits', async () => {
    const base = unique('explained');
    await define(`${base}/{id}`, {
      body: ORDER_BODY,
      route: { type: 'object', properties: { id: { type: 'integer' } } },
    });
    const explain = (body: object) => admin.post('/explain', { secret, method: 'POST', ...body });
    const sent = { item: 'Tea!', quantity: 0 };
    const endpoint = await call('post', `${base}/x`).send(sent);
    const explained = await explain({ path: `/api/custom/${base}/x`, body: JSON.stringify(sent) });
    expect(explained.status).toBe(200);
    expect(explained.body).toMatchObject({ verdict: 'invalidInput', status: 400, errorCode: 18 });
    expect(explained.body.inputErrors).toEqual(endpoint.body.errors[0].inputErrors);
    const fine = await explain({ path: `${base}/7`, body: JSON.stringify({ item: 'tea', quantity: 2 }) });
    expect(fine.body).toMatchObject({ verdict: 'allowed', status: 200 });
    expect(fine.body).not.toHaveProperty('inputErrors');
    // No body on a POST: the endpoint refuses it, and so does explain.
    expect((await explain({ path: `${base}/7` })).body).toMatchObject({ verdict: 'invalidInput' });

    const procedure = unique('explained-proc');
    await define(procedure, undefined, { actionType: 'procedure', actionMeta: { name: 'test.restart' } });
    expect((await explain({ path: procedure, body: '{}' })).body).toMatchObject({
      verdict: 'missingParameters',
      errorCode: 16,
      missingScriptParameters: ['encoderId'],
    });
    expect((await explain({ path: procedure, body: '[1]' })).body).toMatchObject({
      verdict: 'invalidParameters',
      errorCode: 10,
    });
  });
});

describe('compiled validators follow the definition', () => {
  it('a change is enforced at once here and on another instance within its poll; a delete drops it', async () => {
    const route = unique('cache');
    const id = await define(route, { body: { type: 'object', required: ['a'] } });
    const otherCall = () => call('post', route, otherEndpoint).send({ b: 1 });
    expect((await call('post', route).send({ b: 1 })).status).toBe(400);
    await waitFor(async () => (await otherCall()).status === 400);

    await admin.patch(`/definitions/${id}`, { input: { body: { type: 'object', required: ['b'] } } });
    expect((await call('post', route).send({ b: 1 })).status).toBe(200);
    await waitFor(async () => (await otherCall()).status === 200);

    await admin.patch(`/definitions/${id}`, { input: null });
    expect((await call('post', route).set('Content-Type', 'text/plain').send('x')).status).toBe(200);
    await admin.delete(`/definitions/${id}`);
    expect((await call('post', route).send({ b: 1 })).status).toBe(404);
    await waitFor(async () => (await otherCall()).status === 404);
  });

  it('compiles once per definition and instance: a full reload of the view compiles nothing again', async () => {
    const route = unique('once');
    await define(route, { body: { type: 'object', required: ['a'] } });
    const before = InputChecker.compilations;
    expect((await call('post', route).send({ a: 1 })).status).toBe(200);
    expect(InputChecker.compilations).toBe(before + 1);
    for (let i = 0; i < 5; i++) await call('post', route).send({ b: 1 });
    await internalsOf(host.t.udapi).feed.reload();
    expect((await call('post', route).send({ a: 1 })).status).toBe(200);
    expect(InputChecker.compilations).toBe(before + 1);
  });

  it('a stored schema that does not compile is logged once and refused with 500, code 2006; the others work', async () => {
    const route = unique('broken');
    const id = await define(route, { body: { type: 'object' } });
    const collection = host.db.connection.collection('udapiApiDefinitions');
    await collection.updateOne({ _id: id } as never, { $set: { inputSchemas: '{"body":{"type":"colour"}}' } });
    await internalsOf(host.t.udapi).feed.reload();
    const first = await call('post', route).send({});
    expect(first.status).toBe(500);
    expect(first.body.errors[0]).toMatchObject({ errorCode: 2006 });
    expect((await call('post', route).send({})).status).toBe(500);
    const logged = host.t.logs.filter((line) => String(line.msg).includes('cannot be compiled'));
    expect(logged).toHaveLength(1);
    expect(logged[0]).toMatchObject({ level: 'error', obj: { definitionId: id } });
    // Saving it again with a good schema heals it.
    await admin.patch(`/definitions/${id}`, { input: { body: { type: 'object' } } });
    expect((await call('post', route).send({})).status).toBe(200);
  });
});

async function waitFor(condition: () => Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
