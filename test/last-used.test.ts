// lastUsedAt: written coalesced off the request path, shown in lists, filterable by unusedSince, never an admin change.
import { randomUUID } from 'node:crypto';
import express, { type Express } from 'express';
import request from 'supertest';
import { internalsOf } from '../src/plugin';
import { ADMIN, createTestApp, openTestHost, type TestApp, type TestHost } from './helpers/app';
import type { TestDb } from './helpers/db';

// Long enough that the timer never runs during a test: each test flushes when it means to.
const INTERVAL_MS = 60_000;
let host: TestHost;
let db: TestDb;
let t: TestApp;
let app: Express;

beforeAll(async () => {
  host = await openTestHost({ lastUsedIntervalMs: INTERVAL_MS });
  ({ db, t, app } = host);
});

afterAll(async () => {
  await host?.close();
});

const admin = {
  post: (path: string, body: object = {}) => request(app).post(`/admin/udapi${path}`).set(ADMIN).send(body),
  get: (path: string) => request(app).get(`/admin/udapi${path}`).set(ADMIN),
};
const tokens = () => db.connection.collection('udapiApiTokens');

async function tokenWithRoute(): Promise<{
  id: string;
  secret: string;
  route: string;
  call: (secret?: string) => request.Test;
}> {
  const token = await admin.post('/tokens', { name: `used-${randomUUID().slice(0, 8)}` });
  const route = `used/${randomUUID().slice(0, 8)}`;
  expect(
    (
      await admin.post('/definitions', {
        route,
        actionMeta: { name: 'test.echo' },
        securitySettings: { allowedTokens: [token.body.id] },
      })
    ).status,
  ).toBe(201);
  return {
    id: token.body.id as string,
    secret: token.body.secret as string,
    route,
    call: (secret = token.body.secret as string) =>
      request(app).get(`/api/custom/${route}`).set('Authorization', `Bearer ${secret}`),
  };
}

