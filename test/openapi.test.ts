// The OpenAPI 3.1 documents: valid per an OpenAPI validator, complete, and true to what the admin API and the endpoint answer.
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import Ajv2020 from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import express, { type Express, type Router } from 'express';
import request from 'supertest';
import { tokenCreateSchema, definitionListQuerySchema } from '../src/domain/schemas';
import { ADMIN, openTestHost, userWith, type TestHost } from './helpers/app';
import { checkAnswer } from './helpers/admin-conformance';

interface OpenApiDocument {
  openapi: string;
  info: { title: string; version: string };
  servers: { url: string }[];
  paths: Record<string, Record<string, OperationObject> & { parameters?: { name: string; in: string }[] }>;
  components: Record<string, Record<string, unknown>>;
  security?: unknown[];
}

interface OperationObject {
  operationId: string;
  summary?: string;
  parameters?: { name: string; in: string; required: boolean; schema: object; style?: string; explode?: boolean }[];
  requestBody?: { required: boolean; content: Record<string, { schema?: object }> };
  responses: Record<string, { description: string; content?: Record<string, { schema: object }>; $ref?: string }>;
}

let host: TestHost;

beforeAll(async () => {
  host = await openTestHost();
});

afterAll(async () => {
  await host?.close();
});

/** Runs the OpenAPI validator from npm (ESM only) in a process of its own. */
function validateWithNpmValidator(document: unknown): { valid: boolean; version: string; errors: unknown } {
  const output = execFileSync(process.execPath, [path.join(__dirname, 'helpers', 'validate-openapi.mjs')], {
    input: JSON.stringify(document),
  });
  return JSON.parse(output.toString('utf8')) as { valid: boolean; version: string; errors: unknown };
}

async function adminDocument(app: Express = host.app, base = '/admin/udapi'): Promise<OpenApiDocument> {
  const res = await request(app).get(`${base}/openapi.json`).set(ADMIN);
  expect(res.status).toBe(200);
  expect(res.headers['content-type']).toMatch(/^application\/json/);
  return res.body as OpenApiDocument;
}

