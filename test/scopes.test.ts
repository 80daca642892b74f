// Token scopes and metadata, definitions' required scopes, and identifiable secrets, over HTTP on the real database.
import { randomUUID } from 'node:crypto';
import express from 'express';
import request from 'supertest';
import { generateSecret } from '../src';
import { hasBrokenChecksum, secretStart } from '../src/domain/secrets';
import { internalsOf } from '../src/plugin';
import { ADMIN, createTestApp, userWith, type TestApp } from './helpers/app';
import { openTestHost, type TestHost } from './helpers/app';

const PREFIX = 'udapi_';
let host: TestHost;
let other: TestApp;
const otherEndpoint = express();

beforeAll(async () => {
  host = await openTestHost({ secretPrefix: PREFIX, failedAuthThrottle: false });
  other = await createTestApp(host.db, { changePollIntervalMs: 100, failedAuthThrottle: false });
  otherEndpoint.use('/api/custom', other.udapi.endpoint());
});

afterAll(async () => {
  await other?.udapi.close();
  await host?.close();
});

const admin = {
  get: (path: string) => request(host.app).get(`/admin/udapi${path}`).set(ADMIN),
  post: (path: string, body: object) => request(host.app).post(`/admin/udapi${path}`).set(ADMIN).send(body),
  patch: (path: string, body: object) => request(host.app).patch(`/admin/udapi${path}`).set(ADMIN).send(body),
};
const call = (path: string, secret: string, app: express.Express = host.app) =>
  request(app).get(`/api/custom/${path}`).set('Authorization', `Bearer ${secret}`);

function reasons(res: { body: { errors?: { reason: string; field?: string }[] } }): string[] {
  return (res.body.errors ?? []).map((error) => `${error.reason}${error.field ? ` ${error.field}` : ''}`);
}

async function token(body: object = {}): Promise<{ id: string; secret: string; start: string }> {
  const res = await admin.post('/tokens', { name: `scoped-${randomUUID().slice(0, 8)}`, ...body });
  expect(res.status).toBe(201);
  return { id: res.body.id, secret: res.body.secret, start: res.body.start };
}

async function definition(route: string, allowedTokens: string[], requiredScopes?: string[]): Promise<string> {
  const res = await admin.post('/definitions', {
    route,
    actionMeta: { name: 'test.echo' },
    securitySettings: { allowedTokens, ...(requiredScopes && { requiredScopes }) },
  });
  expect(res.status).toBe(201);
  return String(res.body.id);
}

