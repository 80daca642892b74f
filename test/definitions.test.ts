// ApiDefinition rules end to end: route grammar, conflicts, links to tokens, races, filters and events.
import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { ADMIN, createTestApp, type TestApp } from './helpers/app';
import { openTestDb, type TestDb } from './helpers/db';

let db: TestDb;
let t: TestApp;

beforeAll(async () => {
  db = await openTestDb();
  t = await createTestApp(db);
});

afterAll(async () => {
  await t?.udapi.close();
  await db?.drop();
});

const admin = () => ({
  get: (path: string) => request(t.app).get(`/admin/udapi${path}`).set(ADMIN),
  post: (path: string, body?: object) => request(t.app).post(`/admin/udapi${path}`).set(ADMIN).send(body),
  patch: (path: string, body: object) => request(t.app).patch(`/admin/udapi${path}`).set(ADMIN).send(body),
  delete: (path: string) => request(t.app).delete(`/admin/udapi${path}`).set(ADMIN),
});

const handler = { name: 'test.echo' };

async function newToken(): Promise<string> {
  const res = await admin().post('/tokens', { name: `t-${randomUUID().slice(0, 6)}` });
  expect(res.status).toBe(201);
  return res.body.id as string;
}

async function define(route: string, extra: object = {}): Promise<request.Response> {
  return admin().post('/definitions', { route, actionMeta: handler, ...extra });
}

/** Each test uses routes under its own prefix so that conflicts never cross tests. */
const prefix = () => `p${randomUUID().slice(0, 8)}`;

describe('route grammar', () => {
  const valid = [
    'status',
    'encoders/status',
    'tickets/{ticketId}/status',
    '{id}',
    'a/b/c/d/e/f/g',
    'v1/items/{itemId}/parts/{partId}',
    'UPPER/Case',
    'with-dash_and.dot~tilde',
    'unicode/café',
    'spaces in/segment',
    'a=b',
    'plus+sign',
    'percent%20encoded',
    '{a}/{b}/{c}',
    'items/{id}/x',
    '.hidden',
    '...',
    'a/{b-c}',
    '{param.with.dots}',
    'emoji/😀',
    `quote'and"double`,
    'semicolon;a',
    'comma,list',
    'at@sign/{user}',
    '{Ünïcode}',
    'a/b/{c}/d/{e}/f',
    '$dollar/{x}',
  ];

  it.each(valid)('accepts %j', async (route) => {
    // Under a unique first segment, so that the table's routes do not conflict with each other.
    const full = `${prefix()}/${route}`;
    const res = await define(full);
    expect(res.status).toBe(201);
    expect(res.body.route).toBe(full);
  });

  it('accepts a route that makes the URL path exactly 260 characters, and refuses 261', async () => {
    const longest = 'x'.repeat(260 - '/api/custom/'.length);
    expect((await define(longest)).status).toBe(201);
    const res = await define(`${longest}y`);
    expect(res.status).toBe(400);
    expect(res.body.errors[0]).toMatchObject({
      reason: 'InvalidRoute',
      route: `${longest}y`,
      message: expect.stringContaining('260'),
    });
  });

  const invalid: [unknown, string][] = [
    ['', 'empty'],
    ['   ', 'empty'],
    ['/leading', 'start or end with /'],
    ['trailing/', 'start or end with /'],
    ['/', 'start or end with /'],
    ['a//b', 'empty segment'],
    ['colon:seg', 'must not contain : < > * or ?'],
    ['less<than', 'must not contain : < > * or ?'],
    ['greater>than', 'must not contain : < > * or ?'],
    ['star*', 'must not contain : < > * or ?'],
    ['question?mark', 'must not contain : < > * or ?'],
    ['do{name}action', 'must fill the whole segment'],
    ['{id}-details', 'must fill the whole segment'],
    ['x{id}', 'must fill the whole segment'],
    ['a/{', 'must fill the whole segment'],
    ['a/}', 'must fill the whole segment'],
    ['{}', 'needs a name'],
    ['{ }', 'needs a name'],
    ['{a}/{a}', 'more than once'],
    ['{a=b}', 'must not contain / { } ? * : ='],
    ['{a:b}', 'must not contain / { } ? * : ='],
    ['{a*}', 'must not contain / { } ? * : ='],
    ['{a?}', 'must not contain / { } ? * : ='],
    ['{{a}}', 'must not contain / { } ? * : ='],
    ['a/../b', "may not be '..'"],
    ['./a', "may not be '.'"],
    ['ctrl\u0001char', 'control characters'],
    [42, 'must be string'],
    [null, 'must be string'],
  ];

  it.each(invalid)('refuses %j with InvalidRoute (%s)', async (route, words) => {
    const res = await admin().post('/definitions', { route, actionMeta: handler });
    expect(res.status).toBe(400);
    expect(res.body.errors).toHaveLength(1);
    const error = res.body.errors[0];
    expect(error.reason).toBe('InvalidRoute');
    expect(error.message).toContain(words);
    if (typeof route === 'string') expect(error.route).toBe(route);
  });

  it('refuses a missing route with InvalidRoute', async () => {
    const res = await admin().post('/definitions', { actionMeta: handler });
    expect(res.body.errors).toEqual([
      { reason: 'InvalidRoute', field: 'route', message: "Field 'route' is required." },
    ]);
  });
});

