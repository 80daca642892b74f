// The OpenAPI 3.1 documents: valid per an OpenAPI validator, complete, and true to what the admin API and the endpoint answer.
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import Ajv2020 from 'ajv/dist/2020';
import express, { type Express, type Router } from 'express';
import request from 'supertest';
import { tokenCreateSchema, definitionListQuerySchema } from '../src/http/schemas';
import { ADMIN, openTestHost, userWith, type TestHost } from './helpers/app';

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
  parameters?: { name: string; in: string; required: boolean; schema: object }[];
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
  const output = execFileSync(process.execPath, [path.join(__dirname, 'helpers', 'validate-openapi.mjs')], { input: JSON.stringify(document) });
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
  const templates = Object.keys(document.paths).sort((a, b) => (a.match(/\{/g)?.length ?? 0) - (b.match(/\{/g)?.length ?? 0));
  return templates.find((template) => new RegExp(`^${template.replace(/\{[^}]+\}/g, '[^/]+')}$`).test(concretePath));
}

/** Every (method, path) the router really serves, walking nested routers; the UI's static files aside. */
function servedRoutes(router: Router): string[] {
  const found: string[] = [];
  const walk = (stack: unknown[]): void => {
    for (const layer of stack as { route?: { path: string; methods: Record<string, boolean> }; handle?: { stack?: unknown[] } }[]) {
      if (layer.route) {
        for (const method of Object.keys(layer.route.methods)) if (!layer.route.path.startsWith('/ui')) found.push(`${method} ${layer.route.path}`);
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
      .flatMap(([template, item]) => Object.keys(item).filter((key) => key !== 'parameters').map((method) => `${method} ${template.replace(/\{([^}]+)\}/g, ':$1')}`))
      .sort();
    expect(documented).toEqual(servedRoutes(host.t.udapi.adminRouter()));
    expect(documented.length).toBeGreaterThanOrEqual(20);
    const ids = Object.values(document.paths).flatMap((item) => Object.values(item).map((operation) => (operation as OperationObject).operationId));
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('embeds the very schemas the validators use, and lists each query parameter and permission', async () => {
    const document = await adminDocument();
    expect(document.paths['/tokens']!.post!.requestBody).toEqual({ required: true, content: { 'application/json': { schema: tokenCreateSchema } } });
    const listDefinitions = document.paths['/definitions']!.get!;
    expect(listDefinitions.parameters!.map((parameter) => parameter.name).sort()).toEqual(Object.keys(definitionListQuerySchema.properties).sort());
    expect(listDefinitions.parameters!.every((parameter) => parameter.in === 'query' && parameter.required === false)).toBe(true);
    expect((listDefinitions as unknown as { 'x-permissions': string[] })['x-permissions']).toEqual(['UserDefinableApiDefinitionRead']);
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
    const call = async (method: 'get' | 'post' | 'patch' | 'delete', concretePath: string, body?: unknown, headers: Record<string, string> = ADMIN) => {
      const pathOnly = concretePath.split('?')[0]!;
      let pending = request(host.app)[method](`/admin/udapi${concretePath}`).set(headers);
      if (body !== undefined) pending = typeof body === 'string' ? pending.type('text/plain').send(body) : pending.send(body as object);
      const res = await pending;
      const template = templateOf(document, pathOnly);
      expect({ concretePath, template }).toEqual({ concretePath, template: expect.any(String) });
      const operation = document.paths[template!]![method];
      expect({ method, concretePath, documented: Boolean(operation) }).toEqual({ method, concretePath, documented: true });
      const response = operation!.responses[String(res.status)];
      expect({ method, concretePath, status: res.status, documented: Boolean(response) }).toEqual({ method, concretePath, status: res.status, documented: true });
      const schema = response!.content?.['application/json']?.schema;
      if (res.status === 204) {
        expect(schema).toBeUndefined();
      } else {
        expect(schema).toBeDefined();
        const validate = ajv.compile({ $id: `check-${operation!.operationId}-${res.status}-${exercised.size}-${Math.random()}`, ...rebase(schema!) });
        const ok = validate(res.body);
        expect({ operationId: operation!.operationId, status: res.status, errors: ok ? null : validate.errors }).toEqual({ operationId: operation!.operationId, status: res.status, errors: null });
      }
      if (res.status < 300) exercised.add(operation!.operationId);
      return res;
    };

    await call('get', '/me');
    await call('get', '/openapi.json');
    await call('get', '/openapi/apis.json');
    const generated = (await call('post', '/tokens', { name: 'openapi-generated' })).body as { id: string; secret: string };
    expect(generated.secret).toEqual(expect.any(String));
    const chosen = (await call('post', '/tokens', { name: 'openapi-chosen', secret: `s${'x'.repeat(40)}`, rateLimit: { limit: 5, windowSeconds: 60 } })).body as { id: string };
    await call('get', '/tokens?limit=1');
    await call('get', '/tokens/count?isDisabled=false');
    await call('get', `/tokens/${chosen.id}`);
    await call('patch', `/tokens/${chosen.id}`, { isDisabled: true });
    await call('post', `/tokens/${generated.id}/rotate`, { previousSecretExpiresAt: new Date(Date.now() + 3_600_000).toISOString() });
    await call('get', '/actions');
    const definition = (await call('post', '/definitions', { route: 'openapi/{id}', actionMeta: { name: 'test.echo' }, securitySettings: { allowedTokens: [generated.id] } })).body as { id: string };
    await call('get', '/definitions?search=openapi');
    await call('get', '/definitions/count');
    await call('get', `/definitions/${definition.id}`);
    await call('patch', `/definitions/${definition.id}`, { name: 'The openapi test', description: 'Echoes.' });
    await call('get', '/events?limit=5');
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

    const documented = Object.values(document.paths).flatMap((item) => Object.entries(item).filter(([key]) => key !== 'parameters').map(([, operation]) => (operation as OperationObject).operationId));
    expect(documented.filter((id) => !exercised.has(id))).toEqual([]);
  });
});

/** Moves a schema taken out of the document under the `admin` schema, so its `#/components/...` references resolve. */
function rebase(schema: object): object {
  return JSON.parse(JSON.stringify(schema).replace(/"#\/components\//g, '"admin#/components/')) as object;
}

describe('GET /openapi/apis.json (the user-defined APIs)', () => {
  const admin = (method: 'get' | 'post' | 'delete', concretePath: string, body?: object) =>
    request(host.app)[method](`/admin/udapi${concretePath}`).set(ADMIN).send(body);

  it('describes every definition as it is now, valid per the validator, and each documented call works as described', async () => {
    const token = (await admin('post', '/tokens', { name: 'apis-doc' })).body as { id: string; secret: string };
    const created: string[] = [];
    for (const body of [
      { route: 'apidoc/encoders/{encoderId}/status', name: 'Encoder status', description: 'Reads one encoder.', actionMeta: { name: 'test.echo' } },
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
    expect(document.components.securitySchemes).toEqual({ bearer: expect.objectContaining({ type: 'http', scheme: 'bearer' }) });

    const status = document.paths['/apidoc/encoders/{encoderId}/status']!;
    expect(status.parameters).toEqual([{ name: 'encoderId', in: 'path', required: true, schema: { type: 'string' } }]);
    expect(Object.keys(status).filter((key) => !['parameters', 'summary', 'description'].includes(key)).sort()).toEqual(['delete', 'get', 'patch', 'post', 'put']);
    expect((status as unknown as { summary: string }).summary).toBe('Encoder status');
    const restart = document.paths['/apidoc/restart']!.post!;
    expect(restart.requestBody).toMatchObject({ required: true, content: { 'application/json': { schema: { required: ['encoderId'] } } } });
    expect(restart.responses['200']).toBeDefined();
    expect(document.paths['/apidoc/params']!.post!.requestBody!.content['application/json']).toBeDefined();

    // The documented path, filled in, reaches the action; a refused call answers the documented error body.
    const url = `${document.servers[0]!.url}/apidoc/encoders/{encoderId}/status`.replace('{encoderId}', 'enc-7');
    const ok = await request(host.app).get(url).set('Authorization', `Bearer ${token.secret}`);
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({ route: 'apidoc/encoders/enc-7/status' });
    const refused = await request(host.app).get(url).set('Authorization', `Bearer ${'n'.repeat(40)}`);
    expect(refused.status).toBe(401);
    const errorRef = status.get!.responses['401']!.$ref!;
    const errorResponse = document.components.responses![errorRef.split('/').pop()!] as { content: Record<string, { schema: { $ref: string } }>; description: string };
    expect(errorResponse.description).toContain('1010');
    const ajv = new Ajv2020({ strict: false });
    ajv.addSchema({ $id: 'apis', components: document.components });
    const validateError = ajv.compile({ $ref: errorResponse.content['application/json']!.schema.$ref.replace('#', 'apis#') });
    expect(validateError(refused.body)).toBe(true);
    expect(validateError({ errors: [{ detail: 'no code' }] })).toBe(false);

    // A literal that a URL must encode is encoded in the path key, and that URL reaches the route.
    expect(document.paths['/apidoc/odd%20name%25/{x}']).toBeDefined();
    const odd = await request(host.app).post('/api/custom/apidoc/odd%20name%25/1').set('Authorization', `Bearer ${token.secret}`);
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

  it('needs the definition-read permission', async () => {
    const res = await request(host.app).get('/admin/udapi/openapi/apis.json').set(userWith('UserDefinableApiTokenRead'));
    expect(res.status).toBe(403);
    expect(res.body.errors[0]).toMatchObject({ reason: 'MissingPermission', permission: 'UserDefinableApiDefinitionRead' });
  });
});