/** The document's template for a concrete path: literal segments win over parameters, as in the router. */
function templateOf(document: OpenApiDocument, concretePath: string): string | undefined {
  const templates = Object.keys(document.paths).sort(
    (a, b) => (a.match(/\{/g)?.length ?? 0) - (b.match(/\{/g)?.length ?? 0),
  );
  return templates.find((template) => new RegExp(`^${template.replace(/\{[^}]+\}/g, '[^/]+')}$`).test(concretePath));
}

/** Every (method, path) the router really serves, walking nested routers; the UI's static files aside. */
function servedRoutes(router: Router): string[] {
  const found: string[] = [];
  const walk = (stack: unknown[]): void => {
    for (const layer of stack as {
      route?: { path: string; methods: Record<string, boolean> };
      handle?: { stack?: unknown[] };
    }[]) {
      if (layer.route) {
        for (const method of Object.keys(layer.route.methods))
          if (!layer.route.path.startsWith('/ui')) found.push(`${method} ${layer.route.path}`);
      } else if (layer.handle?.stack) {
        walk(layer.handle.stack);
      }
    }
  };
  walk((router as unknown as { stack: unknown[] }).stack);
  return found.sort();
}

describe('GET /openapi.json (the admin REST API)', () => {
  it('is a valid OpenAPI 3.1 document per @seriousme/openapi-schema-validator, and an invalid one is caught', async () => {
    const document = await adminDocument();
    expect(document.openapi).toBe('3.1.0');
    expect(document.servers).toEqual([{ url: '/admin/udapi' }]);
    const verdict = validateWithNpmValidator(document);
    expect(verdict).toEqual({ valid: true, version: '3.1', errors: null });
    // The validator is not a rubber stamp: the same document with a response missing its description fails.
    const broken = structuredClone(document);
    delete (broken.paths['/tokens']!.get!.responses['200'] as { description?: string }).description;
    expect(validateWithNpmValidator(broken).valid).toBe(false);
  });

  it('describes exactly the routes the admin router serves, no more, no fewer', async () => {
    const document = await adminDocument();
    const documented = Object.entries(document.paths)
      .flatMap(([template, item]) =>
        Object.keys(item)
          .filter((key) => key !== 'parameters')
          .map((method) => `${method} ${template.replace(/\{([^}]+)\}/g, ':$1')}`),
      )
      .sort();
    expect(documented).toEqual(servedRoutes(host.t.udapi.adminRouter()));
    expect(documented.length).toBeGreaterThanOrEqual(20);
    const ids = Object.values(document.paths).flatMap((item) =>
      Object.values(item).map((operation) => (operation as OperationObject).operationId),
    );
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('embeds the very schemas the validators are made from, and lists each query parameter and permission', async () => {
    const document = await adminDocument();
    expect(document.paths['/tokens']!.post!.requestBody).toEqual({
      required: true,
      content: { 'application/json': { schema: tokenCreateSchema } },
    });
    const listDefinitions = document.paths['/definitions']!.get!;
    expect(listDefinitions.parameters!.map((parameter) => parameter.name).sort()).toEqual(
      Object.keys(definitionListQuerySchema.properties).sort(),
    );
    expect(
      listDefinitions.parameters!.every((parameter) => parameter.in === 'query' && parameter.required === false),
    ).toBe(true);
    expect((listDefinitions as unknown as { 'x-permissions': string[] })['x-permissions']).toEqual([
      'UserDefinableApiDefinitionRead',
    ]);
    const getToken = document.paths['/tokens/{id}']!.get!;
    expect(getToken.parameters).toEqual([{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }]);
    expect(getToken.responses['404']!.description).toContain('NotFound');
    expect(getToken.responses['403']!.description).toContain('MissingPermission');
  });

  it('follows the mount path: the server URL is wherever the host mounted the router', async () => {
    const app = express();
    const tenant = express.Router({ mergeParams: true });
    tenant.use('/admin', host.t.udapi.adminRouter());
    app.use('/tenants/:tenant', tenant);
    const document = await adminDocument(app, '/tenants/acme/admin');
    expect(document.servers).toEqual([{ url: '/tenants/acme/admin' }]);
  });

  it('needs an admin user and refuses unknown query parameters, like every admin route', async () => {
    const anonymous = await request(host.app).get('/admin/udapi/openapi.json');
    expect(anonymous.status).toBe(401);
    const unknown = await request(host.app).get('/admin/udapi/openapi.json?x=1').set(ADMIN);
    expect(unknown.status).toBe(400);
    expect(unknown.body.errors[0]).toMatchObject({ reason: 'InvalidRequest', field: 'x' });
  });

  it('is true to every answer: each operation answers with a documented status and a body of the documented shape', async () => {
    const document = await adminDocument();
    const ajv = new Ajv2020({ strict: false, validateFormats: false, allErrors: true });
    ajv.addSchema({ $id: 'admin', components: document.components });
    const exercised = new Set<string>();
    const call = async (
      method: 'get' | 'post' | 'patch' | 'delete',
      concretePath: string,
      body?: unknown,
      headers: Record<string, string> = ADMIN,
    ) => {
      const pathOnly = concretePath.split('?')[0]!;
      let pending = request(host.app)[method](`/admin/udapi${concretePath}`).set(headers);
      if (body !== undefined)
        pending = typeof body === 'string' ? pending.type('text/plain').send(body) : pending.send(body as object);
      const res = await pending;
      const template = templateOf(document, pathOnly);
      expect({ concretePath, template }).toEqual({ concretePath, template: expect.any(String) });
      const operation = document.paths[template!]![method];
      expect({ method, concretePath, documented: Boolean(operation) }).toEqual({
        method,
        concretePath,
        documented: true,
      });
      const response = operation!.responses[String(res.status)];
      expect({ method, concretePath, status: res.status, documented: Boolean(response) }).toEqual({
        method,
        concretePath,
        status: res.status,
        documented: true,
      });
      const schema = response!.content?.['application/json']?.schema;
      if (res.status === 204) {
        expect(schema).toBeUndefined();
      } else {
        expect(schema).toBeDefined();
        const validate = ajv.compile({
          $id: `check-${operation!.operationId}-${res.status}-${exercised.size}-${Math.random()}`,
          ...rebase(schema!),
        });
        const ok = validate(res.body);
        expect({
          operationId: operation!.operationId,
          status: res.status,
          errors: ok ? null : validate.errors,
        }).toEqual({ operationId: operation!.operationId, status: res.status, errors: null });
      }
      if (res.status < 300) exercised.add(operation!.operationId);
      return res;
    };

    await call('get', '/me');
    await call('get', '/openapi.json');
    await call('get', '/openapi/apis.json');
    const generated = (await call('post', '/tokens', { name: 'openapi-generated' })).body as {
      id: string;
      secret: string;
    };
    expect(generated.secret).toEqual(expect.any(String));
    const chosen = (
      await call('post', '/tokens', {
        name: 'openapi-chosen',
        secret: `s${'x'.repeat(40)}`,
        rateLimit: { limit: 5, windowSeconds: 60 },
      })
    ).body as { id: string };
    await call('get', '/tokens?limit=1');
    await call('get', '/tokens/count?isDisabled=false');
    await call('get', `/tokens/${chosen.id}`);
    await call('patch', `/tokens/${chosen.id}`, { isDisabled: true });
    await call('post', `/tokens/${generated.id}/rotate`, {
      previousSecretExpiresAt: new Date(Date.now() + 3_600_000).toISOString(),
    });
    await call('get', '/actions');
    const definition = (
      await call('post', '/definitions', {
        route: 'openapi/{id}',
        actionMeta: { name: 'test.echo' },
        securitySettings: { allowedTokens: [generated.id] },
      })
    ).body as { id: string };
    await call('get', '/definitions?search=openapi');
    await call('get', '/definitions/count');
    await call('get', `/definitions/${definition.id}`);
    await call('patch', `/definitions/${definition.id}`, { name: 'The openapi test', description: 'Echoes.' });
    await call('post', '/definitions/input-check', {
      route: 'openapi/{id}',
      input: { route: { type: 'object', properties: { id: { type: 'integer' } } } },
    });
    await call('get', '/events?limit=5');
    await call('get', `/usage?definitionId=${definition.id}&bucket=minute`);
    await call('post', '/explain', { secret: generated.secret, method: 'GET', path: '/api/custom/openapi/1' });
    const backup = (await call('get', '/export')).body as object;

    // The error answers are documented too, with the error body's shape.
    await call('post', '/tokens', { name: '' });
    await call('post', '/tokens', 'not json');
    await call('get', '/tokens/00000000-0000-4000-8000-000000000000');
    await call('get', '/tokens?limit=0');
    await call('delete', `/tokens/${generated.id}`);
    await call('get', '/tokens', undefined, userWith('UserDefinableApiDefinitionRead'));
    await call('get', '/events?objectType=ApiToken', undefined, userWith('UserDefinableApiDefinitionRead'));
    await call('get', '/definitions', undefined, {});
    await call('post', '/import', { format: 'something else' });

    // Empty the store through the API, then restore the export: import and delete are exercised for real.
    await call('delete', `/definitions/${definition.id}`);
    await call('delete', `/tokens/${generated.id}`);
    await call('delete', `/tokens/${chosen.id}`);
    const restored = await call('post', '/import', backup);
    expect(restored.body).toEqual({ tokens: 2, definitions: 1 });

    const documented = Object.values(document.paths).flatMap((item) =>
      Object.entries(item)
        .filter(([key]) => key !== 'parameters')
        .map(([, operation]) => (operation as OperationObject).operationId),
    );
    expect(documented.filter((id) => !exercised.has(id))).toEqual([]);
  });
});

/** Moves a schema taken out of the document under the `admin` schema, so its `#/components/...` references resolve. */
function rebase(schema: object): object {
  return JSON.parse(JSON.stringify(schema).replace(/"#\/components\//g, '"admin#/components/')) as object;
}

/**
 * An API's input as an admin would write it: a body using $defs, $ref and formats (with a top-level $schema), a query
 * with an integer and a list, and an integer route parameter.
 */
const ORDER_INPUT = {
  body: {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    type: 'object',
    required: ['contact'],
    properties: {
      contact: { $ref: '#/$defs/contact' },
      tags: { type: 'array', maxItems: 5, items: { $ref: '#/$defs/tag' } },
    },
    additionalProperties: false,
    $defs: {
      contact: {
        type: 'object',
        required: ['email'],
        properties: {
          email: { type: 'string', format: 'email', maxLength: 254 },
          since: { type: 'string', format: 'date', maxLength: 10 },
        },
      },
      tag: { type: 'string', minLength: 1, maxLength: 20 },
    },
  },
  query: {
    type: 'object',
    required: ['limit'],
    properties: {
      limit: { type: 'integer', minimum: 1, maximum: 100 },
      tag: { type: 'array', maxItems: 5, items: { type: 'string', maxLength: 20 } },
    },
  },
  route: { type: 'object', properties: { orderId: { type: 'integer', minimum: 1 } } },
};

/** A procedure's input: its declared parameter must also look like an encoder id. */
const RESTART_INPUT = {
  body: { type: 'object', properties: { encoderId: { type: 'string', pattern: '^enc-[0-9]+$', maxLength: 12 } } },
};

/** The `$ref`s of a document that point nowhere in it (every one should point inside it). */
function unresolvedRefs(document: unknown): string[] {
  const unresolved: string[] = [];
  const resolve = (ref: string): boolean => {
    if (!ref.startsWith('#/')) return false;
    let node: unknown = document;
    for (const token of ref.slice(2).split('/')) {
      const key = decodeURIComponent(token).replace(/~1/g, '/').replace(/~0/g, '~');
      if (typeof node !== 'object' || node === null || !Object.prototype.hasOwnProperty.call(node, key)) return false;
      node = (node as Record<string, unknown>)[key];
    }
    return true;
  };
  const walk = (node: unknown): void => {
    if (typeof node !== 'object' || node === null) return;
    for (const [key, value] of Object.entries(node))
      if (key === '$ref' && typeof value === 'string') {
        if (!resolve(value)) unresolved.push(value);
      } else walk(value);
  };
  walk(document);
  return unresolved;
}

describe('GET /openapi/apis.json (the user-defined APIs)', () => {
  const admin = (method: 'get' | 'post' | 'delete', concretePath: string, body?: object) =>
    request(host.app)[method](`/admin/udapi${concretePath}`).set(ADMIN).send(body);

  it('describes every definition as it is now, valid per the validator, and each documented call works as described', async () => {
    const token = (await admin('post', '/tokens', { name: 'apis-doc' })).body as { id: string; secret: string };
    const created: string[] = [];
    for (const body of [
      {
        route: 'apidoc/encoders/{encoderId}/status',
        name: 'Encoder status',
        description: 'Reads one encoder.',
        actionMeta: { name: 'test.echo' },
      },
      { route: 'apidoc/params', actionMeta: { name: 'test.echo', inputType: 'parameters' } },
      { route: 'apidoc/restart', actionType: 'procedure', actionMeta: { name: 'test.restart' } },
      { route: 'apidoc/odd name%/{x}', actionMeta: { name: 'test.echo' } },
    ]) {
      const res = await admin('post', '/definitions', { ...body, securitySettings: { allowedTokens: [token.id] } });
      expect(res.status).toBe(201);
      created.push(res.body.id as string);
    }
    const res = await admin('get', '/openapi/apis.json');
    expect(res.status).toBe(200);
    const document = res.body as OpenApiDocument;
    expect(validateWithNpmValidator(document)).toEqual({ valid: true, version: '3.1', errors: null });
    expect(document.servers).toEqual([{ url: '/api/custom' }]);
    expect(document.security).toEqual([{ bearer: [] }]);
    expect(document.components.securitySchemes).toEqual({
      bearer: expect.objectContaining({ type: 'http', scheme: 'bearer' }),
    });

    const status = document.paths['/apidoc/encoders/{encoderId}/status']!;
    expect(status.parameters).toEqual([{ name: 'encoderId', in: 'path', required: true, schema: { type: 'string' } }]);
    expect(
      Object.keys(status)
        .filter((key) => !['parameters', 'summary', 'description'].includes(key))
        .sort(),
    ).toEqual(['delete', 'get', 'patch', 'post', 'put']);
    expect((status as unknown as { summary: string }).summary).toBe('Encoder status');
    const restart = document.paths['/apidoc/restart']!.post!;
    expect(restart.requestBody).toMatchObject({
      required: true,
      content: { 'application/json': { schema: { required: ['encoderId'] } } },
    });
    expect(restart.responses['200']).toBeDefined();
    expect(document.paths['/apidoc/params']!.post!.requestBody!.content['application/json']).toBeDefined();

    // The documented path, filled in, reaches the action; a refused call answers the documented error body.
    const url = `${document.servers[0]!.url}/apidoc/encoders/{encoderId}/status`.replace('{encoderId}', 'enc-7');
    const ok = await request(host.app).get(url).set('Authorization', `Bearer ${token.secret}`);
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({ route: 'apidoc/encoders/enc-7/status' });
    const refused = await request(host.app)
      .get(url)
      .set('Authorization', `Bearer ${'n'.repeat(40)}`);
    expect(refused.status).toBe(401);
    const errorRef = status.get!.responses['401']!.$ref!;
    const errorResponse = document.components.responses![errorRef.split('/').pop()!] as {
      content: Record<string, { schema: { $ref: string } }>;
      description: string;
    };
    expect(errorResponse.description).toContain('1010');
    const ajv = new Ajv2020({ strict: false });
    ajv.addSchema({ $id: 'apis', components: document.components });
    const validateError = ajv.compile({
      $ref: errorResponse.content['application/json']!.schema.$ref.replace('#', 'apis#'),
    });
    expect(validateError(refused.body)).toBe(true);
    expect(validateError({ errors: [{ detail: 'no code' }] })).toBe(false);

    // A literal that a URL must encode is encoded in the path key, and that URL reaches the route.
    expect(document.paths['/apidoc/odd%20name%25/{x}']).toBeDefined();
    const odd = await request(host.app)
      .post('/api/custom/apidoc/odd%20name%25/1')
      .set('Authorization', `Bearer ${token.secret}`);
    expect(odd.status).toBe(200);
    expect(odd.body).toMatchObject({ route: 'apidoc/odd%20name%25/1' });

    // A deleted definition leaves the document at once.
    await admin('delete', `/definitions/${created[1]}`);
    const after = (await admin('get', '/openapi/apis.json')).body as OpenApiDocument;
    expect(after.paths['/apidoc/params']).toBeUndefined();
    expect(after.paths['/apidoc/restart']).toBeDefined();
    for (const id of [created[0], created[2], created[3]]) await admin('delete', `/definitions/${id}`);
    await admin('delete', `/tokens/${token.id}`);
  });

  it("publishes the APIs' input schemas: parameters, request bodies, $defs as components whose refs resolve, and the endpoint agrees", async () => {
    const token = (await admin('post', '/tokens', { name: 'apis-input' })).body as { id: string; secret: string };
    const created: string[] = [];
    for (const body of [
      { route: 'apidoc-input/orders/{orderId}', actionMeta: { name: 'test.echo' }, input: ORDER_INPUT },
      {
        route: 'apidoc-input/restart',
        actionType: 'procedure',
        actionMeta: { name: 'test.restart' },
        input: RESTART_INPUT,
      },
      { route: 'apidoc-input/plain', actionMeta: { name: 'test.echo' } },
    ]) {
      const res = await admin('post', '/definitions', { ...body, securitySettings: { allowedTokens: [token.id] } });
      expect(res.status).toBe(201);
      created.push(res.body.id as string);
    }
    const document = (await admin('get', '/openapi/apis.json')).body as OpenApiDocument;
    expect(validateWithNpmValidator(document)).toEqual({ valid: true, version: '3.1', errors: null });
    expect(unresolvedRefs(document)).toEqual([]);
    const schemas = document.components.schemas!;
    const orderBody = `input-${created[0]}-body`;

    // The route parameter has its schema, each query property is a parameter (a list one exploded), and so on.
    const orders = document.paths['/apidoc-input/orders/{orderId}']!;
    expect((orders as unknown as { summary: string }).summary).toBe('apidoc-input/orders/{orderId}');
    expect(orders.get!.summary).toBe('GET apidoc-input/orders/{orderId}');
    expect(orders.parameters).toEqual([
      { name: 'orderId', in: 'path', required: true, schema: { type: 'integer', minimum: 1 } },
      { name: 'limit', in: 'query', required: true, schema: { type: 'integer', minimum: 1, maximum: 100 } },
      {
        name: 'tag',
        in: 'query',
        required: false,
        style: 'form',
        explode: true,
        schema: { type: 'array', maxItems: 5, items: { type: 'string', maxLength: 20 } },
      },
    ]);
    // The body's schema is a component; an empty body is refused only where a call has one (POST, PUT, PATCH).
    for (const method of ['post', 'put', 'patch', 'get', 'delete'])
      expect([method, orders[method]!.requestBody]).toEqual([
        method,
        {
          required: ['post', 'put', 'patch'].includes(method),
          description: expect.any(String),
          content: { 'application/json': { schema: { $ref: `#/components/schemas/${orderBody}` } } },
        },
      ]);
    // Its $defs are components of their own, its refs point at them, and the $schema is gone.
    expect(schemas[orderBody]).toEqual({
      type: 'object',
      required: ['contact'],
      properties: {
        contact: { $ref: `#/components/schemas/${orderBody}-contact` },
        tags: { type: 'array', maxItems: 5, items: { $ref: `#/components/schemas/${orderBody}-tag` } },
      },
      additionalProperties: false,
    });
    expect(schemas[`${orderBody}-contact`]).toEqual(ORDER_INPUT.body.$defs.contact);
    expect(schemas[`${orderBody}-tag`]).toEqual(ORDER_INPUT.body.$defs.tag);

    // A procedure's body must have its declared parameters and match its input schema, both.
    const restart = document.paths['/apidoc-input/restart']!.post!;
    expect(restart.requestBody).toEqual({
      required: true,
      description: expect.any(String),
      content: {
        'application/json': {
          schema: {
            allOf: [
              expect.objectContaining({ type: 'object', required: ['encoderId'] }),
              { $ref: `#/components/schemas/input-${created[1]}-body` },
            ],
          },
        },
      },
    });

    // The 400 lists the codes that can answer each API; a handler's own statuses go to default; 2006 is among the 500s.
    const description = (operation: OperationObject, status: string) => operation.responses[status]?.description;
    expect(description(orders.post!, '400')).toMatch(/^The endpoint refused[^]*\n18: [^]*handler may answer 400/);
    expect(description(orders.post!, '400')).not.toMatch(/\n(1|10|16): /);
    expect(description(restart, '400')).toMatch(/\n10: [^]*\n16: [^]*\n18: /);
    expect(document.paths['/apidoc-input/plain']!.post!.responses['400']).toBeUndefined();
    expect(orders.post!.responses.default!.description).toContain("the body is still the handler's");
    expect(orders.post!.responses['500']).toEqual({ $ref: '#/components/responses/Error500' });
    expect((document.components.responses!.Error500 as { description: string }).description).toContain('2006: ');
    expect(Object.keys(document.components.responses!)).not.toContain('Error400');

    // The documented schemas, compiled as a client would (formats too), say what the endpoint says.
    const ajv = new Ajv2020({ strict: false, allErrors: true });
    addFormats(ajv);
    ajv.addSchema({ $id: 'apis', components: document.components });
    const documentedBody = ajv.compile({ $ref: `apis#/components/schemas/${orderBody}` });
    const call = (where: string, body: unknown) =>
      request(host.app)
        .post(`/api/custom/${where}`)
        .set('Authorization', `Bearer ${token.secret}`)
        .send(body as object);
    const bodies: unknown[] = [
      { contact: { email: 'a@example.com' } },
      { contact: { email: 'a@example.com', since: '2024-02-29' }, tags: ['x', 'y'] },
      { contact: { email: 'not an address' } },
      { contact: { email: 'a@example.com', since: '2023-02-29' } },
      { contact: {} },
      { contact: { email: 'a@example.com' }, tags: [''] },
      { contact: { email: 'a@example.com' }, extra: 1 },
      {},
      [],
    ];
    const statuses = new Set<number>();
    for (const body of bodies) {
      const res = await call('apidoc-input/orders/7?limit=5&tag=a&tag=b', body);
      expect({ body, status: res.status }).toEqual({ body, status: documentedBody(body) ? 200 : 400 });
      statuses.add(res.status);
    }
    expect([...statuses].sort()).toEqual([200, 400]);
    // A refusal carries inputErrors, in the documented error body, as do refused route and query values.
    const validateError = ajv.compile({ $ref: 'apis#/components/schemas/EndpointErrorBody' });
    for (const [where, part] of [
      ['apidoc-input/orders/7?limit=5', 'body'],
      ['apidoc-input/orders/0?limit=5', 'route'],
      ['apidoc-input/orders/abc?limit=5', 'route'],
      ['apidoc-input/orders/7?limit=500', 'query'],
      ['apidoc-input/orders/7', 'query'],
    ] as const) {
      const res = await call(where, part === 'body' ? { contact: 1 } : { contact: { email: 'a@example.com' } });
      expect([where, res.status, res.body.errors[0].errorCode, res.body.errors[0].inputErrors[0].in]).toEqual([
        where,
        400,
        18,
        part,
      ]);
      expect(validateError(res.body)).toBe(true);
    }
    expect(
      validateError({
        errors: [{ title: 'x', detail: 'x', errorCode: 18, faultingNode: 'n', inputErrors: [{ in: 'header' }] }],
      }),
    ).toBe(false);
    const documentedRestart = ajv.compile({
      $id: 'restart',
      ...(JSON.parse(
        JSON.stringify(restart.requestBody!.content['application/json']!.schema).replace(/"#\//g, '"apis#/'),
      ) as object),
    });
    for (const body of [{ encoderId: 'enc-1' }, { encoderId: 'x' }, { other: 'enc-1' }]) {
      const res = await call('apidoc-input/restart', body);
      expect({ body, documented: documentedRestart(body) }).toEqual({ body, documented: res.status === 200 });
    }

    for (const id of created) await admin('delete', `/definitions/${id}`);
    await admin('delete', `/tokens/${token.id}`);
  });

  it('needs the definition-read permission', async () => {
    const res = await request(host.app)
      .get('/admin/udapi/openapi/apis.json')
      .set(userWith('UserDefinableApiTokenRead'));
    expect(res.status).toBe(403);
    expect(res.body.errors[0]).toMatchObject({
      reason: 'MissingPermission',
      permission: 'UserDefinableApiDefinitionRead',
    });
  });
});

/** Lints documents with Redocly's recommended rules (@redocly/openapi-core, ESM only) in a process of its own. */
function lint(
  documents: Record<string, unknown>,
): Record<string, { rule: string; severity: string; message: string }[]> {
  const output = execFileSync(process.execPath, [path.join(__dirname, 'helpers', 'lint-openapi.mjs')], {
    input: JSON.stringify(documents),
  });
  return JSON.parse(output.toString('utf8')) as Record<string, { rule: string; severity: string; message: string }[]>;
}

/** Lints documents with Spectral's `spectral:oas` ruleset (@stoplight/spectral-core) in a process of its own. */
function spectral(
  documents: Record<string, unknown>,
): Record<string, { rule: string; severity: string; message: string; where: string }[]> {
  const output = execFileSync(process.execPath, [path.join(__dirname, 'helpers', 'spectral-openapi.mjs')], {
    input: JSON.stringify(documents),
  });
  return JSON.parse(output.toString('utf8')) as Record<
    string,
    { rule: string; severity: string; message: string; where: string }[]
  >;
}

/** Definitions of every kind, input schemas included, for the APIs' document the linters read. */
const LINTED_DEFINITIONS = [
  { route: 'lint/{id}', name: 'Lint', description: 'A *handler*.', actionMeta: { name: 'test.echo' } },
  { route: 'lint/run', actionType: 'procedure', actionMeta: { name: 'test.restart' } },
  { route: 'lint/params', actionMeta: { name: 'test.echo', inputType: 'parameters' } },
  { route: 'lint/input/{orderId}', actionMeta: { name: 'test.echo' }, input: ORDER_INPUT },
  { route: 'lint/input-run', actionType: 'procedure', actionMeta: { name: 'test.restart' }, input: RESTART_INPUT },
  {
    route: 'lint/input-params',
    actionMeta: { name: 'test.echo', inputType: 'parameters' },
    input: { body: { type: 'object', properties: { count: { type: 'integer' } } } },
  },
  // Boolean schemas: any body, no query parameter at all.
  {
    route: 'lint/input-any',
    actionMeta: { name: 'test.echo' },
    input: { body: true, query: { type: 'object', additionalProperties: false } },
  },
];

/** The APIs' document while LINTED_DEFINITIONS are defined; they are gone again afterwards. */
async function lintedApisDocument(): Promise<OpenApiDocument> {
  const token = (await request(host.app).post('/admin/udapi/tokens').set(ADMIN).send({ name: 'lint' })).body as {
    id: string;
  };
  const ids: string[] = [];
  try {
    for (const body of LINTED_DEFINITIONS) {
      const res = await request(host.app)
        .post('/admin/udapi/definitions')
        .set(ADMIN)
        .send({ ...body, securitySettings: { allowedTokens: [token.id] } });
      expect(res.status).toBe(201);
      ids.push(res.body.id as string);
    }
    return (await request(host.app).get('/admin/udapi/openapi/apis.json').set(ADMIN)).body as OpenApiDocument;
  } finally {
    for (const id of ids) await request(host.app).delete(`/admin/udapi/definitions/${id}`).set(ADMIN);
    await request(host.app).delete(`/admin/udapi/tokens/${token.id}`).set(ADMIN);
  }
}

describe('conformance: the documents, linted, and the answers they promise', () => {
  it("passes Redocly's recommended rules (both documents: no error, no warning but the APIs' license), and the linter finds a broken one", async () => {
    const apis = await lintedApisDocument();
    expect(Object.keys(apis.components.schemas!).filter((name) => name.startsWith('input-'))).toHaveLength(6);
    const admin = await adminDocument();
    const broken = structuredClone(admin);
    delete broken.security;
    const report = lint({ admin, apis, broken });
    // The APIs' document has no license to state: the APIs are the host's, not this package's.
    expect({ admin: report.admin, apis: report.apis }).toEqual({
      admin: [],
      apis: [expect.objectContaining({ rule: 'info-license', severity: 'warn' })],
    });
    expect(report.broken!.filter((problem) => problem.severity === 'error').map((problem) => problem.rule)).toContain(
      'security-defined',
    );
    expect(validateWithNpmValidator(apis)).toEqual({ valid: true, version: '3.1', errors: null });
    expect(unresolvedRefs(apis)).toEqual([]);
  });

  it("passes Spectral's spectral:oas rules (both documents: no error; the APIs' warnings printed), and Spectral finds a broken one", async () => {
    const apis = await lintedApisDocument();
    const broken = structuredClone(apis);
    const [first, second] = Object.values(broken.paths);
    first!.get!.operationId = second!.get!.operationId;
    const report = spectral({ admin: await adminDocument(), apis, broken });
    const errors = (name: string) => report[name]!.filter((problem) => problem.severity === 'error');
    expect({ admin: errors('admin'), apis: errors('apis') }).toEqual({ admin: [], apis: [] });
    expect(errors('broken').map((problem) => problem.rule)).toContain('operation-operationId-unique');
    // Warnings are advice (operations without tags or descriptions, a handler's answers documented as `default`).
    const warnings = new Map<string, number>();
    for (const { rule, severity } of report.apis!)
      warnings.set(`${severity} ${rule}`, (warnings.get(`${severity} ${rule}`) ?? 0) + 1);
    console.info(`Spectral's findings on the APIs' document: ${JSON.stringify(Object.fromEntries(warnings))}`);
  });

  it('documents the host authentication as a security scheme, the license, and the document endpoints as documents', async () => {
    const document = await adminDocument();
    expect(document.security).toEqual([{ host: [] }]);
    expect(document.components.securitySchemes).toEqual({
      host: expect.objectContaining({
        type: 'apiKey',
        in: 'header',
        name: 'Authorization',
        'x-authenticated-by': 'host',
      }),
    });
    for (const template of ['/openapi.json', '/openapi/apis.json'])
      expect(document.paths[template]!.get!.responses['200']!.content!['application/json']!.schema).toEqual({
        $ref: '#/components/schemas/OpenApiDocument',
      });
    const token = document.components.schemas!.ApiToken as { properties: Record<string, { format?: string }> };
    expect(token.properties.createdAt!.format).toBe('date-time');
    // The rotation's 400 names only the reasons of the fields it takes.
    const rotate400 = document.paths['/tokens/{id}/rotate']!.post!.responses['400'] as unknown as {
      'x-error-reasons': string[];
    };
    expect(rotate400['x-error-reasons']).toEqual(['InvalidPreviousSecretExpiresAt', 'InvalidRequest', 'InvalidSecret']);
  });

  it('documents 413 and 415 on every operation, GET and DELETE too, and OPTIONS gets the documented 404', async () => {
    const document = await adminDocument();
    for (const item of Object.values(document.paths))
      for (const operation of Object.values(item) as OperationObject[])
        expect([operation.operationId, Object.keys(operation.responses)]).toEqual([
          operation.operationId,
          expect.arrayContaining(['400', '401', '413', '415', '500', '503']),
        ]);
    const big = JSON.stringify({ pad: 'x'.repeat(300 * 1024) });
    const cases = [
      ['get', '/tokens', 'application/json', big, 413, 'PayloadTooLarge'],
      ['delete', '/tokens/00000000-0000-4000-8000-000000000000', 'application/json', big, 413, 'PayloadTooLarge'],
      ['get', '/me', 'application/xml', '<a/>', 415, 'UnsupportedMediaType'],
      ['delete', '/definitions/00000000-0000-4000-8000-000000000000', 'text/plain', 'x', 415, 'UnsupportedMediaType'],
    ] as const;
    for (const [method, where, type, body, status, reason] of cases) {
      const res = await request(host.app)[method](`/admin/udapi${where}`).set(ADMIN).type(type).send(body);
      expect([method, where, res.status, res.body.errors?.[0]?.reason]).toEqual([method, where, status, reason]);
      expect(
        checkAnswer(method.toUpperCase(), where, res.status, String(res.headers['content-type']), res.text),
      ).toEqual([]);
    }
    for (const where of ['/tokens', '/tokens/00000000-0000-4000-8000-000000000000', '/ui/', '/nowhere']) {
      const res = await request(host.app).options(`/admin/udapi${where}`).set(ADMIN);
      expect([where, res.status, res.body.errors?.[0]?.reason, res.headers.allow]).toEqual([
        where,
        404,
        'NotFound',
        undefined,
      ]);
    }
    expect((await request(host.app).options('/admin/udapi/tokens')).status).toBe(401);
  });

  it('the answer checker of every admin test file finds an undocumented status, reason or body', () => {
    const json = 'application/json; charset=utf-8';
    expect(checkAnswer('GET', '/tokens', 200, json, '{"items":[],"nextCursor":null}')).toEqual([]);
    expect(checkAnswer('GET', '/tokens', 418, json, '{}')).toEqual([expect.stringContaining('does not document 418')]);
    const wrongReason = JSON.stringify({ errors: [{ reason: 'InvalidName', message: 'x' }] });
    expect(checkAnswer('POST', '/tokens/00000000-0000-4000-8000-000000000000/rotate', 400, json, wrongReason)).toEqual([
      expect.stringContaining('reason InvalidName is not among the documented 400 reasons of rotateToken'),
    ]);
    expect(checkAnswer('GET', '/me', 200, json, '{"name":1,"permissions":[]}')).toEqual([
      expect.stringContaining("does not match getMe's 200 schema"),
    ]);
    expect(checkAnswer('GET', '/tokens/x', 200, json, '{"id":"x"}')).toEqual([
      expect.stringContaining("does not match getToken's 200 schema"),
    ]);
    const notFound = JSON.stringify({ errors: [{ reason: 'NotFound', message: 'x' }] });
    expect(checkAnswer('PUT', '/tokens', 404, json, notFound)).toEqual([]);
    expect(checkAnswer('PUT', '/tokens', 200, json, '{}')).toHaveLength(2);
  });
});

describe('conformance: the request schemas and the server agree on every rule', () => {
  /** The request body schema the document gives, compiled as a schema-driven client would use it. */
  const documented = (document: OpenApiDocument, template: string, method: string) => {
    const ajv = new Ajv2020({ strict: false, allErrors: true });
    ajv.addSchema({ $id: 'admin', components: document.components });
    return ajv.compile(rebase(document.paths[template]![method]!.requestBody!.content['application/json']!.schema!));
  };
  const secretOf = (length: number) => `${randomUUID().replace(/-/g, '')}${'A'.repeat(length)}`.slice(0, length);

  it('token fields: names, secrets, ids, rate limits and times, at the edges of each rule', async () => {
    const document = await adminDocument();
    const create = documented(document, '/tokens', 'post');
    const fresh = () => ({ name: `edge-${randomUUID().slice(0, 8)}` });
    const cases: Record<string, unknown>[] = [
      { name: 'n'.repeat(200) },
      { name: 'n'.repeat(201) },
      { name: '😀'.repeat(200) },
      { name: '😀'.repeat(201) },
      { name: '' },
      { name: ' \t ' },
      { name: 'a\u202eb' },
      { name: 'right-to-left\u200f mark' },
      { name: 'line\nbreak' },
      { secret: secretOf(31) },
      { secret: secretOf(32) },
      { secret: secretOf(512) },
      { secret: secretOf(513) },
      { secret: `${secretOf(32)}!` },
      { id: randomUUID() },
      { id: 'not-a-uuid' },
      { rateLimit: { limit: 1, windowSeconds: 1 } },
      { rateLimit: { limit: 100, windowSeconds: 86_400 } },
      { rateLimit: { limit: 0, windowSeconds: 60 } },
      { rateLimit: { limit: 101, windowSeconds: 60 } },
      { rateLimit: { limit: 10, windowSeconds: 0 } },
      { rateLimit: { limit: 10, windowSeconds: 86_401 } },
      { rateLimit: null },
      { expiresAt: '2040-01-01' },
      { expiresAt: '2040-01-01T10:00:00Z' },
      { expiresAt: '2040-01-01T10:00:00.123+02:00' },
      { expiresAt: '2040-93-01T10:00:00Z' },
      { expiresAt: '2040-01-41' },
      { expiresAt: '2040-01-01T24:00:00Z' },
      { expiresAt: '2040-01-01T10:60:00Z' },
      { expiresAt: 'tomorrow' },
    ];
    for (const fields of cases) {
      const body = { ...fresh(), ...fields };
      const res = await request(host.app).post('/admin/udapi/tokens').set(ADMIN).send(body);
      const verdicts = { documented: create(body), server: res.status === 201 };
      expect({ fields, ...verdicts }).toEqual({ fields, documented: verdicts.server, server: verdicts.server });
      expect(res.status === 201 || res.status === 400).toBe(true);
      if (res.status === 201) await request(host.app).delete(`/admin/udapi/tokens/${res.body.id}`).set(ADMIN);
    }
    // A patch may send an empty secret (keep the current one); a rotation may not, and its grace time is a time.
    const { id } = (await request(host.app).post('/admin/udapi/tokens').set(ADMIN).send(fresh())).body as {
      id: string;
    };
    const patch = documented(document, '/tokens/{id}', 'patch');
    for (const body of [{ secret: '' }, { secret: secretOf(31) }, { secret: secretOf(40) }]) {
      const res = await request(host.app).patch(`/admin/udapi/tokens/${id}`).set(ADMIN).send(body);
      expect({ body, documented: patch(body) }).toEqual({ body, documented: res.status === 200 });
    }
    const rotate = documented(document, '/tokens/{id}/rotate', 'post');
    const soon = new Date(Date.now() + 3_600_000).toISOString();
    for (const body of [
      {},
      { secret: '' },
      { previousSecretExpiresAt: soon },
      { previousSecretExpiresAt: '2026-13-01' },
    ]) {
      const res = await request(host.app).post(`/admin/udapi/tokens/${id}/rotate`).set(ADMIN).send(body);
      expect({ body, documented: rotate(body) }).toEqual({ body, documented: res.status === 200 });
    }
    await request(host.app).delete(`/admin/udapi/tokens/${id}`).set(ADMIN);
  });

  it('definition fields: an empty name means none, as the original; whitespace, long names, routes and token ids', async () => {
    const document = await adminDocument();
    const create = documented(document, '/definitions', 'post');
    const route = () => `edge/${randomUUID().slice(0, 8)}`;
    const cases: Record<string, unknown>[] = [
      { name: '' },
      { name: null },
      { name: ' ' },
      { name: 'n'.repeat(200) },
      { name: 'n'.repeat(201) },
      { description: 'two\nlines\tand a tab' },
      { description: 'carriage\rreturn' },
      { route: 'r'.repeat(260) },
      { route: '' },
      { id: 'not-a-uuid' },
      { securitySettings: { allowedTokens: ['not-a-uuid'] } },
      { securitySettings: { allowedTokens: [] } },
    ];
    for (const fields of cases) {
      const body = { route: route(), actionMeta: { name: 'test.echo' }, ...fields };
      const res = await request(host.app).post('/admin/udapi/definitions').set(ADMIN).send(body);
      expect({ fields, documented: create(body) }).toEqual({ fields, documented: res.status === 201 });
      if (res.status !== 201) continue;
      // An empty name is stored as none: the answer, a read and the list show no name.
      if (fields.name === '') {
        expect(res.body).not.toHaveProperty('name');
        const read = await request(host.app).get(`/admin/udapi/definitions/${res.body.id}`).set(ADMIN);
        expect(read.body).not.toHaveProperty('name');
      }
      await request(host.app).delete(`/admin/udapi/definitions/${res.body.id}`).set(ADMIN);
    }
  });
});
