// ApiToken rules, routes, events and secret handling, end to end over HTTP against the real test database.
import { randomUUID } from 'node:crypto';
import { internalsOf } from '../src/plugin';
import { generateSecret } from '../src';
import { ADMIN, createTestApp, TEST_PEPPER, type TestApp } from './helpers/app';
import { openTestDb, type TestDb } from './helpers/db';
import { recordingClient, type RecordingClient } from './helpers/http';
import { LeakTracker } from './helpers/leaks';

let db: TestDb;
let t: TestApp;
let api: RecordingClient;
const leaks = new LeakTracker(TEST_PEPPER);

beforeAll(async () => {
  db = await openTestDb();
  t = await createTestApp(db);
  api = recordingClient(t.app);
});

afterAll(async () => {
  try {
    // Nothing sensitive may have reached a response (one-time secrets aside), a log line or an event.
    const values = await leaks.sensitiveValues(db.connection, 'udapiApiTokens');
    expect(leaks.count).toBeGreaterThan(10);
    const texts = [
      ...api.responses,
      ...t.logs.map((line) => JSON.stringify(line)),
      ...t.events.map((event) => JSON.stringify(event)),
    ];
    const stored = await db.connection.collection('udapiEvents').find({}).toArray();
    texts.push(...stored.map((doc) => JSON.stringify(doc)));
    expect(LeakTracker.findIn(values, texts)).toEqual([]);
  } finally {
    // Even when a check above fails: an open connection would keep jest from exiting.
    await t?.udapi.close();
    await db?.drop();
  }
});

const secret = (): string => leaks.track(generateSecret());

async function createToken(body: Record<string, unknown> = {}): Promise<{ id: string; secret?: string }> {
  const res = await api.post('/tokens', { name: `token-${randomUUID().slice(0, 8)}`, ...body }, ADMIN);
  expect(res.status).toBe(201);
  if (typeof res.body.secret === 'string') leaks.track(res.body.secret);
  return { id: res.body.id, secret: res.body.secret };
}

function reasons(res: { body: { errors?: { reason: string }[] } }): string[] {
  return (res.body.errors ?? []).map((error) => error.reason);
}

