// Backup: GET /export and POST /import restore every token and definition, secrets working, all or nothing.
import { randomBytes, randomUUID } from 'node:crypto';
import express from 'express';
import request from 'supertest';
import { ErrorReasons, type ErrorReason } from '../src/errors';
import { internalsOf } from '../src/plugin';
import { ADMIN, createTestApp, openTestHost, userWith, type TestHost } from './helpers/app';
import { openTestDb } from './helpers/db';

type Host = TestHost;
const hosts: Host[] = [];

async function host(pepper?: string): Promise<Host> {
  const made = await openTestHost(pepper ? { pepper } : {});
  hosts.push(made);
  return made;
}

afterAll(async () => {
  for (const made of hosts) await made.close();
});

const admin = (h: Host) => ({
  post: (path: string, body: unknown = {}) => request(h.app).post(`/admin/udapi${path}`).set(ADMIN).send(body as object),
  patch: (path: string, body: object) => request(h.app).patch(`/admin/udapi${path}`).set(ADMIN).send(body),
  get: (path: string) => request(h.app).get(`/admin/udapi${path}`).set(ADMIN),
});
const call = (h: Host, route: string, secret: string) => request(h.app).get(`/api/custom/${route}`).set('Authorization', `Bearer ${secret}`);

interface Installation {
  secrets: { secret: string; route: string }[];
  previous: { secret: string; route: string };
  disabled: { secret: string; route: string };
}

/** Tokens and definitions like a real installation's, including a grace period, a disabled token and a limit. */
async function populate(h: Host, count: number): Promise<Installation> {
  const api = admin(h);
  const secrets: Installation['secrets'] = [];
  for (let i = 0; i < count; i++) {
    const token = await api.post('/tokens', { name: `backup-${i}`, ...(i % 3 === 0 && { rateLimit: { limit: 50, windowSeconds: 60 } }), ...(i % 5 === 0 && { expiresAt: '2099-01-01T00:00:00Z' }) });
    expect(token.status).toBe(201);
    const route = `backup/${i}/{id}`;
    const definition = await api.post('/definitions', {
      route, name: `API ${i}`, ...(i % 2 === 0 && { description: 'with a description' }),
      actionMeta: { name: i % 4 === 0 ? 'test.echo' : 'test.other' }, securitySettings: { allowedTokens: [token.body.id] },
    });
    expect(definition.status).toBe(201);
    secrets.push({ secret: token.body.secret as string, route: `backup/${i}/x` });
  }
  const graced = await api.post('/tokens', { name: 'graced' });
  await api.post('/definitions', { route: 'backup/graced', actionMeta: { name: 'test.echo' }, securitySettings: { allowedTokens: [graced.body.id] } });
  const rotated = await api.post(`/tokens/${graced.body.id}/rotate`, { previousSecretExpiresAt: new Date(Date.now() + 3_600_000).toISOString() });
  secrets.push({ secret: rotated.body.secret as string, route: 'backup/graced' });
  const off = await api.post('/tokens', { name: 'off', isDisabled: true });
  await api.post('/definitions', { route: 'backup/off', actionMeta: { name: 'test.echo' }, securitySettings: { allowedTokens: [off.body.id] } });
  // A used token, so lastUsedAt travels too.
  expect((await call(h, secrets[0]!.route, secrets[0]!.secret)).status).toBe(200);
  await internalsOf(h.t.udapi).lastUse.flush();
  return { secrets, previous: { secret: graced.body.secret as string, route: 'backup/graced' }, disabled: { secret: off.body.secret as string, route: 'backup/off' } };
}

async function everything(h: Host): Promise<{ tokens: unknown[]; definitions: unknown[] }> {
  const tokens = (await admin(h).get('/tokens?limit=500')).body.items as { id: string }[];
  const definitions = (await admin(h).get('/definitions?limit=500')).body.items as { id: string }[];
  const byId = (a: { id: string }, b: { id: string }) => a.id.localeCompare(b.id);
  return { tokens: tokens.sort(byId), definitions: definitions.sort(byId) };
}

