// The example app as a real process: HTTP Basic admin users and the README's curl that creates a token.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import mongoose from 'mongoose';
import request from 'supertest';

const root = path.join(__dirname, '..');
const dbName = `udapi_w${process.env.JEST_WORKER_ID ?? '0'}_example`;
let child: ChildProcess;
let baseUrl: string;
let dataDir: string;
let output = '';

beforeAll(async () => {
  // The example imports the package by name, which resolves to the build.
  if (!existsSync(path.join(root, 'dist', 'index.mjs'))) {
    const build = spawnSync(process.execPath, [path.join(root, 'scripts', 'build.mjs')], { stdio: 'inherit' });
    if (build.status !== 0) throw new Error('npm run build failed');
  }
  dataDir = mkdtempSync(path.join(os.tmpdir(), 'udapi-example-'));
  child = spawn(process.execPath, [path.join(root, 'example-app', 'server.mjs')], {
    env: { ...process.env, PORT: '0', MONGODB_DB: dbName, EXAMPLE_DATA_DIR: dataDir, UDAPI_PEPPER: 'example-test-pepper-0123456789abcdef' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  baseUrl = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`example app did not start:\n${output}`)), 20_000);
    child.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const match = /listening on (http:\/\/localhost:\d+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]!);
      }
    });
    child.stderr!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.once('exit', (code) => reject(new Error(`example app exited with ${code}:\n${output}`)));
  });
});

afterAll(async () => {
  child.kill('SIGTERM');
  await new Promise((resolve) => child.once('exit', resolve));
  rmSync(dataDir, { recursive: true, force: true });
  const connection = await mongoose.createConnection(process.env.MONGODB_URI!, { dbName }).asPromise();
  await connection.dropDatabase();
  await connection.close();
});

describe('example app', () => {
  it("answers the README's curl (admin:admin creates a token) with the generated secret, once", async () => {
    const res = await request(baseUrl).post('/admin/udapi/tokens').auth('admin', 'admin').send({ name: 'x' });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ name: 'x', createdBy: 'admin', secret: expect.stringMatching(/^[A-Za-z0-9+/]{43}=$/) });
    const read = await request(baseUrl).get(`/admin/udapi/tokens/${res.body.id}`).auth('admin', 'admin');
    expect(read.status).toBe(200);
    expect(read.body).not.toHaveProperty('secret');
    expect(output).not.toContain(res.body.secret);
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
    expect(output).not.toContain(token.body.secret);
  });
});