describe('scopes and metadata through the admin API', () => {
  it('stores, returns and replaces them; a token without them has [] and null', async () => {
    const metadata = { team: 'billing', limits: { tier: 2, tags: ['a', 'b'] } };
    const created = await admin.post('/tokens', { name: 'scoped', scopes: ['orders:read', 'orders.write'], metadata });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ scopes: ['orders:read', 'orders.write'], metadata });
    const read = await admin.get(`/tokens/${created.body.id}`);
    expect(read.body).toMatchObject({ scopes: ['orders:read', 'orders.write'], metadata });

    const patched = await admin.patch(`/tokens/${created.body.id}`, { scopes: ['x'], metadata: null });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({ scopes: ['x'], metadata: null });
    expect((await admin.get(`/tokens/${created.body.id}`)).body).toMatchObject({ scopes: ['x'], metadata: null });
    // A patch that names neither leaves both as they are.
    const renamed = await admin.patch(`/tokens/${created.body.id}`, { name: 'renamed' });
    expect(renamed.body).toMatchObject({ scopes: ['x'], metadata: null });

    const plain = await admin.post('/tokens', { name: 'plain' });
    expect(plain.body).toMatchObject({ scopes: [], metadata: null });
  });

  it.each([
    ['a scope with an upper-case letter', { scopes: ['Orders'] }, 'InvalidScopes scopes'],
    ['an empty scope', { scopes: [''] }, 'InvalidScopes scopes'],
    ['a scope of 65 characters', { scopes: ['a'.repeat(65)] }, 'InvalidScopes scopes'],
    ['51 scopes', { scopes: Array.from({ length: 51 }, (_, i) => `s${i}`) }, 'InvalidScopes scopes'],
    ['a scope listed twice', { scopes: ['a', 'b', 'a'] }, 'InvalidScopes scopes'],
    ['scopes that are not a list', { scopes: 'a' }, 'InvalidScopes scopes'],
    ['metadata that is a list', { metadata: [1] }, 'InvalidMetadata metadata'],
    ['metadata over 4 KB', { metadata: { text: 'x'.repeat(4090) } }, 'InvalidMetadata metadata'],
    ['a key starting with $', { metadata: { $where: 1 } }, 'InvalidMetadata metadata'],
    ['a key with a dot, deep inside', { metadata: { a: [{ b: { 'c.d': 1 } }] } }, 'InvalidMetadata metadata'],
  ])('refuses %s with its reason, on create and on update', async (_what, body, reason) => {
    const created = await admin.post('/tokens', { name: 'refused', ...body });
    expect(created.status).toBe(400);
    expect(reasons(created)).toEqual([reason]);
    const { id } = await token();
    const patched = await admin.patch(`/tokens/${id}`, body);
    expect(patched.status).toBe(400);
    expect(reasons(patched)).toEqual([reason]);
  });

  it('says which rule a scope or metadata breaks', async () => {
    const twice = await admin.post('/tokens', { name: 'x', scopes: ['a', 'a'] });
    expect(twice.body.errors[0].message).toBe("The scopes list 'a' twice; list each once.");
    const deep = await admin.post('/tokens', { name: 'x', metadata: { ok: { $bad: 1 } } });
    expect(deep.body.errors[0].message).toMatch(/^The metadata key "\$bad" is not allowed/);
    const big = await admin.post('/tokens', { name: 'x', metadata: { text: 'x'.repeat(4090) } });
    expect(big.body.errors[0].message).toBe('The metadata must be at most 4096 bytes as JSON (got 4101).');
  });

  it('accepts metadata of exactly 4096 bytes', async () => {
    const metadata = { text: 'x'.repeat(4096 - '{"text":""}'.length) };
    expect(Buffer.byteLength(JSON.stringify(metadata))).toBe(4096);
    expect((await admin.post('/tokens', { name: 'full', metadata })).status).toBe(201);
  });

  it('filters lists and counts by scope, from the in-memory view and from the database alike', async () => {
    const scope = `filter.${randomUUID().slice(0, 8)}`;
    const a = await token({ scopes: [scope, 'other'] });
    const b = await token({ scopes: [scope] });
    await token({ scopes: ['other'] });
    const listed = await admin.get(`/tokens?scope=${scope}`);
    expect(listed.status).toBe(200);
    expect(listed.body.items.map((item: { id: string }) => item.id).sort()).toEqual([a.id, b.id].sort());
    expect((await admin.get(`/tokens/count?scope=${scope}`)).body).toEqual({ count: 2 });
    // The same filter on the database, while the in-memory view is stale.
    const { catalog } = internalsOf(host.t.udapi);
    catalog.stale = true;
    try {
      const fromDatabase = await admin.get(`/tokens?scope=${scope}`);
      expect(fromDatabase.body.items.map((item: { id: string }) => item.id).sort()).toEqual([a.id, b.id].sort());
      expect((await admin.get(`/tokens/count?scope=${scope}`)).body).toEqual({ count: 2 });
    } finally {
      await catalog.load();
    }
    expect((await admin.get(`/tokens?scope=${'s'.repeat(65)}`)).status).toBe(400);
  });
});

describe('scopes, metadata and start in backups', () => {
  it('exports them and imports them back; refuses a backup token whose scopes or metadata break the rules', async () => {
    const made = await token({ scopes: ['backup:me'], metadata: { shelf: { row: 3 } } });
    const exported = await admin.get('/export');
    expect(exported.status).toBe(200);
    const backup = JSON.parse(exported.text) as { tokens: { id: string }[]; definitions: unknown[] };
    const saved = backup.tokens.find((item) => item.id === made.id)!;
    expect(saved).toMatchObject({ scopes: ['backup:me'], metadata: { shelf: { row: 3 } }, start: made.start });
    expect((await request(host.app).delete(`/admin/udapi/tokens/${made.id}`).set(ADMIN)).status).toBe(204);

    const broken = { ...saved, scopes: ['Backup'], metadata: { 'a.b': 1 } };
    const refused = await admin.post('/import', { ...backup, tokens: [broken], definitions: [] });
    expect(refused.status).toBe(400);
    expect(reasons(refused)).toEqual(['InvalidScopes tokens[0].scopes', 'InvalidMetadata tokens[0].metadata']);

    const restored = await admin.post('/import', { ...backup, tokens: [saved], definitions: [] });
    expect(restored.status).toBe(200);
    expect((await admin.get(`/tokens/${made.id}`)).body).toMatchObject({
      scopes: ['backup:me'],
      metadata: { shelf: { row: 3 } },
      start: made.start,
    });
    expect((await call('nothing-here', made.secret)).status).toBe(404);

    // A backup made before scopes, metadata and start: its tokens have none.
    await request(host.app).delete(`/admin/udapi/tokens/${made.id}`).set(ADMIN);
    const older: Record<string, unknown> = { ...saved };
    for (const field of ['scopes', 'metadata', 'start']) delete older[field];
    expect((await admin.post('/import', { ...backup, tokens: [older], definitions: [] })).status).toBe(200);
    expect((await admin.get(`/tokens/${made.id}`)).body).toMatchObject({ scopes: [], metadata: null, start: null });
  });
});