describe('create', () => {
  it('generates a 44-character base64 secret when none is given and returns it once', async () => {
    const res = await api.post('/tokens', { name: 'billing' }, ADMIN);
    expect(res.status).toBe(201);
    leaks.track(res.body.secret);
    expect(res.body.secret).toMatch(/^[A-Za-z0-9+/]{43}=$/);
    expect(res.body).toEqual({
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      name: 'billing',
      isDisabled: false,
      rateLimit: null,
      scopes: [],
      metadata: null,
      // Without secretPrefix: the first 6 characters of the generated secret.
      start: res.body.secret.slice(0, 6),
      expiresAt: null,
      previousSecretExpiresAt: null,
      lastUsedAt: null,
      createdBy: 'alice',
      createdAt: expect.any(String),
      lastModifiedBy: 'alice',
      lastModified: res.body.createdAt,
      secret: res.body.secret,
    });
    expect(res.headers['cache-control']).toBe('no-store');

    const read = await api.get(`/tokens/${res.body.id}`, ADMIN);
    expect(read.status).toBe(200);
    expect(read.body).not.toHaveProperty('secret');
    expect(Object.keys(read.body).sort()).toEqual([
      'createdAt',
      'createdBy',
      'expiresAt',
      'id',
      'isDisabled',
      'lastModified',
      'lastModifiedBy',
      'lastUsedAt',
      'metadata',
      'name',
      'previousSecretExpiresAt',
      'rateLimit',
      'scopes',
      'start',
    ]);
  });

  it('keeps a supplied id and secret and does not echo the secret', async () => {
    const id = randomUUID();
    const res = await api.post(
      '/tokens',
      { id, name: 'supplied', secret: secret(), rateLimit: { limit: 60, windowSeconds: 60 } },
      ADMIN,
    );
    expect(res.status).toBe(201);
    expect(res.body.id).toBe(id);
    expect(res.body).not.toHaveProperty('secret');
    expect(res.body.rateLimit).toEqual({ limit: 60, windowSeconds: 60 });
  });

  it('stores neither the plaintext secret nor anything but its digest and bcrypt hash', async () => {
    const plain = secret();
    const { id } = await createToken({ secret: plain });
    const doc = await db.connection.collection('udapiApiTokens').findOne({ _id: id as never });
    expect(doc).not.toBeNull();
    expect(JSON.stringify(doc)).not.toContain(plain);
    expect(String(doc!.secretHash)).toMatch(/^\$2b\$04\$/);
    expect(String(doc!.secretDigest)).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it.each([
    ['empty', ''],
    ['whitespace-only', ' \t\n '],
  ])('refuses a %s name with InvalidName and the would-be id', async (_label, name) => {
    const id = randomUUID();
    const res = await api.post('/tokens', { id, name }, ADMIN);
    expect(res.status).toBe(400);
    expect(res.body.errors).toEqual([{ reason: 'InvalidName', id, message: expect.stringContaining('empty') }]);
  });

  it('refuses a missing name', async () => {
    const res = await api.post('/tokens', {}, ADMIN);
    expect(res.status).toBe(400);
    expect(res.body.errors).toEqual([{ reason: 'InvalidName', field: 'name', message: "Field 'name' is required." }]);
  });

  it.each([
    ['31 characters', 'a'.repeat(31), 'at least 32'],
    ['a space', `${'a'.repeat(32)} x`, 'only contain'],
    ['a forbidden character', `${'a'.repeat(32)}!`, 'only contain'],
    ['a non-ASCII letter', `${'a'.repeat(32)}é`, 'only contain'],
    ['over 512 characters', 'a'.repeat(513), 'at most 512'],
  ])('refuses a secret with %s (InvalidSecret) and never quotes it', async (_label, bad, words) => {
    leaks.track(bad);
    const res = await api.post('/tokens', { name: 'x', secret: bad }, ADMIN);
    expect(res.status).toBe(400);
    expect(reasons(res)).toEqual(['InvalidSecret']);
    expect(res.body.errors[0].message).toContain(words);
    expect(res.text).not.toContain(bad);
  });

  it('accepts exactly 32 characters of the full alphabet', async () => {
    const ok = leaks.track('AZaz09_-.=+/AZaz09_-.=+/AZaz09_-');
    expect(ok).toHaveLength(32);
    await createToken({ secret: ok });
  });

  it('refuses a secret another token uses, without saying which token', async () => {
    const shared = secret();
    const first = await createToken({ secret: shared });
    const res = await api.post('/tokens', { name: 'second', secret: shared }, ADMIN);
    expect(res.status).toBe(400);
    expect(reasons(res)).toEqual(['InvalidSecret']);
    expect(res.text).not.toContain(first.id);
  });

  it('gives 50 concurrent creates with one secret exactly one success', async () => {
    const shared = secret();
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) => api.post('/tokens', { name: `race-${i}`, secret: shared }, ADMIN)),
    );
    const statuses = results.map((res) => res.status);
    expect(statuses.filter((status) => status === 201)).toHaveLength(1);
    for (const res of results.filter((r) => r.status !== 201)) {
      expect(res.status).toBe(400);
      expect(reasons(res)).toEqual(['InvalidSecret']);
    }
    const stored = await internalsOf(t.udapi).verifier.verify(shared);
    expect(stored?.id).toBe(results.find((r) => r.status === 201)!.body.id);
  });

  it('refuses a supplied id that is taken (IdInUse) or not a UUID (InvalidId)', async () => {
    const { id } = await createToken();
    const taken = await api.post('/tokens', { id, name: 'again' }, ADMIN);
    expect(taken.status).toBe(409);
    expect(reasons(taken)).toEqual(['IdInUse']);
    const bad = await api.post('/tokens', { id: 'not-a-uuid', name: 'x' }, ADMIN);
    expect(bad.status).toBe(400);
    expect(reasons(bad)).toEqual(['InvalidId']);
  });

  it('reports every problem of a request at once', async () => {
    const res = await api.post(
      '/tokens',
      { name: ' ', secret: 'short', rateLimit: { limit: 0, windowSeconds: 60 } },
      ADMIN,
    );
    expect(res.status).toBe(400);
    expect(reasons(res).sort()).toEqual(['InvalidName', 'InvalidRateLimit', 'InvalidSecret']);
    const ids = new Set(res.body.errors.map((error: { id: string }) => error.id));
    expect(ids.size).toBe(1);
  });
});

describe('rate limits', () => {
  it.each([
    [{ limit: 0, windowSeconds: 60 }, 'from 1 to 100'],
    [{ limit: 101, windowSeconds: 60 }, 'from 1 to 100'],
    [{ limit: 10, windowSeconds: 0 }, '1 second to 1 day'],
    [{ limit: 10, windowSeconds: 86401 }, '1 second to 1 day'],
  ])('refuses %j with InvalidRateLimit and an English message', async (rateLimit, words) => {
    const res = await api.post('/tokens', { name: 'limited', rateLimit }, ADMIN);
    expect(res.status).toBe(400);
    expect(res.body.errors).toEqual([
      { reason: 'InvalidRateLimit', id: expect.any(String), message: expect.stringContaining(words) },
    ]);
  });

  it.each([
    [{ limit: 1.5, windowSeconds: 60 }],
    [{ limit: '10', windowSeconds: 60 }],
    [{ limit: 10 }],
    [{ limit: 10, windowSeconds: 60, burst: 2 }],
    ['60/min'],
  ])('refuses the malformed rate limit %j with InvalidRateLimit', async (rateLimit) => {
    const res = await api.post('/tokens', { name: 'limited', rateLimit }, ADMIN);
    expect(res.status).toBe(400);
    expect(reasons(res)).toContain('InvalidRateLimit');
  });

  it.each([[{ limit: 1, windowSeconds: 1 }], [{ limit: 100, windowSeconds: 86400 }], [null]])(
    'accepts the boundary %j',
    async (rateLimit) => {
      const res = await api.post('/tokens', { name: 'limited', rateLimit }, ADMIN);
      expect(res.status).toBe(201);
      leaks.track(res.body.secret);
      expect(res.body.rateLimit).toEqual(rateLimit);
    },
  );

  it('changes and clears a rate limit on update', async () => {
    const { id } = await createToken();
    const set = await api.patch(`/tokens/${id}`, { rateLimit: { limit: 5, windowSeconds: 10 } }, ADMIN);
    expect(set.body.rateLimit).toEqual({ limit: 5, windowSeconds: 10 });
    const bad = await api.patch(`/tokens/${id}`, { rateLimit: { limit: 500, windowSeconds: 10 } }, ADMIN);
    expect(reasons(bad)).toEqual(['InvalidRateLimit']);
    const cleared = await api.patch(`/tokens/${id}`, { rateLimit: null }, ADMIN);
    expect(cleared.body.rateLimit).toBeNull();
  });
});