describe('route conflicts', () => {
  it.each([
    ['the same route in another case', 'encoders/status', 'Encoders/STATUS'],
    ['dynamic routes differing only in parameter names', 'ticket/{id}', 'Ticket/{ticketId}'],
    ['two lone parameters', '{x}', '{y}'],
    ['parameters in the same positions', '{a}/mid/{b}', '{c}/MID/{d}'],
  ])('refuses %s with RouteInUse, naming the existing definition', async (_label, first, second) => {
    const p = prefix();
    const existing = await define(`${p}/${first}`);
    expect(existing.status).toBe(201);
    const res = await define(`${p}/${second}`);
    expect(res.status).toBe(409);
    expect(res.body.errors).toEqual([
      {
        reason: 'RouteInUse',
        id: expect.any(String),
        route: `${p}/${second}`,
        conflictingDefinitionId: existing.body.id,
        message: expect.stringContaining(existing.body.id),
      },
    ]);
  });

  it.each([
    ['foo/{bar}', '{foo}/bar'],
    ['items/special', 'items/{id}'],
    ['a/b', 'a/b/c'],
    ['{x}/y', '{x}/{y}'],
  ])('lets the partial overlaps %s and %s coexist', async (first, second) => {
    const p = prefix();
    expect((await define(`${p}/${first}`)).status).toBe(201);
    expect((await define(`${p}/${second}`)).status).toBe(201);
  });

  it('lets an update keep its own route, or change only its case or parameter names', async () => {
    const p = prefix();
    const created = await define(`${p}/orders/{id}`);
    const id = created.body.id;
    expect((await admin().patch(`/definitions/${id}`, { route: `${p}/orders/{id}`, description: 'same' })).status).toBe(
      200,
    );
    const recased = await admin().patch(`/definitions/${id}`, { route: `${p}/Orders/{orderId}` });
    expect(recased.status).toBe(200);
    expect(recased.body.route).toBe(`${p}/Orders/{orderId}`);
  });

  it('refuses an update to a route another definition has (RouteInUse) and keeps the old route', async () => {
    const p = prefix();
    const first = await define(`${p}/one`);
    const second = await define(`${p}/two`);
    const res = await admin().patch(`/definitions/${second.body.id}`, { route: `${p}/ONE` });
    expect(res.status).toBe(409);
    expect(res.body.errors[0]).toMatchObject({
      reason: 'RouteInUse',
      id: second.body.id,
      route: `${p}/ONE`,
      conflictingDefinitionId: first.body.id,
    });
    expect((await admin().get(`/definitions/${second.body.id}`)).body.route).toBe(`${p}/two`);
  });

  it('gives 20 concurrent creates of conflicting routes exactly one success', async () => {
    const p = prefix();
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => define(`${p}/race/{param${i}}`)));
    const winners = results.filter((res) => res.status === 201);
    expect(winners).toHaveLength(1);
    for (const res of results.filter((r) => r.status !== 201)) {
      expect(res.status).toBe(409);
      expect(res.body.errors[0]).toMatchObject({ reason: 'RouteInUse', conflictingDefinitionId: winners[0]!.body.id });
    }
    const stored = await db.connection
      .collection('udapiApiDefinitions')
      .countDocuments({ route: { $regex: `^${p}/race/` } });
    expect(stored).toBe(1);
  });
});