describe('export and import', () => {
  let source: Host;
  let installation: Installation;
  let backupText: string;

  beforeAll(async () => {
    source = await host();
    installation = await populate(source, 120);
    const exported = await admin(source).get('/export');
    expect(exported.status).toBe(200);
    expect(exported.headers['content-type']).toMatch(/^application\/json/);
    expect(exported.headers['content-disposition']).toMatch(/^attachment; filename="udapi-backup-\d{4}-\d{2}-\d{2}\.json"$/);
    expect(exported.headers['cache-control']).toBe('no-store');
    backupText = exported.text;
  }, 120_000);

  it('exports every object with digests and hashes, and never a secret', () => {
    const backup = JSON.parse(backupText);
    expect(backup).toMatchObject({ format: 'express-user-defined-apis/backup', version: 1 });
    expect(backup.tokens).toHaveLength(122);
    expect(backup.definitions).toHaveLength(122);
    for (const token of backup.tokens) {
      expect(token.secretDigest).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(token.secretHash).toMatch(/^\$2[aby]\$/);
    }
    for (const { secret } of [...installation.secrets, installation.previous, installation.disabled]) expect(backupText).not.toContain(secret);
    expect(backup.tokens.filter((token: { previousSecretDigest: string | null }) => token.previousSecretDigest !== null)).toHaveLength(1);
    expect(backup.tokens.filter((token: { lastUsedAt: string | null }) => token.lastUsedAt !== null)).toHaveLength(1);
  });

  it('restores into an empty database under the same pepper: same objects, every secret working', async () => {
    const target = await host();
    const body = JSON.parse(backupText);
    // Bigger than the ordinary admin body limit (64 KiB): imports have their own.
    expect(Buffer.byteLength(backupText)).toBeGreaterThan(64 * 1024);
    const imported = await admin(target).post('/import', body);
    expect([imported.status, imported.body]).toEqual([200, { tokens: 122, definitions: 122 }]);
    expect(await everything(target)).toEqual(await everything(source));
    // The same answer on both sides (200 or, for test.other, 204): the secret authenticates on the restored host.
    for (const { secret, route } of installation.secrets) {
      const status = (await call(source, route, secret)).status;
      expect(status).toBeLessThan(300);
      expect({ route, status: (await call(target, route, secret)).status }).toEqual({ route, status });
    }
    // The previous secret in its grace period, and the disabled token's refusal, travel too.
    expect((await call(target, installation.previous.route, installation.previous.secret)).status).toBe(200);
    expect((await call(target, installation.disabled.route, installation.disabled.secret)).status).toBe(401);
    expect(target.t.events.filter((event) => event.action === 'created')).toHaveLength(244);
    // The restored database exports the same backup (but for the time of export).
    const again = JSON.parse((await admin(target).get('/export')).text);
    expect({ ...again, exportedAt: null }).toEqual({ ...body, exportedAt: null });
  }, 120_000);

  it('tells every other instance on the database to reload', async () => {
    const target = await host();
    const other = await createTestApp(target.db, { instanceId: 'other-node' });
    const otherApp = express().use('/api/custom', other.udapi.endpoint());
    try {
      expect((await admin(target).post('/import', JSON.parse(backupText))).status).toBe(200);
      const { secret, route } = installation.secrets[8]!; // an echo route: 200
      const deadline = Date.now() + 1000;
      let status = 0;
      while (Date.now() < deadline && status !== 200) status = (await request(otherApp).get(`/api/custom/${route}`).set('Authorization', `Bearer ${secret}`)).status;
      expect(status).toBe(200);
    } finally {
      await other.udapi.close();
    }
  });

  it('refuses a backup made under another pepper, and writes nothing', async () => {
    const target = await host('another-pepper-0123456789-abcdefghijklmnop');
    const res = await admin(target).post('/import', JSON.parse(backupText));
    expect([res.status, res.body.errors[0].reason]).toEqual([400, 'InvalidBackup']);
    expect(res.body.errors[0].message).toContain('another pepper');
    expect((await admin(target).get('/tokens/count')).body.count).toBe(0);
  });

  it('validates everything first and applies nothing when one object is wrong', async () => {
    const target = await host();
    const cases: [string, (backup: Record<string, never[]> & { tokens: Record<string, unknown>[]; definitions: Record<string, unknown>[] }) => void, string][] = [
      ['a bad token name', (b) => (b.tokens[50]!.name = '  '), 'InvalidName'],
      ['a bad rate limit', (b) => (b.tokens[3]!.rateLimit = { limit: 0, windowSeconds: 1 }), 'InvalidRateLimit'],
      ['a malformed digest', (b) => (b.tokens[9]!.secretDigest = 'x'), 'InvalidBackup'],
      ['an unknown field', (b) => (b.tokens[9]!.secret = 'a'.repeat(44)), 'InvalidBackup'],
      ['two tokens with one secret', (b) => (b.tokens[10]!.secretDigest = b.tokens[11]!.secretDigest), 'InvalidSecret'],
      ['a duplicate id', (b) => (b.definitions[4]!.id = b.definitions[5]!.id), 'IdInUse'],
      ['a bad route', (b) => (b.definitions[60]!.route = 'a//b'), 'InvalidRoute'],
      ['conflicting routes', (b) => (b.definitions[61]!.route = 'backup/62/{other}'), 'RouteInUse'],
      ['an unregistered action', (b) => (b.definitions[62]!.actionMeta = { name: 'nobody.registered', inputType: 'rawBody' }), 'InvalidActionMeta'],
      ['a link to no token', (b) => (b.definitions[63]!.securitySettings = { allowedTokens: [randomUUID()] }), 'InvalidAllowedTokens'],
      ['a bad date', (b) => (b.tokens[1]!.createdAt = '2024-13-45T00:00:00Z'), 'InvalidBackup'],
    ];
    for (const [label, breakIt, reason] of cases) {
      const backup = JSON.parse(backupText);
      breakIt(backup);
      const res = await admin(target).post('/import', backup);
      const status = ErrorReasons[reason as ErrorReason].status;
      expect({ label, status: res.status, reasons: (res.body.errors as { reason: string }[]).map((error) => error.reason) }).toEqual({ label, status, reasons: [reason] });
      expect(res.body.errors[0].field).toMatch(/^(tokens|definitions)\[\d+\]/);
    }
    for (const bad of [{}, [], { format: 'other', version: 1 }, { ...JSON.parse(backupText), version: 2 }, 'text']) {
      const res = await admin(target).post('/import', bad);
      expect([res.status, res.body.errors[0].reason]).toEqual(typeof bad === 'string' ? [415, 'UnsupportedMediaType'] : [400, 'InvalidBackup']);
    }
    expect((await admin(target).get('/tokens/count')).body.count).toBe(0);
    expect((await admin(target).get('/definitions/count')).body.count).toBe(0);
    expect(target.t.events).toHaveLength(0);
  }, 60_000);

  it('refuses conflicts with what is stored (ids, routes, secrets), naming at most 100 problems', async () => {
    const res = await admin(source).post('/import', JSON.parse(backupText));
    expect(res.status).toBe(409);
    const reasons = new Set((res.body.errors as { reason: string }[]).map((error) => error.reason));
    expect([...reasons].sort()).toEqual(['IdInUse', 'InvalidBackup']);
    expect(res.body.errors).toHaveLength(101);
    expect(res.body.errors[100].message).toMatch(/^\d+ more problem\(s\) not listed; nothing was imported\.$/);
    // Fresh ids but the same routes and secrets: route and secret conflicts.
    const backup = JSON.parse(backupText);
    backup.tokens = backup.tokens.slice(0, 3);
    for (const token of backup.tokens) token.id = randomUUID();
    backup.definitions = backup.definitions.slice(0, 2).map((definition: { id: string; securitySettings: unknown }) => ({ ...definition, id: randomUUID(), securitySettings: { allowedTokens: [] } }));
    const clash = await admin(source).post('/import', backup);
    expect((clash.body.errors as { reason: string }[]).map((error) => error.reason).sort()).toEqual(['InvalidSecret', 'InvalidSecret', 'InvalidSecret', 'RouteInUse', 'RouteInUse']);
    expect((await admin(source).get('/tokens/count')).body.count).toBe(122);
  });

  it('undoes a write that fails midway', async () => {
    const target = await host();
    const definitions = internalsOf(target.t.udapi).backups['definitionModel'].collection;
    const failing = jest.spyOn(definitions, 'insertMany').mockRejectedValueOnce(Object.assign(new Error('connection reset'), { name: 'MongoNetworkError' }));
    try {
      const res = await admin(target).post('/import', JSON.parse(backupText));
      expect([res.status, res.body.errors[0].reason]).toEqual([503, 'ServiceUnavailable']);
    } finally {
      failing.mockRestore();
    }
    expect(await target.db.connection.collection('udapiApiTokens').countDocuments()).toBe(0);
    expect(await target.db.connection.collection('udapiApiDefinitions').countDocuments()).toBe(0);
    // And the same backup imports cleanly afterwards.
    expect((await admin(target).post('/import', JSON.parse(backupText))).status).toBe(200);
  });

  it('needs the right permissions, and keeps digests out of every log line', async () => {
    const denied = await request(source.app).get('/admin/udapi/export').set(userWith('UserDefinableApiTokenRead', 'UserDefinableApiDefinitionRead'));
    expect([denied.status, denied.body.errors[0].permission]).toEqual([403, 'UserDefinableApiTokenCreateUpdate']);
    const importDenied = await request(source.app).post('/admin/udapi/import').set(userWith('UserDefinableApiTokenCreateUpdate')).send(JSON.parse(backupText));
    expect([importDenied.status, importDenied.body.errors[0].permission]).toEqual([403, 'UserDefinableApiDefinitionCreateUpdate']);
    const digests = (JSON.parse(backupText).tokens as { secretDigest: string; secretHash: string }[]).flatMap((token) => [token.secretDigest, token.secretHash]);
    const logText = JSON.stringify(hosts.flatMap((h) => h.t.logs));
    expect(digests.filter((value) => logText.includes(value))).toEqual([]);
  });

  it('refuses a body over importBodyLimitBytes with 413', async () => {
    const db = await openTestDb();
    const t = await createTestApp(db, { importBodyLimitBytes: 2048 });
    try {
      const res = await request(t.app).post('/admin/udapi/import').set(ADMIN).send({ padding: randomBytes(4096).toString('hex') });
      expect([res.status, res.body.errors[0].reason]).toEqual([413, 'PayloadTooLarge']);
    } finally {
      await t.udapi.close();
      await db.drop();
    }
  });
});
