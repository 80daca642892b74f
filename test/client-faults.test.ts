// Clients that go away mid-body or mid-action: no action runs on a partial body, the action's signal fires,
// its slot is released (with one slot and no queue, a leak would refuse the next call), and nothing is logged as an error.
import net from 'node:net';
import express from 'express';
import request from 'supertest';
import type { HandlerInput } from '../src/actions/types';
import { ADMIN, createTestApp, type TestApp } from './helpers/app';
import { openTestDb, type TestDb } from './helpers/db';
import { rawClient, type RawClient } from './helpers/raw-http';

let db: TestDb;
let t: TestApp;
let client: RawClient;
let secret: string;
const received: HandlerInput[] = [];
let slowStarted: () => void = () => undefined;
let slowAborted: () => void = () => undefined;

beforeAll(async () => {
  db = await openTestDb();
  t = await createTestApp(db, { maxConcurrentActions: 1, maxQueuedActions: 0, maxBodyBytes: 1024 * 1024 });
  t.udapi.registerHandler('faults.record', (input) => {
    received.push(input);
    return { responseCode: 200, responseBody: { bytes: input.rawBody.length } };
  });
  t.udapi.registerHandler(
    'faults.slow',
    (input) =>
      new Promise((resolve) => {
        slowStarted();
        input.context.signal.addEventListener('abort', () => {
          slowAborted();
          resolve({ responseCode: 200 });
        });
      }),
  );
  const app = express();
  app.use('/admin/udapi', t.udapi.adminRouter());
  app.use('/api/custom', t.udapi.endpoint());
  client = await rawClient(app);
  const token = await request(app).post('/admin/udapi/tokens').set(ADMIN).send({ name: 'faults' });
  secret = token.body.secret as string;
  for (const [route, name] of [
    ['faults/record', 'faults.record'],
    ['faults/slow', 'faults.slow'],
  ]) {
    const res = await request(app)
      .post('/admin/udapi/definitions')
      .set(ADMIN)
      .send({ route, actionMeta: { name }, securitySettings: { allowedTokens: [token.body.id] } });
    expect(res.status).toBe(201);
  }
});

afterAll(async () => {
  try {
    expect(t.logs.filter((line) => line.level === 'error')).toEqual([]);
  } finally {
    await client?.close();
    await t?.udapi.close();
    await db?.drop();
  }
});

/** Opens a raw connection, writes the bytes, and closes it abruptly after `holdMs`. */
async function sendAndVanish(bytes: string, holdMs: number): Promise<void> {
  const socket = net.connect(client.port, '127.0.0.1');
  await new Promise((resolve) => socket.once('connect', resolve));
  socket.write(bytes);
  await new Promise((resolve) => setTimeout(resolve, holdMs));
  socket.destroy();
}

const recordCall = () =>
  client.send({
    method: 'POST',
    path: '/api/custom/faults/record',
    headers: { Authorization: `Bearer ${secret}`, 'Content-Type': 'text/plain' },
    body: 'complete',
  });

describe('clients that disconnect', () => {
  it('runs no action on a body cut off mid-way, and serves the next call', async () => {
    const before = received.length;
    for (let i = 0; i < 20; i += 1) {
      await sendAndVanish(
        `POST /api/custom/faults/record HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${secret}\r\nContent-Type: text/plain\r\nContent-Length: 100000\r\n\r\n${'y'.repeat(5000)}`,
        20,
      );
    }
    const next = await recordCall();
    expect(next.status).toBe(200);
    expect(JSON.parse(next.text)).toEqual({ bytes: 8 });
    expect(received.length).toBe(before + 1);
  });

  it('fires the action signal when the client leaves mid-action, and releases its only slot', async () => {
    for (let round = 0; round < 5; round += 1) {
      const started = new Promise<void>((resolve) => (slowStarted = resolve));
      const aborted = new Promise<void>((resolve) => (slowAborted = resolve));
      const socket = net.connect(client.port, '127.0.0.1');
      await new Promise((resolve) => socket.once('connect', resolve));
      socket.write(`GET /api/custom/faults/slow HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${secret}\r\n\r\n`);
      await started;
      socket.destroy();
      await aborted;
      // One slot, no queue: had the slot leaked, this call would be refused with 503, code 2002.
      const next = await recordCall();
      expect({ round, status: next.status }).toEqual({ round, status: 200 });
    }
    expect(t.logs.some((line) => String(line.msg).includes('ABANDONED'))).toBe(true);
  });

  it('survives admin clients that leave mid-body', async () => {
    const count = await db.connection.collection('udapiApiTokens').countDocuments();
    for (let i = 0; i < 10; i += 1) {
      await sendAndVanish(
        `POST /admin/udapi/tokens HTTP/1.1\r\nHost: x\r\nx-test-user: alice\r\nx-test-permissions: *\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n{"name":"half`,
        20,
      );
    }
    expect(await db.connection.collection('udapiApiTokens').countDocuments()).toBe(count);
    const list = await client.send({ method: 'GET', path: '/admin/udapi/tokens/count', headers: ADMIN });
    expect(JSON.parse(list.text)).toEqual({ count });
  });
});