describe('update and rotation', () => {
  it('rotates on update: the old secret stops verifying and the new one verifies', async () => {
    const { verifier: tokens } = internalsOf(t.udapi);
    const oldSecret = secret();
    const { id } = await createToken({ secret: oldSecret });
    expect((await tokens.verify(oldSecret))?.id).toBe(id);
    const newSecret = secret();
    const res = await api.patch(`/tokens/${id}`, { secret: newSecret }, ADMIN);
    expect(res.status).toBe(200);
    expect(res.body).not.toHaveProperty('secret');
    expect(await tokens.verify(oldSecret)).toBeNull();
    expect((await tokens.verify(newSecret))?.id).toBe(id);
  });

  it('keeps the secret when the update gives an empty one', async () => {
    const { verifier: tokens } = internalsOf(t.udapi);
    const kept = secret();
    const { id } = await createToken({ secret: kept });
    const res = await api.patch(`/tokens/${id}`, { name: 'renamed', secret: '' }, ADMIN);
    expect(res.status).toBe(200);
    expect(res.body.name).toBe('renamed');
    expect((await tokens.verify(kept))?.id).toBe(id);
  });

  it('applies the same secret rules on rotation, including uniqueness', async () => {
    const taken = secret();
    await createToken({ secret: taken });
    const { id } = await createToken();
    const short = await api.patch(`/tokens/${id}`, { secret: 'x'.repeat(10) }, ADMIN);
    expect(reasons(short)).toEqual(['InvalidSecret']);
    const dup = await api.patch(`/tokens/${id}`, { secret: taken }, ADMIN);
    expect(dup.status).toBe(400);
    expect(reasons(dup)).toEqual(['InvalidSecret']);
  });

  it('lets a token keep its own secret on rotation to the same value', async () => {
    const same = secret();
    const { id } = await createToken({ secret: same });
    const res = await api.patch(`/tokens/${id}`, { secret: same }, ADMIN);
    expect(res.status).toBe(200);
  });

  it('generates, returns once and applies a new secret on POST /tokens/:id/rotate', async () => {
    const { verifier: tokens } = internalsOf(t.udapi);
    const { id, secret: first } = await createToken();
    const res = await api.post(`/tokens/${id}/rotate`, undefined, ADMIN);
    expect(res.status).toBe(200);
    leaks.track(res.body.secret);
    expect(res.body.secret).toMatch(/^[A-Za-z0-9+/]{43}=$/);
    expect(await tokens.verify(first!)).toBeNull();
    expect((await tokens.verify(res.body.secret))?.id).toBe(id);
    const chosen = secret();
    const again = await api.post(`/tokens/${id}/rotate`, { secret: chosen }, ADMIN);
    expect(again.status).toBe(200);
    expect(again.body).not.toHaveProperty('secret');
    expect((await tokens.verify(chosen))?.id).toBe(id);
  });

  it('refuses a blank name on update, and records who changed what', async () => {
    const { id } = await createToken();
    const blank = await api.patch(`/tokens/${id}`, { name: '   ' }, ADMIN);
    expect(blank.status).toBe(400);
    expect(blank.body.errors).toEqual([{ reason: 'InvalidName', id, message: expect.any(String) }]);
    const res = await api.patch(
      `/tokens/${id}`,
      { isDisabled: true },
      { 'x-test-user': 'carol', 'x-test-permissions': '*' },
    );
    expect(res.body).toMatchObject({ isDisabled: true, createdBy: 'alice', lastModifiedBy: 'carol' });
    expect(Date.parse(res.body.lastModified)).toBeGreaterThanOrEqual(Date.parse(res.body.createdAt));
  });

  it('does not lose a field when two updates of different fields race', async () => {
    const { id } = await createToken();
    await Promise.all([
      api.patch(`/tokens/${id}`, { name: 'raced' }, ADMIN),
      api.patch(`/tokens/${id}`, { isDisabled: true }, ADMIN),
      api.patch(`/tokens/${id}`, { rateLimit: { limit: 7, windowSeconds: 7 } }, ADMIN),
    ]);
    const res = await api.get(`/tokens/${id}`, ADMIN);
    expect(res.body).toMatchObject({ name: 'raced', isDisabled: true, rateLimit: { limit: 7, windowSeconds: 7 } });
  });
});

