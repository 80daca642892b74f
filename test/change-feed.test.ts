// The change log heals what it cannot see: a change written without a log record, and a log pruned past an instance.
import express from 'express';
import request from 'supertest';
import { revisionKey } from '../src/models/change';
import { internalsOf } from '../src/plugin';
import { ADMIN, createTestApp, type TestApp } from './helpers/app';
import { openTestDb, type TestDb } from './helpers/db';

let db: TestDb;
let writer: TestApp;
let reader: TestApp;
const readerHost = express();

beforeAll(async () => {
  db = await openTestDb();
  writer = await createTestApp(db);
  reader = await createTestApp(db, { fullReloadIntervalMs: 1000, changePollIntervalMs: 100 });
  readerHost.use('/api/custom', reader.udapi.endpoint());
});

afterAll(async () => {
  await writer?.udapi.close();
  await reader?.udapi.close();
  await db?.drop();
});

async function setup(route: string): Promise<{ tokenId: string; secret: string }> {
  const token = await request(writer.app).post('/admin/udapi/tokens').set(ADMIN).send({ name: route });
  await request(writer.app).post('/admin/udapi/definitions').set(ADMIN).send({ route, actionMeta: { name: 'test.echo' }, securitySettings: { allowedTokens: [token.body.id] } });
  return { tokenId: token.body.id, secret: token.body.secret };
}

async function waitFor(check: () => Promise<boolean>, limitMs: number): Promise<void> {
  const started = Date.now();
  while (!(await check())) {
    if (Date.now() - started > limitMs) throw new Error(`not within ${limitMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('change feed', () => {
  it('records one increasing revision per change, and another instance applies them', async () => {
    const { feed } = internalsOf(writer.udapi);
    const before = await feed.record('ApiToken', 'nothing');
    const { secret } = await setup('feed/basic');
    const after = await feed.record('ApiToken', 'nothing');
    expect(after - before).toBe(3); // the token, the definition, and this record
    await waitFor(async () => (await request(readerHost).get('/api/custom/feed/basic').set('Authorization', `Bearer ${secret}`)).status === 200, 1000);
    expect(internalsOf(reader.udapi).feed.revision).toBeGreaterThanOrEqual(after - 1);
  });

  it('hands out distinct revisions to concurrent writers', async () => {
    const { feed } = internalsOf(writer.udapi);
    const revisions = await Promise.all(Array.from({ length: 30 }, (_, i) => feed.record('ApiToken', `concurrent-${i}`)));
    expect(new Set(revisions).size).toBe(30);
  });

  it('keeps the newest 1,000 records when pruning, and allocates above them even when its own last one is gone', async () => {
    const { feed } = internalsOf(writer.udapi);
    const changes = db.connection.collection('udapiChanges');
    const first = await feed.record('ApiToken', 'prune-start');
    const docs = Array.from({ length: 1100 }, (_, i) => ({ _id: revisionKey(first + 1 + i), objectType: 'ApiToken', objectId: `filler-${i}`, at: new Date() }));
    await changes.insertMany(docs as never[]);
    await feed.prune();
    const latest = first + 1100;
    expect(await changes.countDocuments()).toBe(1000);
    expect(await changes.findOne({ _id: revisionKey(latest - 999) as never })).not.toBeNull();
    expect(await changes.findOne({ _id: revisionKey(latest - 1000) as never })).toBeNull();
    // The writer's own last revision (first) was pruned: the next one must still go above the newest.
    expect(await feed.record('ApiToken', 'after-prune')).toBe(latest + 1);
  });

  it("re-reads an object after the writer's own change, so a write another instance made meanwhile is not lost", async () => {
    const quiet = await createTestApp(db, { changePollIntervalMs: 60_000 });
    try {
      const token = await request(quiet.app).post('/admin/udapi/tokens').set(ADMIN).send({ name: 'own-write' });
      const { feed, catalog } = internalsOf(quiet.udapi);
      await feed.poll();
      expect((await request(quiet.app).patch(`/admin/udapi/tokens/${token.body.id}`).set(ADMIN).send({ name: 'own-write-2' })).status).toBe(200);
      // Another instance disables the token right after; its own log record was already applied here before ours.
      await db.connection.collection('udapiApiTokens').updateOne({ _id: token.body.id as never }, { $set: { isDisabled: true } });
      expect(catalog.tokenById(token.body.id)?.isDisabled).toBe(false);
      await feed.poll();
      expect(catalog.tokenById(token.body.id)).toMatchObject({ name: 'own-write-2', isDisabled: true });
    } finally {
      await quiet.udapi.close();
    }
  });

  it('heals a change that was stored without a log record at the next full reload', async () => {
    const { tokenId, secret } = await setup('feed/unlogged');
    const call = () => request(readerHost).get('/api/custom/feed/unlogged').set('Authorization', `Bearer ${secret}`);
    await waitFor(async () => (await call()).status === 200, 1000);
    // As if a writer died between storing the change and logging it.
    await db.connection.collection('udapiApiTokens').updateOne({ _id: tokenId as never }, { $set: { isDisabled: true } });
    await waitFor(async () => (await call()).status === 401, 3000);
  });

  it('reloads everything when the records it missed were pruned', async () => {
    const { feed, catalog } = internalsOf(reader.udapi);
    await reader.udapi.close(); // stop the reader's timers: it falls behind while the writer works
    await feed.catchUp(); // let a poll that close() did not wait out finish, so the position below is final
    const position = feed.revision;
    const { secret } = await setup('feed/pruned');
    await db.connection.collection('udapiChanges').deleteMany({ _id: { $gt: revisionKey(position), $lt: revisionKey(position + 2) } as never });
    const loadsBefore = catalog.tokenCount;
    await feed.poll();
    expect(catalog.tokenCount).toBeGreaterThan(loadsBefore);
    expect(await internalsOf(reader.udapi).verifier.verify(secret)).not.toBeNull();
  });
});

describe('reads that finish out of order', () => {
  it('never put an older state back: a re-read that started before a newer state was applied is dropped', async () => {
    const { tokenId } = await setup(`order-${Date.now()}`);
    const { catalog } = internalsOf(writer.udapi);
    const stored = await db.connection.collection('udapiApiTokens').findOne({ _id: tokenId as never });
    // A poll's re-read starts (it will see the stored state), then the writer applies a newer state it knows, and
    // only then does the re-read finish, as when a write lands between a poll's read and its answer.
    const reread = catalog.refreshToken(tokenId);
    await catalog.refreshToken(tokenId, { ...(stored as never as Record<string, unknown>), name: 'newer state' } as never);
    await reread;
    expect(catalog.tokenById(tokenId)?.name).toBe('newer state');
    // A re-read that starts afterwards is applied as usual: the stored state comes back.
    await catalog.refreshToken(tokenId);
    expect(catalog.tokenById(tokenId)?.name).toBe(stored!.name);
  });
});