describe('actions', () => {
  it('lists registered handlers and procedures with their parameters', async () => {
    const res = await admin().get('/actions');
    expect(res.status).toBe(200);
    expect(res.body.items).toEqual([
      { name: 'test.echo', kind: 'handler' },
      { name: 'test.other', kind: 'handler' },
      { name: 'test.restart', kind: 'procedure', parameters: ['encoderId'] },
    ]);
  });

  it.each([
    [{ route: 'x1', actionMeta: { name: 'nope' } }, 'No handler named'],
    [{ route: 'x2', actionType: 'procedure', actionMeta: { name: 'test.echo' } }, 'No procedure named'],
    [{ route: 'x3', actionMeta: { name: 'test.restart' } }, 'No handler named'],
    [
      { route: 'x4', actionType: 'procedure', actionMeta: { name: 'test.restart', inputType: 'parameters' } },
      'handlers only',
    ],
    [{ route: 'x5' }, "Field 'actionMeta' is required."],
    [{ route: 'x6', actionMeta: 'test.echo' }, 'must be object'],
    [
      { route: 'x7', actionMeta: { name: 'test.echo', inputType: 'xml' } },
      'must be equal to one of the allowed values',
    ],
    [{ route: 'x8', actionMeta: { name: 'test.echo', script: 'x' } }, 'Unknown field'],
    [
      { route: 'x9', actionType: 'script', actionMeta: { name: 'test.echo' } },
      'must be equal to one of the allowed values',
    ],
    [{ route: 'x10', actionMeta: {} }, "Field 'actionMeta.name' is required."],
  ])('refuses %j with InvalidActionMeta', async (body, words) => {
    const res = await admin().post('/definitions', body);
    expect(res.status).toBe(400);
    expect(res.body.errors.map((e: { reason: string }) => e.reason)).toContain('InvalidActionMeta');
    expect(res.body.errors.map((e: { message: string }) => e.message).join(' ')).toContain(words);
  });

  it('defaults actionType to handler and inputType to rawBody, and stores a procedure without inputType', async () => {
    const p = prefix();
    const plain = await define(`${p}/plain`);
    expect(plain.body).toMatchObject({
      actionType: 'handler',
      actionMeta: { name: 'test.echo', inputType: 'rawBody' },
      securitySettings: { allowedTokens: [] },
    });
    const procedure = await admin().post('/definitions', {
      route: `${p}/proc`,
      actionType: 'procedure',
      actionMeta: { name: 'test.restart' },
    });
    expect(procedure.status).toBe(201);
    expect(procedure.body.actionMeta).toEqual({ name: 'test.restart' });
  });

  it('refuses bad registrations with a clear error', () => {
    const { udapi } = t;
    expect(() => udapi.registerHandler('test.echo', () => ({ responseCode: 200 }))).toThrow(
      /already registered \(a handler\)/,
    );
    expect(() => udapi.registerProcedure('test.echo', { parameters: [] }, () => undefined)).toThrow(
      /already registered/,
    );
    expect(() => udapi.registerHandler('', () => ({ responseCode: 200 }))).toThrow(/the name must be 1-200 characters/);
    expect(() => udapi.registerHandler('has space', () => ({ responseCode: 200 }))).toThrow(/the name must be/);
    expect(() => udapi.registerHandler('ok.name', 'notafunction' as never)).toThrow(/must be a function/);
    expect(() => udapi.registerProcedure('p.one', { parameters: ['a', 'a'] }, () => undefined)).toThrow(
      /declared twice/,
    );
    expect(() => udapi.registerProcedure('p.two', { parameters: [' '] }, () => undefined)).toThrow(/non-blank/);
    expect(() => udapi.registerProcedure('p.three', {} as never, () => undefined)).toThrow(
      /parameters must be an array/,
    );
  });
});