describe('bad requests', () => {
  it.each([
    ['{"name":"x","owner":"eve"}', 'owner', "Unknown field 'owner'."],
    ['{"name":"x","createdBy":"eve"}', 'createdBy', "Field 'createdBy' is set by the server."],
    ['{"name":"x","__proto__":{"isAdmin":true}}', '__proto__', "Unknown field '__proto__'."],
    ['{"name":"x","constructor":{"prototype":{"isAdmin":true}}}', 'constructor', "Unknown field 'constructor'."],
  ])('refuses the unknown or read-only field in %s', async (json, field, message) => {
    // Raw JSON text, so that `__proto__` arrives as an own key exactly as an attacker would send it.
    const res = await api.post('/tokens', json, { ...ADMIN, 'content-type': 'application/json' });
    expect(res.status).toBe(400);
    expect(res.body.errors).toContainEqual(expect.objectContaining({ reason: 'InvalidRequest', field, message }));
    expect(({} as Record<string, unknown>).isAdmin).toBeUndefined();
  });

  it('refuses an id in an update body', async () => {
    const { id } = await createToken();
    const res = await api.patch(`/tokens/${id}`, { id: randomUUID() }, ADMIN);
    expect(res.status).toBe(400);
    expect(res.body.errors[0]).toMatchObject({
      reason: 'InvalidRequest',
      field: 'id',
      message: "Field 'id' cannot be changed.",
    });
  });

  it.each([
    [{ name: 42 }, 'InvalidName'],
    [{ name: ['a'] }, 'InvalidName'],
    [{ name: { $gt: '' } }, 'InvalidName'],
    [{ name: 'x', isDisabled: 'true' }, 'InvalidRequest'],
    [{ name: 'x', secret: { $ne: null } }, 'InvalidSecret'],
  ])('refuses wrong types in %j', async (body, reason) => {
    const res = await api.post('/tokens', body, ADMIN);
    expect(res.status).toBe(400);
    expect(reasons(res)).toContain(reason);
  });

  it('refuses a body that is not JSON, not an object, too large, or not declared as JSON', async () => {
    const malformed = await api.post('/tokens', '{"name":', { ...ADMIN, 'content-type': 'application/json' });
    expect(malformed.status).toBe(400);
    expect(malformed.body.errors[0]).toMatchObject({
      reason: 'InvalidRequest',
      message: 'The body is not valid JSON.',
    });
    const array = await api.post('/tokens', [{ name: 'x' }], ADMIN);
    expect(array.status).toBe(400);
    expect(array.body.errors[0].message).toBe('The body must be a JSON object.');
    const large = await api.post('/tokens', { name: 'x'.repeat(140_000) }, ADMIN);
    expect(large.status).toBe(413);
    expect(reasons(large)).toEqual(['PayloadTooLarge']);
    const form = await api.post('/tokens', 'name=x', { ...ADMIN, 'content-type': 'application/x-www-form-urlencoded' });
    expect(form.status).toBe(415);
    expect(reasons(form)).toEqual(['UnsupportedMediaType']);
  });

  it.each(['get', 'patch', 'delete', 'rotate'] as const)(
    'answers 404 NotFound for an unknown id on %s',
    async (verb) => {
      const id = randomUUID();
      const res =
        verb === 'get'
          ? await api.get(`/tokens/${id}`, ADMIN)
          : verb === 'patch'
            ? await api.patch(`/tokens/${id}`, { name: 'x' }, ADMIN)
            : verb === 'delete'
              ? await api.delete(`/tokens/${id}`, ADMIN)
              : await api.post(`/tokens/${id}/rotate`, undefined, ADMIN);
      expect(res.status).toBe(404);
      expect(res.body.errors).toEqual([{ reason: 'NotFound', id, message: expect.any(String) }]);
    },
  );

  it('answers 404 for an id that is not a UUID and for an unknown admin path', async () => {
    expect((await api.get('/tokens/..%2F..%2Fetc', ADMIN)).status).toBe(404);
    const unknown = await api.get('/nothing-here', ADMIN);
    expect(unknown.status).toBe(404);
    expect(reasons(unknown)).toEqual(['NotFound']);
  });

  it.each([
    ['name[$ne]=x', 'name[$ne]'],
    ['owner=eve', 'owner'],
    ['limit=0', 'limit'],
    ['limit=501', 'limit'],
    ['limit=1e309', 'limit'],
    ['isDisabled=maybe', 'isDisabled'],
    ['createdAtFrom=yesterday', 'createdAtFrom'],
  ])('refuses the list query %s', async (query, field) => {
    const res = await api.get(`/tokens?${query}`, ADMIN);
    expect(res.status).toBe(400);
    expect(res.body.errors[0]).toMatchObject({ reason: 'InvalidRequest', field });
  });

  it('refuses a repeated query parameter and a forged cursor', async () => {
    const repeated = await api.get('/tokens?name=a&name=b', ADMIN);
    expect(repeated.status).toBe(400);
    const forged = await api.get(`/tokens?cursor=${Buffer.from('{"$gt":""}').toString('base64url')}`, ADMIN);
    expect(forged.status).toBe(400);
    expect(forged.body.errors[0]).toMatchObject({ reason: 'InvalidRequest', field: 'cursor' });
  });
});

