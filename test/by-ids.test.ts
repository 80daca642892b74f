// findByIds on the test database: the same documents an `$in` read finds, read one id at a time while the ids are few.
import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import type * as mongo from 'mongodb';
import { Schema, type Model } from 'mongoose';
import request from 'supertest';
import { POINT_LOOKUPS_MAX, findByIds } from '../src/database/by-ids';
import { ADMIN, createTestApp } from './helpers/app';
import { openTestDb, type TestDb } from './helpers/db';
import { propertySeed } from './helpers/seed';

interface Item {
  _id: string;
  label: string;
  hidden: string;
}

let db: TestDb;
let items: Model<Item>;
const stored: string[] = [];
/** The find commands sent, by collection, since the last clear. */
const finds: { collection: string; filter: Record<string, unknown> }[] = [];

function recordFind(event: mongo.CommandStartedEvent): void {
  if (event.commandName !== 'find') return;
  finds.push({ collection: String(event.command.find), filter: event.command.filter as Record<string, unknown> });
}

beforeAll(async () => {
  db = await openTestDb({ monitorCommands: true });
  db.connection.getClient().on('commandStarted', recordFind);
  items = db.connection.model<Item>('ByIdsItem', new Schema<Item>({ _id: String, label: String, hidden: String }));
  for (let i = 0; i < 150; i += 1) stored.push(randomUUID());
  await items.insertMany(stored.map((id, i) => ({ _id: id, label: `item ${i}`, hidden: 'not projected' })));
});

afterAll(async () => {
  await db?.drop();
});

const isPointLookup = (filter: Record<string, unknown>) =>
  Object.keys(filter).length === 1 && typeof filter._id === 'string';

describe('findByIds', () => {
  it('finds each stored id once, with only the projected fields, whatever the list holds', async () => {
    const seed = propertySeed('findByIds samples');
    const sizes = [0, 1, 2, 7, POINT_LOOKUPS_MAX - 1, POINT_LOOKUPS_MAX, POINT_LOOKUPS_MAX + 1, 140];
    // Stored ids, some twice, and ids no document has (one in five).
    const anId = fc.oneof({ arbitrary: fc.constantFrom(...stored), weight: 4 }, { arbitrary: fc.uuid(), weight: 1 });
    for (const size of sizes) {
      const [ids] = fc.sample(fc.array(anId, { minLength: size, maxLength: size }), { seed: seed + size, numRuns: 1 });
      if (!ids) throw new Error('fast-check gave no sample');
      finds.length = 0;
      const rows = await findByIds<Item, Pick<Item, '_id' | 'label'>>(items, ids, { _id: 1, label: 1 });
      const expected = [...new Set(ids.filter((id) => stored.includes(id)))].sort();
      expect(rows.map((row) => row._id).sort()).toEqual(expected);
      for (const row of rows) expect(row).toEqual({ _id: row._id, label: `item ${stored.indexOf(row._id)}` });
      const distinct = new Set(ids).size;
      const sent = finds.filter((find) => find.collection === items.collection.collectionName);
      if (distinct === 0) expect(sent).toEqual([]);
      else if (distinct <= POINT_LOOKUPS_MAX) {
        // One plain `{_id: value}` read per distinct id: the only filter FerretDB's SQLite backend reads by index.
        expect(sent.map((find) => find.filter._id).sort()).toEqual([...new Set(ids)].sort());
        expect(sent.every((find) => isPointLookup(find.filter))).toBe(true);
      } else
        expect(sent).toEqual([
          { collection: items.collection.collectionName, filter: { _id: { $in: [...new Set(ids)] } } },
        ]);
    }
  });

  it('rejects with what the database refuses, whichever way it reads', async () => {
    // A projection that both includes and excludes a field: the database refuses it.
    const mixed = { _id: 1, label: 1, hidden: 0 } as never;
    await expect(findByIds(items, [stored[0]!], mixed)).rejects.toThrow(/projection|exclusion|inclusion/i);
    // Eight lookups in flight at most, and a worker whose lookup fails sends no other.
    finds.length = 0;
    await expect(findByIds(items, stored.slice(0, 40), mixed)).rejects.toThrow(/projection|exclusion|inclusion/i);
    // Lookups still to come would follow the rejection: give them time to show.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(finds.length).toBeGreaterThan(0);
    expect(finds.length).toBeLessThanOrEqual(8);
    await expect(findByIds(items, stored.slice(0, POINT_LOOKUPS_MAX + 1), mixed)).rejects.toThrow(
      /projection|exclusion|inclusion/i,
    );
  });
});

describe('a definition write checks its allowed tokens', () => {
  it('by point lookups of the token ids, never an `$in` read of the whole token collection', async () => {
    const t = await createTestApp(db);
    try {
      const tokenIds: string[] = [];
      for (const name of ['a', 'b', 'c']) {
        const res = await request(t.app).post('/admin/udapi/tokens').set(ADMIN).send({ name });
        expect(res.status).toBe(201);
        tokenIds.push(res.body.id as string);
      }
      finds.length = 0;
      const created = await request(t.app)
        .post('/admin/udapi/definitions')
        .set(ADMIN)
        .send({
          route: 'by-ids/check',
          actionMeta: { name: 'test.echo' },
          securitySettings: { allowedTokens: tokenIds },
        });
      expect(created.status).toBe(201);
      const tokenReads = finds.filter((find) => find.collection === 'udapiApiTokens');
      // The up-front check and the read after the write (token-links.ts), each id once.
      expect(tokenReads.map((find) => find.filter._id).sort()).toEqual([...tokenIds, ...tokenIds].sort());
      expect(tokenReads.every((find) => isPointLookup(find.filter))).toBe(true);
      // An id that names no token is still refused.
      const unknown = randomUUID();
      const refused = await request(t.app)
        .patch(`/admin/udapi/definitions/${created.body.id as string}`)
        .set(ADMIN)
        .send({ securitySettings: { allowedTokens: [tokenIds[0], unknown] } });
      expect(refused.status).toBe(400);
      expect(JSON.stringify(refused.body)).toContain(unknown);
    } finally {
      await t.udapi.close();
    }
  });
});