describe('names and descriptions', () => {
  it('accepts a missing or empty name, refuses a whitespace-only one, and clears fields with null', async () => {
    const p = prefix();
    expect((await define(`${p}/a`, { name: '' })).body).not.toHaveProperty('name');
    const blank = await define(`${p}/b`, { name: '  ' });
    expect(blank.status).toBe(400);
    expect(blank.body.errors).toEqual([
      { reason: 'InvalidName', id: expect.any(String), message: expect.stringContaining('whitespace') },
    ]);
    const named = await define(`${p}/c`, { name: 'Status', description: 'Encoder status' });
    expect(named.body).toMatchObject({ name: 'Status', description: 'Encoder status' });
    const cleared = await admin().patch(`/definitions/${named.body.id}`, { name: null, description: null });
    expect(cleared.status).toBe(200);
    expect(cleared.body).not.toHaveProperty('name');
    expect(cleared.body).not.toHaveProperty('description');
  });

  it('reports several problems at once', async () => {
    const res = await admin().post('/definitions', {
      name: ' ',
      route: 'a//b',
      actionMeta: { name: 'nope' },
      securitySettings: { allowedTokens: ['x'] },
    });
    expect(res.status).toBe(400);
    expect(res.body.errors.map((e: { reason: string }) => e.reason).sort()).toEqual([
      'InvalidActionMeta',
      'InvalidAllowedTokens',
      'InvalidName',
      'InvalidRoute',
    ]);
  });
});

describe('allowed tokens and TokenInUse', () => {
  it('refuses tokens that do not exist, listing exactly those', async () => {
    const real = await newToken();
    const ghost = randomUUID();
    const res = await define(`${prefix()}/x`, { securitySettings: { allowedTokens: [real, ghost, 'not-a-uuid'] } });
    expect(res.status).toBe(400);
    expect(res.body.errors).toHaveLength(1);
    expect(res.body.errors[0]).toMatchObject({ reason: 'InvalidAllowedTokens' });
    expect(res.body.errors[0].unknownTokenIds.sort()).toEqual(['not-a-uuid', ghost].sort());
  });

  it('keeps each allowed token once, and refuses a malformed securitySettings', async () => {
    const token = await newToken();
    const res = await define(`${prefix()}/dedupe`, {
      securitySettings: { allowedTokens: [token, token.toUpperCase()] },
    });
    expect(res.status).toBe(201);
    expect(res.body.securitySettings.allowedTokens).toEqual([token]);
    const bad = await define(`${prefix()}/bad`, { securitySettings: { allowedTokens: token } });
    expect(bad.status).toBe(400);
    expect(bad.body.errors[0].reason).toBe('InvalidAllowedTokens');
  });

  it('refuses to delete a linked token with exactly the linked definitions, and deletes it once they drop it', async () => {
    const token = await newToken();
    const other = await newToken();
    const p = prefix();
    const a = await define(`${p}/a`, { securitySettings: { allowedTokens: [token] } });
    const b = await define(`${p}/b`, { securitySettings: { allowedTokens: [other, token] } });
    await define(`${p}/c`, { securitySettings: { allowedTokens: [other] } });
    const refused = await admin().delete(`/tokens/${token}`);
    expect(refused.status).toBe(409);
    expect(refused.body.errors[0].reason).toBe('TokenInUse');
    expect([...refused.body.errors[0].apiDefinitionIdLinks].sort()).toEqual([a.body.id, b.body.id].sort());

    expect((await admin().patch(`/definitions/${a.body.id}`, { securitySettings: { allowedTokens: [] } })).status).toBe(
      200,
    );
    expect((await admin().delete(`/definitions/${b.body.id}`)).status).toBe(204);
    expect((await admin().delete(`/tokens/${token}`)).status).toBe(204);
  });

  it('refuses an update that adds a token that does not exist, and keeps the definition as it was', async () => {
    const token = await newToken();
    const created = await define(`${prefix()}/keep`, { securitySettings: { allowedTokens: [token] } });
    const ghost = randomUUID();
    const res = await admin().patch(`/definitions/${created.body.id}`, {
      securitySettings: { allowedTokens: [token, ghost] },
      description: 'changed',
    });
    expect(res.status).toBe(400);
    expect(res.body.errors[0]).toMatchObject({ reason: 'InvalidAllowedTokens', unknownTokenIds: [ghost] });
    const stored = await admin().get(`/definitions/${created.body.id}`);
    expect(stored.body).toEqual(created.body);
  });

  it('never leaves a definition pointing at a deleted token when a delete races a create (200 rounds)', async () => {
    const p = prefix();
    const outcomes = { tokenDeleted: 0, definitionCreated: 0 };
    for (let round = 0; round < 200; round += 1) {
      const token = await newToken();
      const [deleted, created] = await Promise.all([
        admin().delete(`/tokens/${token}`),
        define(`${p}/race${round}`, { securitySettings: { allowedTokens: [token] } }),
      ]);
      // Exactly one side wins, and the loser says why.
      if (deleted.status === 204) {
        expect(created.status).toBe(400);
        expect(created.body.errors[0]).toMatchObject({ reason: 'InvalidAllowedTokens', unknownTokenIds: [token] });
        outcomes.tokenDeleted += 1;
      } else {
        expect(deleted.status).toBe(409);
        expect(deleted.body.errors[0]).toMatchObject({ reason: 'TokenInUse', apiDefinitionIdLinks: [created.body.id] });
        expect(created.status).toBe(201);
        outcomes.definitionCreated += 1;
      }
    }
    expect(outcomes.tokenDeleted + outcomes.definitionCreated).toBe(200);

    const tokens = new Set(
      (
        await db.connection
          .collection('udapiApiTokens')
          .find({}, { projection: { _id: 1 } })
          .toArray()
      ).map((doc) => String(doc._id)),
    );
    const definitions = await db.connection.collection('udapiApiDefinitions').find({}).toArray();
    for (const definition of definitions) {
      for (const token of (definition.securitySettings as { allowedTokens: string[] }).allowedTokens)
        expect(tokens.has(token)).toBe(true);
    }
  }, 180_000);

  it('never leaves a definition pointing at a deleted token when a delete races an update that adds it', async () => {
    const p = prefix();
    for (let round = 0; round < 50; round += 1) {
      const token = await newToken();
      const definition = await define(`${p}/upd${round}`);
      const [deleted, updated] = await Promise.all([
        admin().delete(`/tokens/${token}`),
        admin().patch(`/definitions/${definition.body.id}`, { securitySettings: { allowedTokens: [token] } }),
      ]);
      expect([deleted.status, updated.status].sort()).toEqual(deleted.status === 204 ? [204, 400] : [200, 409]);
      const stored = await admin().get(`/definitions/${definition.body.id}`);
      const tokenExists = (await admin().get(`/tokens/${token}`)).status === 200;
      expect(stored.body.securitySettings.allowedTokens).toEqual(tokenExists ? [token] : []);
    }
  }, 180_000);
});

