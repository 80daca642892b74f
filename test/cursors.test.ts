// Every admin list that takes a cursor, found in the OpenAPI document: real cursors page on, forged ones are 400.
import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { ADMIN, openTestHost, type TestHost } from './helpers/app';

let host: TestHost;
/** `/tokens`, `/definitions`, `/events`, ...: every GET whose query takes `cursor`. */
let lists: string[];

beforeAll(async () => {
  host = await openTestHost();
  const document = await request(host.app).get('/admin/udapi/openapi.json').set(ADMIN);
  const paths = document.body.paths as Record<string, { get?: { parameters?: { name: string; in: string }[] } }>;
  lists = Object.entries(paths)
    .filter(([, item]) =>
      item.get?.parameters?.some((parameter) => parameter.in === 'query' && parameter.name === 'cursor'),
    )
    .map(([template]) => template);
  // Two of each, so every list has a second page (the creates also write events).
  for (let i = 0; i < 2; i += 1) {
    const token = await request(host.app)
      .post('/admin/udapi/tokens')
      .set(ADMIN)
      .send({ name: `cursor-${i}` });
    expect(token.status).toBe(201);
    const definition = await request(host.app)
      .post('/admin/udapi/definitions')
      .set(ADMIN)
      .send({
        route: `cursor/${i}`,
        actionMeta: { name: 'test.echo' },
        securitySettings: { allowedTokens: [token.body.id] },
      });
    expect(definition.status).toBe(201);
  }
});

afterAll(async () => {
  await host?.close();
});

const encode = (value: unknown): string => Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');
const id = randomUUID();

/** Cursors this API never returns: each breaks one rule of the shape [time in ms a Date can hold, a UUID]. */
const FORGED: [string, string][] = [
  ['a time past what a Date holds (2^53 - 1)', encode([Number.MAX_SAFE_INTEGER, 'x'])],
  ['the same with a valid id', encode([Number.MAX_SAFE_INTEGER, id])],
  ['one ms past the last Date', encode([8.64e15 + 1, id])],
  ['one ms before the first Date', encode([-8.64e15 - 1, id])],
  ['a fractional time', encode([1.5, id])],
  ['a time as text', encode(['1700000000000', id])],
  ['a time too large for a double', Buffer.from(`[1e400,"${id}"]`).toString('base64url')],
  ['a null time', encode([null, id])],
  ['an id that is not a UUID', encode([1_700_000_000_000, 'x'])],
  ['an over-long id', encode([1_700_000_000_000, 'a'.repeat(100)])],
  ['an id that is a query operator', encode([1_700_000_000_000, { $gt: '' }])],
  ['an id with a NUL', encode([1_700_000_000_000, `${id}\u0000`])],
  ['a third element', encode([1_700_000_000_000, id, 1])],
  ['an object', encode({ at: 1_700_000_000_000, id })],
  ['not JSON', Buffer.from('[1,').toString('base64url')],
  ['not base64url JSON at all', '!!!'],
];

describe('cursors of every admin list', () => {
  it('finds the lists in the OpenAPI document (tokens, definitions and events at least)', () => {
    expect(lists).toEqual(expect.arrayContaining(['/tokens', '/definitions', '/events']));
  });

  it('pages on with the cursor a list returned, and takes the first and last instants a Date holds', async () => {
    for (const list of lists) {
      const first = await request(host.app).get(`/admin/udapi${list}?limit=1`).set(ADMIN);
      expect({ list, status: first.status }).toEqual({ list, status: 200 });
      expect(typeof first.body.nextCursor).toBe('string');
      const second = await request(host.app)
        .get(`/admin/udapi${list}?limit=1&cursor=${first.body.nextCursor as string}`)
        .set(ADMIN);
      expect({ list, status: second.status }).toEqual({ list, status: 200 });
      expect(second.body.items[0].id).not.toBe(first.body.items[0].id);
      for (const [time, items] of [
        [8.64e15, 'all'],
        [-8.64e15, 'none'],
      ] as const) {
        const edge = await request(host.app)
          .get(`/admin/udapi${list}?cursor=${encode([time, id])}`)
          .set(ADMIN);
        expect({ list, time, status: edge.status }).toEqual({ list, time, status: 200 });
        if (items === 'none') expect(edge.body.items).toEqual([]);
        else expect(edge.body.items.length).toBeGreaterThanOrEqual(2);
      }
    }
  });

  it.each(FORGED)('answers %s with 400 InvalidRequest on the field cursor, on every list', async (_label, cursor) => {
    for (const list of lists) {
      const res = await request(host.app).get(`/admin/udapi${list}?cursor=${cursor}`).set(ADMIN);
      expect({ list, status: res.status, errors: res.body.errors }).toEqual({
        list,
        status: 400,
        errors: [{ reason: 'InvalidRequest', field: 'cursor', message: expect.stringContaining('cursor') }],
      });
    }
  });
});
