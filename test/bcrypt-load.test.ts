// First calls of new secrets under load: one bcrypt per secret and instance however many calls wait for it, and an
// overloaded bcrypt pool answers 503 (code 2002, Retry-After), never 500.
import express, { type Express } from 'express';
import request from 'supertest';
import { internalsOf } from '../src/plugin';
import { ADMIN, createTestApp, type TestApp } from './helpers/app';
import { openTestDb, type TestDb } from './helpers/db';

let db: TestDb;

beforeAll(async () => {
  db = await openTestDb();
});

afterAll(async () => {
  await db?.drop();
});

async function host(overrides: Parameters<typeof createTestApp>[1]): Promise<{ t: TestApp; app: Express }> {
  const t = await createTestApp(db, overrides);
  const app = express();
  app.use('/admin/udapi', t.udapi.adminRouter());
  app.use('/api/custom', t.udapi.endpoint());
  return { t, app };
}

/** Creates `count` tokens and one API that allows them all; returns their secrets and the route. */
async function tokensAndApi(app: Express, count: number, route: string): Promise<string[]> {
  const tokens: { id: string; secret: string }[] = [];
  for (let i = 0; i < count; i += 1)
    tokens.push(
      (
        await request(app)
          .post('/admin/udapi/tokens')
          .set(ADMIN)
          .send({ name: `load-${i}` })
      ).body,
    );
  const res = await request(app)
    .post('/admin/udapi/definitions')
    .set(ADMIN)
    .send({
      route,
      actionMeta: { name: 'test.echo' },
      securitySettings: { allowedTokens: tokens.map((token) => token.id) },
    });
  expect(res.status).toBe(201);
  return tokens.map((token) => token.secret);
}

describe('bcrypt under load', () => {
  it('verifies a new secret once however many first calls arrive together', async () => {
    const writer = await host({ bcryptRounds: 8 });
    const [secret] = await tokensAndApi(writer.app, 1, 'load/once');
    await writer.t.udapi.close();
    // Another instance (or this one after a restart) has not verified the secret yet.
    const { t, app } = await host({ bcryptRounds: 8 });
    try {
      const { bcrypt } = internalsOf(t.udapi);
      const before = bcrypt.stats.compares;
      const answers = await Promise.all(
        Array.from({ length: 100 }, () =>
          request(app).get('/api/custom/load/once').set('Authorization', `Bearer ${secret}`),
        ),
      );
      expect(answers.map((res) => res.status)).toEqual(answers.map(() => 200));
      expect(bcrypt.stats.compares - before).toBe(1);
    } finally {
      await t.udapi.close();
    }
  });

  it('answers first calls that find the bcrypt queue full with 503, code 2002 and Retry-After, never 500', async () => {
    // Cost 12 (~300 ms a comparison here): the six calls all arrive while the first comparison runs, even on a
    // loaded machine, so exactly one runs, one waits and four find the queue full.
    const writer = await host({ bcryptRounds: 12 });
    const secrets = await tokensAndApi(writer.app, 6, 'load/full');
    await writer.t.udapi.close();
    const { t, app } = await host({ bcryptRounds: 12, bcryptConcurrency: 1, bcryptQueueLimit: 1 });
    try {
      const answers = await Promise.all(
        secrets.map((secret) => request(app).get('/api/custom/load/full').set('Authorization', `Bearer ${secret}`)),
      );
      const statuses = answers.map((res) => res.status).sort();
      // One runs, one waits, the other four find the queue full.
      expect(statuses).toEqual([200, 200, 503, 503, 503, 503]);
      for (const res of answers.filter((answer) => answer.status === 503)) {
        expect(res.body.errors[0].errorCode).toBe(2002);
        expect(res.headers['retry-after']).toBe('1');
      }
      expect(t.logs.filter((line) => line.level === 'error')).toEqual([]);
      // The refused secrets work once the pool has room.
      for (const secret of secrets)
        expect((await request(app).get('/api/custom/load/full').set('Authorization', `Bearer ${secret}`)).status).toBe(
          200,
        );
    } finally {
      await t.udapi.close();
    }
  });
});
