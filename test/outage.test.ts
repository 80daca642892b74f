// The database stopped mid-run: the endpoint answers 503/7 within a second, the admin API 503, and both recover alone.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import express from 'express';
import mongoose, { type Connection } from 'mongoose';
import request from 'supertest';
import { startTestDb, type TestDbHandle } from '../scripts/testdb.cjs';
import { createUserDefinedApis, ErrorCodes } from '../src';
import { ADMIN, createTestApp, type TestApp } from './helpers/app';

let dataDir: string;
let database: TestDbHandle;
let port: number;
let connection: Connection;
let t: TestApp;
const host = express();

beforeAll(async () => {
  dataDir = mkdtempSync(path.join(os.tmpdir(), 'udapi-outage-'));
  database = await startTestDb({ dataDir });
  port = Number(new URL(database.uri).port);
  // connectTimeoutMS: the driver's monitor can connect to the restarted database while it is still starting and then
  // wait for the handshake's answer up to this long (30 s by default), serving nothing meanwhile; hosts that want a
  // quick recovery set it low, as here.
  connection = mongoose.createConnection(database.uri, {
    dbName: 'outage',
    serverSelectionTimeoutMS: 2000,
    connectTimeoutMS: 2000,
  });
  await connection.asPromise();
  // The default health check (every 250 ms, a 500 ms ping timeout): what an outage is noticed by.
  t = await createTestApp(
    { connection, name: 'outage', drop: () => Promise.resolve() },
    { healthCheckIntervalMs: 250 },
  );
  host.use('/admin/udapi', t.udapi.adminRouter());
  host.use('/api/custom', t.udapi.endpoint());
}, 120_000);

afterAll(async () => {
  await t.udapi.close();
  await connection.close(true);
  await database.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

async function pollUntil(check: () => Promise<boolean>, timeoutMs: number): Promise<number> {
  const started = Date.now();
  while (Date.now() - started < timeoutMs) {
    if (await check()) return Date.now() - started;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`condition not met within ${timeoutMs} ms`);
}

describe('database outage', () => {
  it('answers 503/7 within one second of the database stopping, then recovers by itself', async () => {
    const token = await request(host).post('/admin/udapi/tokens').set(ADMIN).send({ name: 'outage' });
    const definition = await request(host)
      .post('/admin/udapi/definitions')
      .set(ADMIN)
      .send({
        route: 'outage/check',
        actionMeta: { name: 'test.echo' },
        securitySettings: { allowedTokens: [token.body.id] },
      });
    expect(definition.status).toBe(201);
    const call = () =>
      request(host).get('/api/custom/outage/check').set('Authorization', `Bearer ${token.body.secret}`);
    expect((await call()).status).toBe(200);

    await database.stop();
    const detectedAfter = await pollUntil(async () => {
      const res = await call();
      return res.status === 503 && res.body.errors[0].errorCode === ErrorCodes.NotReady.code;
    }, 1000);
    expect(detectedAfter).toBeLessThan(1000);
    const notReady = await call();
    expect(notReady.headers['retry-after']).toBe('1');

    const admin = await request(host).get('/admin/udapi/tokens').set(ADMIN);
    expect(admin.status).toBe(503);
    expect(admin.body.errors[0].reason).toBe('ServiceUnavailable');

    database = await startTestDb({ dataDir, port });
    await pollUntil(async () => (await call()).status === 200, 30_000);
    expect((await request(host).get(`/admin/udapi/tokens/${token.body.id}`).set(ADMIN)).status).toBe(200);
  }, 60_000);

  it('loses no acknowledged create and makes no duplicate when clients retry across an outage', async () => {
    const prefix = `retry-${Date.now()}`;
    const acknowledged = new Set<string>();
    const settled = new Map<string, 'created' | 'was already created'>();
    let refusedDuringOutage = 0;
    let stopping = false;
    // Each client creates tokens with ids of its own; a failed attempt is retried with the same id until the
    // server says it was created (201) or already exists (409 IdInUse: an earlier attempt had landed).
    const writer = async (client: number): Promise<void> => {
      for (let n = 0; !stopping; n += 1) {
        const id = randomUUID();
        for (;;) {
          const res = await request(host)
            .post('/admin/udapi/tokens')
            .set(ADMIN)
            .timeout(15_000)
            .send({ id, name: `${prefix}-${client}-${n}` })
            .catch(() => null);
          if (res?.status === 201) {
            acknowledged.add(id);
            settled.set(id, 'created');
            break;
          }
          if (res?.status === 409 && res.body.errors[0].reason === 'IdInUse') {
            settled.set(id, 'was already created');
            break;
          }
          refusedDuringOutage += 1;
          // 503 ServiceUnavailable, or no answer at all. Anything else fails, showing the server's last error lines.
          if (res !== null && res.status !== 503) {
            const lastErrors = t.logs.filter((line) => line.level === 'error').slice(-3);
            throw new Error(`a create answered ${res.status}: ${JSON.stringify({ body: res.body, lastErrors })}`);
          }
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      }
    };
    const writers = Array.from({ length: 4 }, (_, client) => writer(client));
    await new Promise((resolve) => setTimeout(resolve, 1000));
    await database.stop();
    // Down until the writers have felt it: a restart quicker than the driver's server selection timeout (2 s) would
    // let every pending write wait and succeed, and the test would prove nothing about retries (seen once in CI).
    await pollUntil(() => Promise.resolve(refusedDuringOutage > 0), 20_000);
    await new Promise((resolve) => setTimeout(resolve, 500));
    database = await startTestDb({ dataDir, port });
    await pollUntil(
      async () => (await request(host).get('/admin/udapi/tokens/count').set(ADMIN)).status === 200,
      30_000,
    );
    await new Promise((resolve) => setTimeout(resolve, 1000));
    stopping = true;
    await Promise.all(writers);

    expect(refusedDuringOutage).toBeGreaterThan(0);
    expect(acknowledged.size).toBeGreaterThan(10);
    const stored = await connection
      .collection('udapiApiTokens')
      .find({ name: { $regex: `^${prefix}-` } })
      .toArray();
    const storedIds = stored.map((doc) => String(doc._id));
    // Every acknowledged create is there; nothing is there twice; nothing is there that no client was told about.
    for (const id of acknowledged) expect(storedIds).toContain(id);
    expect(new Set(stored.map((doc) => String(doc.name))).size).toBe(stored.length);
    expect(storedIds.sort()).toEqual([...settled.keys()].sort());
  }, 90_000);

  it('answers 503/7 before ready() has loaded anything', async () => {
    const early = express();
    const udapi = createUserDefinedApis({ connection, pepper: 'x'.repeat(32), authenticateAdmin: () => null });
    early.use('/api/custom', udapi.endpoint());
    const res = await request(early)
      .get('/api/custom/outage/check')
      .set('Authorization', `Bearer ${'a'.repeat(44)}`);
    expect(res.status).toBe(503);
    expect(res.body.errors[0].errorCode).toBe(7);
    await udapi.close();
  });
});