describe('verification cost', () => {
  it('rejects an unknown secret without any bcrypt', async () => {
    const { verifier: tokens, bcrypt } = internalsOf(t.udapi);
    const before = bcrypt.stats.compares;
    for (let i = 0; i < 20; i += 1) expect(await tokens.verify(secret())).toBeNull();
    expect(await tokens.verify('short')).toBeNull();
    expect(bcrypt.stats.compares).toBe(before);
  });

  it('runs bcrypt once per secret on an instance, and again after a rotation changes the hash', async () => {
    const { verifier: tokens, bcrypt } = internalsOf(t.udapi);
    const plain = secret();
    const { id } = await createToken({ secret: plain });
    const before = bcrypt.stats.compares;
    expect((await tokens.verify(plain))?.id).toBe(id);
    expect(bcrypt.stats.compares).toBe(before + 1);
    for (let i = 0; i < 10; i += 1) expect((await tokens.verify(plain))?.id).toBe(id);
    expect(bcrypt.stats.compares).toBe(before + 1);
  });

  it('refuses a secret whose digest matches but whose bcrypt hash does not (tampered document)', async () => {
    const { verifier: tokens } = internalsOf(t.udapi);
    const plain = secret();
    const { id } = await createToken({ secret: plain });
    const other = await createToken({ secret: secret() });
    const otherDoc = await db.connection.collection('udapiApiTokens').findOne({ _id: other.id as never });
    await db.connection
      .collection('udapiApiTokens')
      .updateOne({ _id: id as never }, { $set: { secretHash: otherDoc!.secretHash } });
    await internalsOf(t.udapi).catalog.refreshToken(id);
    expect(await tokens.verify(plain)).toBeNull();
  });
});

describe('delete', () => {
  it('deletes a token, and then it no longer verifies', async () => {
    const { verifier: tokens } = internalsOf(t.udapi);
    const plain = secret();
    const { id } = await createToken({ secret: plain });
    expect((await tokens.verify(plain))?.id).toBe(id);
    const res = await api.delete(`/tokens/${id}`, ADMIN);
    expect(res.status).toBe(204);
    expect(res.text).toBe('');
    expect(await tokens.verify(plain)).toBeNull();
    expect((await api.get(`/tokens/${id}`, ADMIN)).status).toBe(404);
  });

  it('refuses to delete a token that definitions allow (TokenInUse with exactly those ids), then deletes once unlinked', async () => {
    const { id } = await createToken();
    const definitions = db.connection.collection('udapiApiDefinitions');
    const linked = [randomUUID(), randomUUID()];
    await definitions.insertMany([
      { _id: linked[0] as never, route: 'a', securitySettings: { allowedTokens: [id] } },
      { _id: linked[1] as never, route: 'b', securitySettings: { allowedTokens: [randomUUID(), id] } },
      { _id: randomUUID() as never, route: 'c', securitySettings: { allowedTokens: [randomUUID()] } },
    ]);
    const refused = await api.delete(`/tokens/${id}`, ADMIN);
    expect(refused.status).toBe(409);
    expect(refused.body.errors).toHaveLength(1);
    expect(refused.body.errors[0]).toMatchObject({ reason: 'TokenInUse', id });
    expect([...refused.body.errors[0].apiDefinitionIdLinks].sort()).toEqual([...linked].sort());
    expect((await api.get(`/tokens/${id}`, ADMIN)).status).toBe(200);

    await definitions.deleteMany({ _id: { $in: linked as never[] } });
    expect((await api.delete(`/tokens/${id}`, ADMIN)).status).toBe(204);
  });
});