describe('lists, filters and count', () => {
  it('filters on route (ignoring case), allowed token and action type, and pages with a cursor', async () => {
    const p = prefix();
    const token = await newToken();
    const ids: string[] = [];
    for (let i = 0; i < 7; i += 1) {
      const res = await define(`${p}/item${i}`, { securitySettings: { allowedTokens: i % 2 === 0 ? [token] : [] } });
      ids.push(res.body.id);
    }
    const byRoute = await admin().get(`/definitions?route=${p.toUpperCase()}/ITEM3`);
    expect(byRoute.body.items.map((d: { id: string }) => d.id)).toEqual([ids[3]]);

    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const res: request.Response = await admin().get(
        `/definitions?allowedToken=${token}&limit=2${cursor ? `&cursor=${cursor}` : ''}`,
      );
      expect(res.status).toBe(200);
      seen.push(...res.body.items.map((d: { id: string }) => d.id));
      cursor = res.body.nextCursor;
    } while (cursor);
    expect(seen.sort()).toEqual([ids[0], ids[2], ids[4], ids[6]].sort());
    expect((await admin().get(`/definitions/count?allowedToken=${token}`)).body).toEqual({ count: 4 });
    expect((await admin().get(`/definitions/count?allowedToken=${token}&actionType=procedure`)).body).toEqual({
      count: 0,
    });
  });

  it('searches name, route and description as literal text ignoring case, and fetches several ids at once', async () => {
    const p = prefix();
    const made = [
      (await define(`${p}/Alpha`, { name: 'Plain' })).body.id as string,
      (await define(`${p}/beta`, { name: `${p} Needle.* here` })).body.id as string,
      (await define(`${p}/gamma`, { description: `about ${p}-NEEDLE.*` })).body.id as string,
      (await define(`${p}/delta/{id}`)).body.id as string,
    ];
    const ids = async (query: string): Promise<string[]> => {
      const res = await admin().get(`/definitions?${query}`);
      expect(res.status).toBe(200);
      return (res.body.items as { id: string }[]).map((d) => d.id).sort();
    };
    expect(await ids(`search=${p}/ALPHA`)).toEqual([made[0]]);
    expect(await ids(`search=${encodeURIComponent(`${p}`)}`)).toEqual([...made].sort());
    expect(await ids(`search=${encodeURIComponent('needle.*')}&createdBy=alice&route=${p}/beta`)).toEqual([made[1]]);
    expect(await ids(`search=${encodeURIComponent(`${p}-needle.*`)}`)).toEqual([made[2]]);
    expect(await ids(`search=${encodeURIComponent(`${p}.*`)}`)).toEqual([]);
    expect(await ids(`search=${encodeURIComponent(`${p}/delta/{id}`)}`)).toEqual([made[3]]);
    expect((await admin().get(`/definitions/count?search=${p}`)).body).toEqual({ count: 4 });
    expect(await ids(`ids=${made[0]!.toUpperCase()},${made[2]}`)).toEqual([made[0], made[2]].sort());
    expect(await ids(`ids=${made[0]},${made[2]}&id=${made[2]}`)).toEqual([made[2]]);
    expect(await ids(`ids=${randomUUID()}`)).toEqual([]);
  });

  it.each([
    ['search=', 'an empty search'],
    [`search=${'x'.repeat(201)}`, 'a search over 200 characters'],
    ['ids=not-a-uuid', 'a malformed id'],
    [`ids=${Array.from({ length: 101 }, () => randomUUID()).join(',')}`, '101 ids'],
    [`ids=${randomUUID()},`, 'a trailing comma'],
  ])('refuses the list query %s (%s)', async (query) => {
    const res = await admin().get(`/definitions?${query}`);
    expect(res.status).toBe(400);
    expect(res.body.errors[0].reason).toBe('InvalidRequest');
  });

  it.each(['route[$ne]=x', 'allowedToken=nope', 'actionType=script', 'owner=x'])(
    'refuses the query %s',
    async (query) => {
      const res = await admin().get(`/definitions?${query}`);
      expect(res.status).toBe(400);
      expect(res.body.errors[0].reason).toBe('InvalidRequest');
    },
  );

  it('answers 404 for an unknown definition id', async () => {
    const id = randomUUID();
    for (const res of [
      await admin().get(`/definitions/${id}`),
      await admin().patch(`/definitions/${id}`, { description: 'x' }),
      await admin().delete(`/definitions/${id}`),
    ]) {
      expect(res.status).toBe(404);
      expect(res.body.errors[0]).toMatchObject({ reason: 'NotFound', id });
    }
  });
});

