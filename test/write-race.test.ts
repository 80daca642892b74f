// One instance never lets its last-use flush undo an admin's write of the same token: FerretDB updates a document by
// reading it, changing it and writing it whole, with no lock between, so two overlapping updates can undo each other.
import { internalsOf } from '../src/plugin';
import { createTestApp, type TestApp } from './helpers/app';
import { openTestDb, type TestDb } from './helpers/db';

let db: TestDb;
let t: TestApp;

beforeAll(async () => {
  db = await openTestDb();
  // A long interval: this test flushes by hand, at the moment it chooses.
  t = await createTestApp(db, { lastUsedIntervalMs: 3_600_000 });
});

afterAll(async () => {
  await t?.udapi.close();
  await db?.drop();
});

const ctx = { user: { name: 'race' }, traceId: 'race' } as never;

it('an admin write and a last-use flush of the same token, started together, both stay stored (40 rounds)', async () => {
  const { tokens, lastUse } = internalsOf(t.udapi);
  const { token } = await tokens.create({ name: 'race-0' }, ctx);
  const collection = db.connection.collection('udapiApiTokens');
  const lost: string[] = [];
  for (let round = 1; round <= 40; round += 1) {
    const usedAt = Date.now() + round;
    lastUse.record(token.id, usedAt);
    await Promise.all([lastUse.flush(), tokens.update(token.id, { name: `race-${round}` }, ctx)]);
    const stored = await collection.findOne({ _id: token.id as never });
    if (stored?.name !== `race-${round}`) lost.push(`round ${round}: the name's update was undone`);
    if (stored?.lastUsedAt?.getTime() !== usedAt) lost.push(`round ${round}: the last use was undone`);
  }
  expect(lost).toEqual([]);
});