describe('list and count', () => {
  it('walks 1,000 tokens with a filter, visiting each match exactly once, and count agrees', async () => {
    const creator = `bulk-${randomUUID().slice(0, 8)}`;
    const headers = { 'x-test-user': creator, 'x-test-permissions': '*' };
    const created: string[] = [];
    for (let batch = 0; batch < 1000; batch += 25) {
      const results = await Promise.all(
        Array.from({ length: 25 }, (_, i) =>
          api.post('/tokens', { name: `bulk-${batch + i}`, isDisabled: (batch + i) % 3 === 0 }, headers),
        ),
      );
      for (const res of results) {
        expect(res.status).toBe(201);
        leaks.track(res.body.secret);
        created.push(res.body.id);
      }
    }
    const expectedDisabled = new Set(created.filter((_, i) => i % 3 === 0));

    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const query: string = `/tokens?createdBy=${creator}&isDisabled=true&limit=97${cursor ? `&cursor=${cursor}` : ''}`;
      const res = await api.get(query, ADMIN);
      expect(res.status).toBe(200);
      expect(res.body.items.length).toBeLessThanOrEqual(97);
      for (const item of res.body.items) {
        expect(item).toMatchObject({ createdBy: creator, isDisabled: true });
        seen.push(item.id);
      }
      cursor = res.body.nextCursor;
      pages += 1;
    } while (cursor);
    expect(seen).toHaveLength(expectedDisabled.size);
    expect(new Set(seen)).toEqual(expectedDisabled);
    expect(pages).toBe(Math.ceil(expectedDisabled.size / 97));

    const count = await api.get(`/tokens/count?createdBy=${creator}&isDisabled=true`, ADMIN);
    expect(count.body).toEqual({ count: expectedDisabled.size });
    const all = await api.get(`/tokens/count?createdBy=${creator}`, ADMIN);
    expect(all.body).toEqual({ count: 1000 });
  }, 120_000); // 1,000 creates (bcrypt and three writes each) on a CI machine shared with other suites

  it('filters on id, name, lastModifiedBy and time ranges', async () => {
    const name = `filter-${randomUUID().slice(0, 8)}`;
    const { id } = await createToken({ name });
    const byName = await api.get(`/tokens?name=${name}`, ADMIN);
    expect(byName.body.items.map((item: { id: string }) => item.id)).toEqual([id]);
    const byId = await api.get(`/tokens?id=${id.toUpperCase()}`, ADMIN);
    expect(byId.body.items).toHaveLength(1);
    await api.patch(`/tokens/${id}`, { isDisabled: false }, { 'x-test-user': 'dave', 'x-test-permissions': '*' });
    const byModifier = await api.get(`/tokens?lastModifiedBy=dave&name=${name}`, ADMIN);
    expect(byModifier.body.items).toHaveLength(1);
    const created = Date.parse(byName.body.items[0].createdAt);
    const inRange = await api.get(
      `/tokens?name=${name}&createdAtFrom=${new Date(created).toISOString()}&createdAtTo=${new Date(created + 1).toISOString()}`,
      ADMIN,
    );
    expect(inRange.body.items).toHaveLength(1);
    const outOfRange = await api.get(
      `/tokens?name=${name}&createdAtFrom=${new Date(created + 1).toISOString()}`,
      ADMIN,
    );
    expect(outOfRange.body.items).toHaveLength(0);
    const modifiedLater = await api.get(
      `/tokens?name=${name}&lastModifiedTo=${new Date(created).toISOString()}`,
      ADMIN,
    );
    expect(modifiedLater.body.items).toHaveLength(0);
  });
});