describe('events and manager log', () => {
  it('writes an event with the route for create, update and delete', async () => {
    const route = `${prefix()}/audited`;
    const created = await define(route);
    const id = created.body.id;
    await admin().patch(`/definitions/${id}`, { description: 'x' });
    await admin().delete(`/definitions/${id}`);
    const res = await admin().get(`/events?objectId=${id}`);
    expect(res.body.items.map((e: { action: string }) => e.action)).toEqual(['deleted', 'updated', 'created']);
    expect(res.body.items[2]).toMatchObject({
      objectType: 'ApiDefinition',
      route,
      user: 'alice',
      message: `ApiDefinition with route '${route}' (${id}) was added by alice`,
    });
    expect(res.body.items[0].message).toBe(`ApiDefinition with route '${route}' (${id}) was deleted by alice`);
    const logged = t.logs.filter((line) => (line.obj as { objectId?: string }).objectId === id).map((line) => line.msg);
    expect(logged).toEqual([
      `Creating ApiDefinition with route '${route}' (${id})`,
      `Created ApiDefinition with route '${route}' (${id})`,
      `Updating ApiDefinition with route '${route}' (${id})`,
      `Updated ApiDefinition with route '${route}' (${id})`,
      `Deleting ApiDefinition with route '${route}' (${id})`,
      `Deleted ApiDefinition with route '${route}' (${id})`,
    ]);
  });
});