/** Calls until the answer has `status` (another instance sees a new definition at its next poll). */
async function waitForStatus(call: () => request.Test, status: number): Promise<void> {
  const started = Date.now();
  while ((await call()).status !== status) {
    if (Date.now() - started > 3000) throw new Error(`never answered ${status} within 3 s`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('lastUsedAt', () => {
  it('is null until the first successful call, then shown in lists within an interval', async () => {
    const { id, call } = await tokenWithRoute();
    expect((await admin.get(`/tokens/${id}`)).body.lastUsedAt).toBeNull();
    const before = Date.now();
    expect((await call()).status).toBe(200);
    await internalsOf(t.udapi).lastUse.flush();
    const listed = (await admin.get(`/tokens?ids=${id}`)).body.items[0].lastUsedAt as string;
    expect(Date.parse(listed)).toBeGreaterThanOrEqual(before - 5);
    expect(Date.parse(listed)).toBeLessThanOrEqual(Date.now());
    // Stored too, and read from the database when the in-memory view is not trusted.
    expect((await admin.get(`/tokens/${id}`)).body.lastUsedAt).toBe(listed);
    const catalog = internalsOf(t.udapi).catalog;
    catalog.stale = true;
    try {
      expect((await admin.get(`/tokens?ids=${id}`)).body.items[0].lastUsedAt).toBe(listed);
    } finally {
      catalog.stale = false;
    }
  });

  it('is stored at close() for the calls noted since the last write, without reading back the others', async () => {
    const closing = await createTestApp(db, { lastUsedIntervalMs: INTERVAL_MS });
    const closingHost = express();
    closingHost.use('/api/custom', closing.udapi.endpoint());
    const { id, secret } = await tokenWithRoute();
    const route = (await admin.get(`/definitions?allowedToken=${id}`)).body.items[0].route as string;
    const lastUse = internalsOf(closing.udapi).lastUse as unknown as { readBack: () => Promise<void> };
    let readBacks = 0;
    const readBack = lastUse.readBack.bind(lastUse);
    lastUse.readBack = () => {
      readBacks += 1;
      return readBack();
    };
    await waitForStatus(
      () => request(closingHost).get(`/api/custom/${route}`).set('Authorization', `Bearer ${secret}`),
      200,
    );
    const before = await tokens().findOne({ _id: id as never });
    expect(before!.lastUsedAt ?? null).toBeNull();
    await closing.udapi.close();
    const after = await tokens().findOne({ _id: id as never });
    expect(after!.lastUsedAt).toBeInstanceOf(Date);
    expect(readBacks).toBe(0);
  });

  it('does not count refused calls', async () => {
    const { id, secret, call } = await tokenWithRoute();
    const other = await tokenWithRoute();
    expect((await request(app).patch(`/admin/udapi/tokens/${id}`).set(ADMIN).send({ isDisabled: true })).status).toBe(
      200,
    );
    expect((await call()).status).toBe(401);
    // Allowed elsewhere but not on this route: refused too.
    expect((await other.call(secret)).status).toBe(401);
    await internalsOf(t.udapi).lastUse.flush();
    expect((await admin.get(`/tokens/${id}`)).body.lastUsedAt).toBeNull();
  });

  it('writes once per interval however many calls, and is not an admin change', async () => {
    const { id, call } = await tokenWithRoute();
    const stored = await tokens().findOne({ _id: id as never });
    const events = t.events.length;
    const recorder = internalsOf(t.udapi).lastUse;
    // Counts (without changing) the recorder's bulk writes that touch this token.
    const spy = jest.spyOn(recorder['models'].tokens.collection, 'bulkWrite');
    try {
      for (let i = 0; i < 20; i++) expect((await call()).status).toBe(200);
      await recorder.flush();
      const writes = spy.mock.calls
        .flatMap(([operations]) => operations as unknown as { updateOne: { filter: { _id: string } } }[])
        .filter((op) => op.updateOne.filter._id === id);
      expect(writes).toHaveLength(1);
    } finally {
      spy.mockRestore();
    }
    const after = await tokens().findOne({ _id: id as never });
    expect(after!.lastModified).toEqual(stored!.lastModified);
    expect(after!.lastUsedAt).toBeInstanceOf(Date);
    expect(t.events.length).toBe(events);
  });

  it('never moves back when an older time arrives late', async () => {
    const { id, call } = await tokenWithRoute();
    expect((await call()).status).toBe(200);
    const recorder = internalsOf(t.udapi).lastUse;
    await recorder.flush();
    const newest = (await tokens().findOne({ _id: id as never }))!.lastUsedAt as Date;
    recorder.record(id, newest.getTime() - 60_000);
    await recorder.flush();
    expect(((await tokens().findOne({ _id: id as never }))!.lastUsedAt as Date).getTime()).toBe(newest.getTime());
    expect((await admin.get(`/tokens/${id}`)).body.lastUsedAt).toBe(newest.toISOString());
  });

  it('filters tokens unused since a date, in memory and in the database alike', async () => {
    const used = await tokenWithRoute();
    const never = await tokenWithRoute();
    const stale = await tokenWithRoute();
    await tokens().updateOne({ _id: stale.id as never }, { $set: { lastUsedAt: new Date('2020-01-01T00:00:00Z') } });
    await internalsOf(t.udapi).catalog.refreshToken(stale.id);
    expect((await used.call()).status).toBe(200);
    await internalsOf(t.udapi).lastUse.flush();
    const ids = [used.id, never.id, stale.id].join(',');
    const catalog = internalsOf(t.udapi).catalog;
    for (const fromDatabase of [false, true]) {
      catalog.stale = fromDatabase;
      try {
        const since = new Date(Date.now() - 3_600_000).toISOString();
        const list = await admin.get(`/tokens?ids=${ids}&unusedSince=${encodeURIComponent(since)}`);
        expect({ fromDatabase, ids: (list.body.items as { id: string }[]).map((x) => x.id).sort() }).toEqual({
          fromDatabase,
          ids: [never.id, stale.id].sort(),
        });
        const count = await admin.get(`/tokens/count?ids=${ids}&unusedSince=2019-01-01`);
        expect({ fromDatabase, count: count.body.count }).toEqual({ fromDatabase, count: 1 });
      } finally {
        catalog.stale = false;
      }
    }
    const bad = await admin.get('/tokens?unusedSince=yesterday');
    expect([bad.status, bad.body.errors[0].reason]).toEqual([400, 'InvalidRequest']);
  });

  it('shows uses made on another instance at its next read-back, without reading the tokens', async () => {
    const { id, secret, route } = await tokenWithRoute();
    // Let a full reload that an earlier test's stale flag may have started finish: it would read the value too.
    await new Promise((resolve) => setTimeout(resolve, 600));
    const second = await createTestApp(db, { lastUsedIntervalMs: INTERVAL_MS, instanceId: 'test-node-2' });
    try {
      const secondApp = express();
      secondApp.use('/api/custom', second.udapi.endpoint());
      expect(
        (await request(secondApp).get(`/api/custom/${route}`).set('Authorization', `Bearer ${secret}`)).status,
      ).toBe(200);
      await internalsOf(second.udapi).lastUse.flush();
      const stored = (await tokens().findOne({ _id: id as never }))!.lastUsedAt as Date;
      expect(stored).toBeInstanceOf(Date);
      expect((await admin.get(`/tokens?ids=${id}`)).body.items[0].lastUsedAt).toBeNull();
      // The read-back asks the use records only: on FerretDB any query on the tokens' times reads every token.
      const recorder = internalsOf(t.udapi).lastUse;
      const tokenReads = jest.spyOn(recorder['models'].tokens, 'find');
      try {
        await recorder.flush();
        expect(tokenReads).not.toHaveBeenCalled();
      } finally {
        tokenReads.mockRestore();
      }
      expect((await admin.get(`/tokens?ids=${id}`)).body.items[0].lastUsedAt).toBe(stored.toISOString());
    } finally {
      await second.udapi.close();
    }
  });

  it('keeps use records for ten intervals, then any instance removes them', async () => {
    const records = () => db.connection.collection('udapiLastUses');
    const old = new Date(Date.now() - 11 * INTERVAL_MS);
    const kept = new Date(Date.now() - 9 * INTERVAL_MS);
    await records().insertMany([
      { _id: `old-${randomUUID()}` as never, instanceId: 'gone', at: old, tokenIds: [], usedAt: [] },
      { _id: `kept-${randomUUID()}` as never, instanceId: 'gone', at: kept, tokenIds: [], usedAt: [] },
    ]);
    const { call } = await tokenWithRoute();
    expect((await call()).status).toBe(200);
    await internalsOf(t.udapi).lastUse.flush();
    const left = await records().find({ instanceId: 'gone' }).toArray();
    expect(left.map((record) => (record.at as Date).getTime())).toEqual([kept.getTime()]);
    // This instance's own record of the call is there, for the others.
    expect(await records().countDocuments({ instanceId: 'test-node' })).toBeGreaterThan(0);
  });

  it('writes the uses of many tokens in one interval (in batches the test database can take)', async () => {
    const many = await Promise.all(Array.from({ length: 130 }, (_, i) => admin.post('/tokens', { name: `many-${i}` })));
    const ids = many.map((res) => res.body.id as string);
    const route = `used/many-${randomUUID().slice(0, 8)}`;
    expect(
      (
        await admin.post('/definitions', {
          route,
          actionMeta: { name: 'test.echo' },
          securitySettings: { allowedTokens: ids },
        })
      ).status,
    ).toBe(201);
    for (const res of many)
      expect(
        (await request(app).get(`/api/custom/${route}`).set('Authorization', `Bearer ${res.body.secret}`)).status,
      ).toBe(200);
    await internalsOf(t.udapi).lastUse.flush();
    expect(await tokens().countDocuments({ _id: { $in: ids as never[] }, lastUsedAt: { $ne: null } })).toBe(130);
  }, 60_000);

  it('keeps a use whose write failed for the next interval', async () => {
    const { id, call } = await tokenWithRoute();
    const recorder = internalsOf(t.udapi).lastUse;
    const collection = recorder['models'].tokens.collection;
    const failing = jest
      .spyOn(collection, 'bulkWrite')
      .mockRejectedValueOnce(Object.assign(new Error('connection reset'), { name: 'MongoNetworkError' }));
    try {
      expect((await call()).status).toBe(200);
      await recorder.flush();
      expect(failing).toHaveBeenCalled();
      expect((await tokens().findOne({ _id: id as never }))!.lastUsedAt ?? null).toBeNull();
    } finally {
      failing.mockRestore();
    }
    await recorder.flush();
    expect((await tokens().findOne({ _id: id as never }))!.lastUsedAt).toBeInstanceOf(Date);
    expect(t.logs.some((line) => line.msg === 'Could not write token last-use times; retrying next interval')).toBe(
      true,
    );
  });
});