describe('lists from the in-memory view', () => {
  const ids = (res: { body: { items: { id: string }[] } }): string[] => res.body.items.map((item) => item.id);

  /** The database's own answer, sorted as the admin list is: the oracle the in-memory pages must equal. */
  async function storedIds(query: Record<string, unknown>): Promise<string[]> {
    const rows = await db.connection
      .collection('udapiApiTokens')
      .find(query)
      .sort({ createdAt: -1, _id: -1 })
      .project({ _id: 1 })
      .toArray();
    return rows.map((row) => String(row._id));
  }

  it('pages through tokens that share one creation time in (createdAt, id) order, as the database sorts them', async () => {
    const creator = `tie-${randomUUID().slice(0, 8)}`;
    const at = new Date(Date.now() - 3_600_000);
    const docs = Array.from({ length: 7 }, (_, i) => ({
      _id: randomUUID(),
      name: `tie-${i}`,
      secretDigest: `digest-${randomUUID()}`,
      secretHash: `hash-${randomUUID()}`,
      isDisabled: i % 2 === 0,
      rateLimit: null,
      createdBy: creator,
      createdAt: at,
      lastModifiedBy: creator,
      lastModified: at,
      deletingSince: null,
    }));
    await db.connection.collection('udapiApiTokens').insertMany(docs as never[]);
    await internalsOf(t.udapi).feed.reload(); // written behind the package's back: make this instance read them

    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const res = await api.get(`/tokens?createdBy=${creator}&limit=2${cursor ? `&cursor=${cursor}` : ''}`, ADMIN);
      expect(res.status).toBe(200);
      seen.push(...ids(res));
      cursor = res.body.nextCursor;
    } while (cursor);
    expect(seen).toEqual(await storedIds({ createdBy: creator }));
    expect(seen).toHaveLength(7);
    const disabled = await api.get(`/tokens?createdBy=${creator}&isDisabled=true`, ADMIN);
    expect(ids(disabled)).toEqual(await storedIds({ createdBy: creator, isDisabled: true }));
    expect((await api.get(`/tokens/count?createdBy=${creator}&isDisabled=false`, ADMIN)).body).toEqual({ count: 3 });
  });

  it('answers every filter as the database does', async () => {
    const creator = `filters-${randomUUID().slice(0, 8)}`;
    const headers = { 'x-test-user': creator, 'x-test-permissions': '*' };
    const made: string[] = [];
    for (let i = 0; i < 6; i += 1) {
      const res = await api.post(
        '/tokens',
        { name: i < 3 ? `${creator}-a` : `${creator}-b`, isDisabled: i % 3 === 0 },
        headers,
      );
      leaks.track(res.body.secret);
      made.push(res.body.id);
    }
    await api.patch(
      `/tokens/${made[1]}`,
      { name: `${creator}-b` },
      { 'x-test-user': `${creator}-editor`, 'x-test-permissions': '*' },
    );
    const middle = (await api.get(`/tokens/${made[2]}`, ADMIN)).body.createdAt;
    const cases: [string, Record<string, unknown>][] = [
      [`createdBy=${creator}`, { createdBy: creator }],
      [`createdBy=${creator}&name=${creator}-b`, { createdBy: creator, name: `${creator}-b` }],
      [`createdBy=${creator}&isDisabled=true`, { createdBy: creator, isDisabled: true }],
      [`lastModifiedBy=${creator}-editor`, { lastModifiedBy: `${creator}-editor` }],
      [`id=${made[4]!.toUpperCase()}`, { _id: made[4] }],
      [`createdBy=${creator}&createdAtFrom=${middle}`, { createdBy: creator, createdAt: { $gte: new Date(middle) } }],
      [`createdBy=${creator}&createdAtTo=${middle}`, { createdBy: creator, createdAt: { $lt: new Date(middle) } }],
      [
        `createdBy=${creator}&lastModifiedFrom=${middle}`,
        { createdBy: creator, lastModified: { $gte: new Date(middle) } },
      ],
    ];
    for (const [query, stored] of cases) {
      const res = await api.get(`/tokens?${query}`, ADMIN);
      expect({ query, ids: ids(res) }).toEqual({ query, ids: await storedIds(stored) });
      expect((await api.get(`/tokens/count?${query}`, ADMIN)).body).toEqual({
        count: (await storedIds(stored)).length,
      });
    }
  });

  it('searches names as literal text ignoring case, and fetches several ids at once, in memory and in the database alike', async () => {
    const p = `search-${randomUUID().slice(0, 8)}`;
    const made: string[] = [];
    for (const name of [`${p}-Alpha`, `${p}-alpha.*`, `${p}-beta`, `${p}-(Ünïcode)`])
      made.push((await createToken({ name })).id);
    const cases: [string, string[]][] = [
      [`search=${p}-ALPHA`, [made[0]!, made[1]!]],
      [`search=${encodeURIComponent(`${p}-alpha.*`)}`, [made[1]!]],
      [`search=${encodeURIComponent(`${p}-(ünïcode)`)}`, [made[3]!]],
      [`search=${encodeURIComponent(`${p}.*`)}`, []],
      [`search=${p}&isDisabled=false&name=${p}-beta`, [made[2]!]],
      [`ids=${made[0]!.toUpperCase()},${made[3]}`, [made[0]!, made[3]!]],
      [`ids=${made[0]},${made[3]}&id=${made[3]}`, [made[3]!]],
      [`ids=${made[0]},${made[3]}&search=beta`, []],
    ];
    const { catalog } = internalsOf(t.udapi);
    for (const stale of [false, true]) {
      catalog.stale = stale; // stale: the in-memory view is not trusted and the database answers
      try {
        for (const [query, expected] of cases) {
          const res = await api.get(`/tokens?${query}`, ADMIN);
          expect({ stale, query, ids: ids(res).sort() }).toEqual({ stale, query, ids: [...expected].sort() });
          expect({ stale, query, count: (await api.get(`/tokens/count?${query}`, ADMIN)).body.count }).toEqual({
            stale,
            query,
            count: expected.length,
          });
        }
      } finally {
        catalog.stale = false;
      }
    }
    await catalog.load();
    for (const query of [
      'search=',
      `search=${'x'.repeat(201)}`,
      'ids=nope',
      `ids=${Array.from({ length: 101 }, () => randomUUID()).join(',')}`,
    ]) {
      const res = await api.get(`/tokens?${query}`, ADMIN);
      expect({ query, status: res.status, reasons: reasons(res) }).toEqual({
        query,
        status: 400,
        reasons: ['InvalidRequest'],
      });
    }
  });

  it('shows a write made on another instance in the very next list there, without waiting for its poll', async () => {
    // Polls so rarely that only the catch-up on read can explain a fresh answer.
    const other = await createTestApp(db, { changePollIntervalMs: 60_000 });
    try {
      const otherApi = recordingClient(other.app);
      const name = `elsewhere-${randomUUID().slice(0, 8)}`;
      const { id } = await createToken({ name });
      const listed = await otherApi.get(`/tokens?name=${name}`, ADMIN);
      expect(ids(listed)).toEqual([id]);
      await api.patch(`/tokens/${id}`, { isDisabled: true }, ADMIN);
      expect(ids(await otherApi.get(`/tokens?name=${name}&isDisabled=true`, ADMIN))).toEqual([id]);
      await api.delete(`/tokens/${id}`, ADMIN);
      expect((await otherApi.get(`/tokens/count?name=${name}`, ADMIN)).body).toEqual({ count: 0 });
    } finally {
      await other.udapi.close();
    }
  });

  it('falls back to the database while the in-memory view is stale', async () => {
    const { id } = await createToken({ name: `stale-${randomUUID().slice(0, 8)}` });
    const { catalog } = internalsOf(t.udapi);
    catalog.stale = true;
    await db.connection
      .collection('udapiApiTokens')
      .updateOne({ _id: id as never }, { $set: { name: 'renamed-behind-its-back' } });
    const res = await api.get(`/tokens?id=${id}`, ADMIN);
    expect(res.body.items.map((item: { name: string }) => item.name)).toEqual(['renamed-behind-its-back']);
    await catalog.load();
  });
});