describe('required scopes at the endpoint and in explain', () => {
  it('refuses an allowed token that lacks a required scope like a token not allowed, and explain says so', async () => {
    const scoped = await token({ scopes: ['orders:read', 'orders:write'] });
    const lacking = await token({ scopes: ['orders:read'] });
    const stranger = await token({ scopes: ['orders:read', 'orders:write'] });
    await definition('scoped/orders', [scoped.id, lacking.id], ['orders:read', 'orders:write']);

    expect((await call('scoped/orders', scoped.secret)).status).toBe(200);
    const refused = await call('scoped/orders', lacking.secret);
    const notAllowed = await call('scoped/orders', stranger.secret);
    expect(refused.status).toBe(401);
    expect(refused.body.errors[0].errorCode).toBe(1010);
    expect(refused.body.errors[0].detail).toBe(notAllowed.body.errors[0].detail);
    expect(refused.headers['www-authenticate']).toBe(notAllowed.headers['www-authenticate']);

    const explained = await admin.post('/explain', { secret: lacking.secret, method: 'GET', path: 'scoped/orders' });
    expect(explained.body).toMatchObject({ verdict: 'missingScope', status: 401, errorCode: 1010 });
    expect(explained.body.explanation).toContain("requires the scope 'orders:write', which it lacks");
    const blind = await request(host.app)
      .post('/admin/udapi/explain')
      .set(userWith('UserDefinableApiTokenCreateUpdate'))
      .send({ secret: lacking.secret, method: 'GET', path: 'scoped/orders' });
    expect(blind.body.verdict).toBe('missingScope');
    expect(blind.body.explanation).not.toContain('orders:write');
    const fine = await admin.post('/explain', { secret: scoped.secret, method: 'GET', path: 'scoped/orders' });
    expect(fine.body.verdict).toBe('allowed');
  });

  it('a definition without required scopes ignores scopes; a patch of allowedTokens alone keeps them', async () => {
    const bare = await token();
    const id = await definition('scoped/none', [bare.id]);
    expect((await call('scoped/none', bare.secret)).status).toBe(200);
    const required = await admin.patch(`/definitions/${id}`, {
      securitySettings: { allowedTokens: [bare.id], requiredScopes: ['admin'] },
    });
    expect(required.body.securitySettings).toEqual({ allowedTokens: [bare.id], requiredScopes: ['admin'] });
    expect((await call('scoped/none', bare.secret)).status).toBe(401);
    const kept = await admin.patch(`/definitions/${id}`, { securitySettings: { allowedTokens: [bare.id] } });
    expect(kept.body.securitySettings.requiredScopes).toEqual(['admin']);
    await admin.patch(`/tokens/${bare.id}`, { scopes: ['admin'] });
    expect((await call('scoped/none', bare.secret)).status).toBe(200);
  });

  it('refuses required scopes that break the scope rules, with their field', async () => {
    const res = await admin.post('/definitions', {
      route: 'scoped/bad',
      actionMeta: { name: 'test.echo' },
      securitySettings: { allowedTokens: [], requiredScopes: ['ok', 'Not OK'] },
    });
    expect(res.status).toBe(400);
    expect(reasons(res)).toEqual(['InvalidScopes securitySettings.requiredScopes']);
  });

  it("another instance applies a change of a token's scopes as it applies a change of its name", async () => {
    const moving = await token({ scopes: ['reports'] });
    await definition('scoped/moving', [moving.id], ['reports']);
    const until = async (status: number) => {
      for (let i = 0; i < 40; i++) {
        if ((await call('scoped/moving', moving.secret, otherEndpoint)).status === status) return;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      throw new Error(`the other instance never answered ${status}`);
    };
    await until(200);
    const { catalog } = internalsOf(other.udapi);
    const before = catalog.fingerprint('ApiToken', moving.id);
    await admin.patch(`/tokens/${moving.id}`, { scopes: [] });
    await until(401);
    expect(catalog.fingerprint('ApiToken', moving.id)).not.toBe(before);
    expect(catalog.tokenById(moving.id)?.scopes).toEqual([]);
    await admin.patch(`/tokens/${moving.id}`, { metadata: { owner: 'ops' } });
    for (let i = 0; i < 40 && catalog.tokenById(moving.id)?.metadata === null; i++)
      await new Promise((resolve) => setTimeout(resolve, 50));
    expect(catalog.tokenById(moving.id)?.metadata).toEqual({ owner: 'ops' });
  });
});

describe('identifiable secrets', () => {
  it('generates prefix + 43 base62 + a 6-character checksum, and keeps a start of the prefix and 6 characters', async () => {
    const created = await token();
    expect(created.secret).toMatch(/^udapi_[0-9A-Za-z]{49}$/);
    expect(hasBrokenChecksum(created.secret, PREFIX)).toBe(false);
    expect(created.start).toBe(created.secret.slice(0, PREFIX.length + 6));
    const listed = await admin.get(`/tokens?ids=${created.id}`);
    expect(listed.body.items[0].start).toBe(created.start);
    expect((await call('nothing-here', created.secret)).status).toBe(404); // authenticates, then finds no API

    const rotated = await admin.post(`/tokens/${created.id}/rotate`, {});
    expect(rotated.body.start).toBe(rotated.body.secret.slice(0, PREFIX.length + 6));
    expect(rotated.body.start).not.toBe(created.start);
  });

  it('shows 4 characters of a supplied secret; refuses one of the generated shape with a broken checksum', async () => {
    const supplied = `custom-${randomUUID()}`;
    const created = await admin.post('/tokens', { name: 'supplied', secret: supplied });
    expect(created.status).toBe(201);
    expect(created.body.start).toBe('cust');
    const good = generateSecret(PREFIX);
    const broken = `${good.slice(0, -1)}${good.endsWith('0') ? '1' : '0'}`;
    const refused = await admin.post('/tokens', { name: 'broken', secret: broken });
    expect(refused.status).toBe(400);
    expect(reasons(refused)).toEqual(['InvalidSecret']);
    expect(refused.body.errors[0].message).toMatch(/not its checksum/);
    expect((await admin.post('/tokens', { name: 'good', secret: good })).body.start).toBe(good.slice(0, 4));
  });

  it('a token made before start was kept shows null, and its old 44-character secret keeps working', async () => {
    const old = generateSecret();
    expect(old).toHaveLength(44);
    const created = await admin.post('/tokens', { name: 'old', secret: old });
    await host.db.connection
      .collection('udapiApiTokens')
      .updateOne({ _id: created.body.id }, { $unset: { start: '' } });
    await internalsOf(host.t.udapi).catalog.refreshToken(created.body.id);
    expect((await admin.get(`/tokens/${created.body.id}`)).body.start).toBeNull();
    await definition('scoped/old', [created.body.id]);
    expect((await call('scoped/old', old)).status).toBe(200);
  });

  it('refuses a broken checksum exactly like an unknown secret, counted alike by the throttle', async () => {
    const throttled = await createTestApp(host.db, { secretPrefix: PREFIX, failedAuthThrottle: { limit: 2 } });
    try {
      const endpoint = express().use('/api/custom', throttled.udapi.endpoint());
      const good = generateSecret(PREFIX);
      const broken = `${good.slice(0, -1)}${good.endsWith('0') ? '1' : '0'}`;
      const unknown = generateSecret(PREFIX);
      const first = await call('scoped/orders', broken, endpoint);
      const second = await call('scoped/orders', unknown, endpoint);
      expect(first.status).toBe(401);
      expect({ ...first.body, errors: [{ ...first.body.errors[0], faultingNode: 'x' }] }).toEqual({
        ...second.body,
        errors: [{ ...second.body.errors[0], faultingNode: 'x' }],
      });
      expect(first.headers['www-authenticate']).toBe(second.headers['www-authenticate']);
      // Two failures so far, one of each: the third of either kind is throttled.
      expect((await call('scoped/orders', broken, endpoint)).status).toBe(429);
    } finally {
      await throttled.udapi.close();
    }
  });

  it('secretStart and hasBrokenChecksum follow the documented rules', () => {
    const secret = generateSecret(PREFIX);
    expect(secretStart(secret, true, PREFIX)).toHaveLength(12);
    expect(secretStart(secret, true, null)).toHaveLength(6);
    expect(secretStart(secret, false, PREFIX)).toBe('udap');
    expect(hasBrokenChecksum(`other_${secret.slice(PREFIX.length)}`, PREFIX)).toBe(false);
    expect(hasBrokenChecksum(`${secret}x`, PREFIX)).toBe(false);
    const flipped = secret.slice(0, 10) + (secret[10] === 'A' ? 'B' : 'A') + secret.slice(11);
    expect(hasBrokenChecksum(flipped, PREFIX)).toBe(true);
  });
});
