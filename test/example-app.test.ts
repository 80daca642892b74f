// The example app as a real process: HTTP Basic admin users and the README's curl that creates a token.
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
    expect(res.body).toMatchObject({ name: 'x', createdBy: 'admin', secret: expect.stringMatching(/^[A-Za-z0-9+/]{43}=$/) });
    const read = await request(baseUrl).get(`/admin/udapi/tokens/${res.body.id}`).auth('admin', 'admin');
    expect(read.status).toBe(200);
    expect(read.body).not.toHaveProperty('secret');
    expect(app!.output()).not.toContain(res.body.secret);
  });

  it('lets viewer/viewer read but not write, and challenges a browser without credentials', async () => {
    expect((await request(baseUrl).get('/admin/udapi/tokens').auth('viewer', 'viewer')).status).toBe(200);
    const write = await request(baseUrl).post('/admin/udapi/tokens').auth('viewer', 'viewer').send({ name: 'y' });
    expect(write.status).toBe(403);
    expect(write.body.errors[0]).toMatchObject({ reason: 'MissingPermission', permission: 'UserDefinableApiTokenCreateUpdate' });
    const anonymous = await request(baseUrl).get('/admin/udapi/tokens');
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers['www-authenticate']).toMatch(/^Basic realm=/);
    expect((await request(baseUrl).get('/admin/udapi/tokens').auth('admin', 'wrong')).status).toBe(401);
  });

  it('serves user-defined APIs end to end: token, definitions, handler, parameters handler and procedure', async () => {
    const token = await request(baseUrl).post('/admin/udapi/tokens').auth('admin', 'admin').send({ name: 'example-consumer' });
    const allow = { securitySettings: { allowedTokens: [token.body.id] } };
    const define = (body: object) => request(baseUrl).post('/admin/udapi/definitions').auth('admin', 'admin').send({ ...body, ...allow });
    expect((await define({ route: 'encoders', actionMeta: { name: 'encoders.list' } })).status).toBe(201);
    expect((await define({ route: 'encoders/{id}', actionMeta: { name: 'encoders.get' } })).status).toBe(201);
    expect((await define({ route: 'tickets', actionMeta: { name: 'tickets.create', inputType: 'parameters' } })).status).toBe(201);
    expect((await define({ route: 'encoders/{id}/restart', actionType: 'procedure', actionMeta: { name: 'encoders.restart' } })).status).toBe(201);
    const bearer = { Authorization: `Bearer ${token.body.secret}` };

    const running = await request(baseUrl).get('/api/custom/encoders?status=running').set(bearer);
    expect(running.status).toBe(200);
    expect(running.body.items.map((e: { id: string }) => e.id)).toEqual(['enc-1', 'enc-3']);
    expect((await request(baseUrl).get('/api/custom/Encoders/enc-2').set(bearer)).body).toMatchObject({ id: 'enc-2', name: 'Studio B' });
    expect((await request(baseUrl).get('/api/custom/encoders/nope').set(bearer)).status).toBe(404);
    const ticket = await request(baseUrl).post('/api/custom/tickets').set(bearer).send({ title: 'Audio drift', priority: 'high' });
    expect(ticket.status).toBe(201);
    expect(ticket.headers.location).toBe('tickets/1');
    const restart = await request(baseUrl).post('/api/custom/encoders/enc-2/restart').set(bearer).send({ encoderId: 'enc-2' });
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
    expect(Object.keys(apis.body.paths)).toEqual(expect.arrayContaining(['/encoders', '/encoders/{id}', '/tickets', '/encoders/{id}/restart']));
  });
});