describe('events and manager log', () => {
  it('writes one persisted event per create, update and delete, readable at /events', async () => {
    const before = t.events.length;
    const { id } = await createToken({ name: 'audited' });
    await api.patch(`/tokens/${id}`, { name: 'audited-2' }, ADMIN);
    await api.delete(`/tokens/${id}`, ADMIN);
    const emitted = t.events.slice(before).filter((event) => event.objectId === id);
    expect(emitted.map((event) => event.action)).toEqual(['created', 'updated', 'deleted']);
    expect(emitted[0]).toEqual({
      id: expect.any(String),
      name: 'User-defined APIs',
      objectType: 'ApiToken',
      action: 'created',
      objectId: id,
      tokenName: 'audited',
      user: 'alice',
      at: expect.any(String),
      message: `ApiToken 'audited' (${id}) was added by alice`,
    });
    expect(emitted[1]!.message).toBe(`ApiToken 'audited-2' (${id}) was updated by alice`);
    expect(emitted[2]!.message).toBe(`ApiToken 'audited-2' (${id}) was deleted by alice`);

    const res = await api.get(`/events?objectId=${id}`, ADMIN);
    expect(res.status).toBe(200);
    expect(res.body.items).toEqual([...emitted].reverse());
    expect(res.body.nextCursor).toBeNull();
    const onlyUpdates = await api.get(`/events?objectId=${id}&action=updated&objectType=ApiToken`, ADMIN);
    expect(onlyUpdates.body.items.map((event: { action: string }) => event.action)).toEqual(['updated']);
  });

  it('writes no event for a refused change', async () => {
    const before = await db.connection.collection('udapiEvents').countDocuments();
    await api.post('/tokens', { name: '' }, ADMIN);
    await api.patch(`/tokens/${randomUUID()}`, { name: 'x' }, ADMIN);
    expect(await db.connection.collection('udapiEvents').countDocuments()).toBe(before);
  });

  it('logs every change on the manager stream with the user and a trace id', async () => {
    const { id } = await createToken({ name: 'logged' });
    const lines = t.logs.filter((line) => (line.obj as { objectId?: string }).objectId === id);
    expect(lines.map((line) => line.msg)).toEqual([
      `Creating ApiToken 'logged' (${id})`,
      `Created ApiToken 'logged' (${id})`,
    ]);
    for (const line of lines) {
      expect(line.bindings).toMatchObject({ stream: 'manager', instanceId: 'test-node' });
      expect(line.obj).toMatchObject({ user: 'alice', traceId: expect.stringMatching(/^[0-9a-f-]{36}$/) });
    }
    expect((lines[0]!.obj as { traceId: string }).traceId).toBe((lines[1]!.obj as { traceId: string }).traceId);
  });

  it('keeps a change when a change listener throws', async () => {
    const throwing = (): void => {
      throw new Error('listener bug');
    };
    t.udapi.on('change', throwing);
    try {
      const res = await api.post('/tokens', { name: 'listener' }, ADMIN);
      expect(res.status).toBe(201);
      leaks.track(res.body.secret);
      expect(t.logs.some((line) => line.level === 'error' && line.msg === "A 'change' listener threw")).toBe(true);
    } finally {
      t.udapi.off('change', throwing);
    }
  });

  it('prunes events older than the retention', async () => {
    const { events } = internalsOf(t.udapi);
    const old = {
      _id: randomUUID(),
      objectType: 'ApiToken',
      action: 'created',
      objectId: randomUUID(),
      tokenName: 'old',
      user: 'x',
      at: new Date(Date.now() - 91 * 86_400_000),
      message: 'old',
    };
    await db.connection.collection('udapiEvents').insertOne(old as never);
    expect(await events.prune()).toBeGreaterThanOrEqual(1);
    expect(await db.connection.collection('udapiEvents').findOne({ _id: old._id as never })).toBeNull();
  });
});
