// Backup: GET /export and POST /import restore every token and definition, secrets working, all or nothing.
import { randomBytes, randomUUID } from 'node:crypto';
import bcrypt from 'bcrypt';
import express from 'express';
import request from 'supertest';
import { ErrorReasons, type ErrorReason } from '../src/errors';
import { internalsOf } from '../src/plugin';
import { digestSecret } from '../src/domain/secrets';
import { pepperCheckOf } from '../src/services/backup';
import { ADMIN, createTestApp, openTestHost, TEST_PEPPER, userWith, type TestHost } from './helpers/app';
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
  post: (path: string, body: unknown = {}) =>
    request(h.app)
      .post(`/admin/udapi${path}`)
      .set(ADMIN)
      .send(body as object),
  patch: (path: string, body: object) => request(h.app).patch(`/admin/udapi${path}`).set(ADMIN).send(body),
  get: (path: string) => request(h.app).get(`/admin/udapi${path}`).set(ADMIN),
});
const call = (h: Host, route: string, secret: string) =>
  request(h.app).get(`/api/custom/${route}`).set('Authorization', `Bearer ${secret}`);

interface BackupShape {
  exportedAt: string;
  tokens: Record<string, unknown>[];
  definitions: Record<string, unknown>[];
}
/** A bcrypt-shaped hash: `prefix` and `cost` as given, a body of `length` bcrypt base64 characters. */
const hashOf = (prefix: string, cost: string, length = 53) =>
  `${prefix}${cost}$${'./Az09'.repeat(10).slice(0, length)}`;
const fromNow = (ms: number) => new Date(Date.now() + ms).toISOString();
const DAY = 86_400_000;

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
    const token = await api.post('/tokens', {
      name: `backup-${i}`,
      ...(i % 3 === 0 && { rateLimit: { limit: 50, windowSeconds: 60 } }),
      ...(i % 5 === 0 && { expiresAt: '2099-01-01T00:00:00Z' }),
    });
    expect(token.status).toBe(201);
    const route = `backup/${i}/{id}`;
    const definition = await api.post('/definitions', {
      route,
      name: `API ${i}`,
      ...(i % 2 === 0 && { description: 'with a description'.padEnd(400, '.') }),
      actionMeta: { name: i % 4 === 0 ? 'test.echo' : 'test.other' },
      securitySettings: { allowedTokens: [token.body.id] },
      // Input schemas travel too; GET calls without a query or body pass these.
      ...(i % 10 === 0 && {
        input: {
          query: { type: 'object', properties: { n: { type: 'integer' } } },
          body: { $defs: {}, type: 'object' },
        },
      }),
    });
    expect(definition.status).toBe(201);
    secrets.push({ secret: token.body.secret as string, route: `backup/${i}/x` });
  }
  const graced = await api.post('/tokens', { name: 'graced' });
  await api.post('/definitions', {
    route: 'backup/graced',
    actionMeta: { name: 'test.echo' },
    securitySettings: { allowedTokens: [graced.body.id] },
  });
  const rotated = await api.post(`/tokens/${graced.body.id}/rotate`, {
    previousSecretExpiresAt: new Date(Date.now() + 3_600_000).toISOString(),
  });
  secrets.push({ secret: rotated.body.secret as string, route: 'backup/graced' });
  const off = await api.post('/tokens', { name: 'off', isDisabled: true });
  await api.post('/definitions', {
    route: 'backup/off',
    actionMeta: { name: 'test.echo' },
    securitySettings: { allowedTokens: [off.body.id] },
  });
  // A used token, so lastUsedAt travels too.
  expect((await call(h, secrets[0]!.route, secrets[0]!.secret)).status).toBe(200);
  await internalsOf(h.t.udapi).lastUse.flush();
  return {
    secrets,
    previous: { secret: graced.body.secret as string, route: 'backup/graced' },
    disabled: { secret: off.body.secret as string, route: 'backup/off' },
  };
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
    expect(exported.headers['content-disposition']).toMatch(
      /^attachment; filename="udapi-backup-\d{4}-\d{2}-\d{2}\.json"$/,
    );
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
    for (const { secret } of [...installation.secrets, installation.previous, installation.disabled])
      expect(backupText).not.toContain(secret);
    expect(
      backup.tokens.filter((token: { previousSecretDigest: string | null }) => token.previousSecretDigest !== null),
    ).toHaveLength(1);
    expect(backup.tokens.filter((token: { lastUsedAt: string | null }) => token.lastUsedAt !== null)).toHaveLength(1);
  });

  it('restores into an empty database under the same pepper: same objects, every secret working', async () => {
    const target = await host();
    const body = JSON.parse(backupText);
    // Bigger than the ordinary admin body limit (128 KiB): imports have their own.
    expect(Buffer.byteLength(backupText)).toBeGreaterThan(128 * 1024);
    expect(body.definitions.filter((definition: { input?: object }) => definition.input)).toHaveLength(12);
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
    // The restored database exports the same backup (but for the time of export and the pepper check's salt).
    const again = JSON.parse((await admin(target).get('/export')).text);
    expect(again.pepperCheck).not.toBe(body.pepperCheck);
    expect({ ...again, exportedAt: null, pepperCheck: null }).toEqual({ ...body, exportedAt: null, pepperCheck: null });
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
      while (Date.now() < deadline && status !== 200)
        status = (await request(otherApp).get(`/api/custom/${route}`).set('Authorization', `Bearer ${secret}`)).status;
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

  it('carries a salted scrypt pepper check; older backups with a keyed-hash check still import', async () => {
    const body = JSON.parse(backupText);
    expect(body.pepperCheck).toMatch(/^scrypt\$16384\$8\$1\$[A-Za-z0-9+/]{22}==\$[A-Za-z0-9+/]{43}=$/);
    const empty = { ...body, tokens: [], definitions: [] };
    const legacy = { ...empty, pepperCheck: pepperCheckOf(Buffer.from(TEST_PEPPER)) };
    const target = await host();
    expect((await admin(target).post('/import', legacy)).body).toEqual({ tokens: 0, definitions: 0 });
    const other = await host('another-pepper-0123456789-abcdefghijklmnop');
    // Under another pepper, refused in either form; a check of neither form (N not a power of two) is refused too.
    for (const pepperCheck of [legacy.pepperCheck, body.pepperCheck, body.pepperCheck.replace('$16384$', '$16383$')]) {
      const res = await admin(other).post('/import', { ...empty, pepperCheck });
      expect([res.status, res.body.errors[0].reason]).toEqual([400, 'InvalidBackup']);
    }
  });

  it('validates everything first and applies nothing when one object is wrong', async () => {
    const target = await host();
    const cases: [
      string,
      (
        backup: Record<string, never[]> & { tokens: Record<string, unknown>[]; definitions: Record<string, unknown>[] },
      ) => void,
      string,
    ][] = [
      ['a bad token name', (b) => (b.tokens[50]!.name = '  '), 'InvalidName'],
      ['a bad rate limit', (b) => (b.tokens[3]!.rateLimit = { limit: 0, windowSeconds: 1 }), 'InvalidRateLimit'],
      ['an unknown field', (b) => (b.tokens[9]!.secret = 'a'.repeat(44)), 'InvalidBackup'],
      ['two tokens with one secret', (b) => (b.tokens[10]!.secretDigest = b.tokens[11]!.secretDigest), 'InvalidSecret'],
      ['a duplicate id', (b) => (b.definitions[4]!.id = b.definitions[5]!.id), 'IdInUse'],
      ['a bad route', (b) => (b.definitions[60]!.route = 'a//b'), 'InvalidRoute'],
      ['conflicting routes', (b) => (b.definitions[61]!.route = 'backup/62/{other}'), 'RouteInUse'],
      [
        'an unregistered action',
        (b) => (b.definitions[62]!.actionMeta = { name: 'nobody.registered', inputType: 'rawBody' }),
        'InvalidActionMeta',
      ],
      [
        'a link to no token',
        (b) => (b.definitions[63]!.securitySettings = { allowedTokens: [randomUUID()] }),
        'InvalidAllowedTokens',
      ],
      ['a bad date', (b) => (b.tokens[1]!.createdAt = '2024-13-45T00:00:00Z'), 'InvalidBackup'],
    ];
    for (const [label, breakIt, reason] of cases) {
      const backup = JSON.parse(backupText);
      breakIt(backup);
      const res = await admin(target).post('/import', backup);
      const status = ErrorReasons[reason as ErrorReason].status;
      expect({
        label,
        status: res.status,
        reasons: (res.body.errors as { reason: string }[]).map((error) => error.reason),
      }).toEqual({ label, status, reasons: [reason] });
      expect(res.body.errors[0].field).toMatch(/^(tokens|definitions)\[\d+\]/);
    }
    for (const bad of [{}, [], { format: 'other', version: 1 }, { ...JSON.parse(backupText), version: 2 }, 'text']) {
      const res = await admin(target).post('/import', bad);
      expect([res.status, res.body.errors[0].reason]).toEqual(
        typeof bad === 'string' ? [415, 'UnsupportedMediaType'] : [400, 'InvalidBackup'],
      );
    }
    expect((await admin(target).get('/tokens/count')).body.count).toBe(0);
    expect((await admin(target).get('/definitions/count')).body.count).toBe(0);
    expect(target.t.events).toHaveLength(0);
  }, 60_000);

  it('applies the rules of the API to every field, and refuses what the API could never have stored, naming the field', async () => {
    const target = await host();
    const graced = (JSON.parse(backupText) as BackupShape).tokens.findIndex(
      (token) => token.previousSecretDigest !== null,
    );
    const cases: [string, (b: BackupShape) => void, ErrorReason, string][] = [
      // A cost the package never uses would pin a bcrypt slot for hours on the first call with the secret.
      [
        'a bcrypt cost of 30',
        (b) => (b.tokens[3]!.secretHash = hashOf('$2b$', '30')),
        'InvalidBackup',
        'tokens[3].secretHash',
      ],
      [
        'a bcrypt cost of 99',
        (b) => (b.tokens[4]!.secretHash = hashOf('$2b$', '99')),
        'InvalidBackup',
        'tokens[4].secretHash',
      ],
      [
        'a bcrypt cost of 16',
        (b) => (b.tokens[5]!.secretHash = hashOf('$2y$', '16')),
        'InvalidBackup',
        'tokens[5].secretHash',
      ],
      [
        'a bcrypt cost of 3',
        (b) => (b.tokens[6]!.secretHash = hashOf('$2a$', '03')),
        'InvalidBackup',
        'tokens[6].secretHash',
      ],
      [
        'a one-digit cost',
        (b) => (b.tokens[7]!.secretHash = hashOf('$2b$', '9', 54)),
        'InvalidBackup',
        'tokens[7].secretHash',
      ],
      [
        'an unknown bcrypt version',
        (b) => (b.tokens[8]!.secretHash = hashOf('$2x$', '10')),
        'InvalidBackup',
        'tokens[8].secretHash',
      ],
      [
        'a short hash',
        (b) => (b.tokens[12]!.secretHash = hashOf('$2b$', '10', 52)),
        'InvalidBackup',
        'tokens[12].secretHash',
      ],
      [
        'a character outside bcrypt base64',
        (b) => (b.tokens[13]!.secretHash = `${hashOf('$2b$', '10', 52)}!`),
        'InvalidBackup',
        'tokens[13].secretHash',
      ],
      [
        'a previous secret of cost 31',
        (b) => (b.tokens[graced]!.previousSecretHash = hashOf('$2b$', '31')),
        'InvalidBackup',
        `tokens[${graced}].previousSecretHash`,
      ],
      ['a malformed digest', (b) => (b.tokens[9]!.secretDigest = 'x'), 'InvalidBackup', 'tokens[9].secretDigest'],
      // The API allows a grace period of at most 90 days; one that has ended is accepted (and dropped), see below.
      [
        'a grace period until 9999',
        (b) => (b.tokens[graced]!.previousSecretExpiresAt = '9999-12-31T23:59:59Z'),
        'InvalidBackup',
        `tokens[${graced}].previousSecretExpiresAt`,
      ],
      [
        'a grace period of 91 days',
        (b) => (b.tokens[graced]!.previousSecretExpiresAt = fromNow(91 * DAY)),
        'InvalidBackup',
        `tokens[${graced}].previousSecretExpiresAt`,
      ],
      [
        'an expiry that names no date',
        (b) => (b.tokens[14]!.expiresAt = '2024-13-45T00:00:00Z'),
        'InvalidBackup',
        'tokens[14].expiresAt',
      ],
      // Audit fields keep their original values, but none can be later than the import (beyond a little clock skew).
      [
        'a token created tomorrow',
        (b) => (b.tokens[15]!.createdAt = fromNow(DAY)),
        'InvalidBackup',
        'tokens[15].createdAt',
      ],
      [
        'a token modified in 9999',
        (b) => (b.tokens[16]!.lastModified = '9999-01-01T00:00:00Z'),
        'InvalidBackup',
        'tokens[16].lastModified',
      ],
      [
        'a token used in an hour',
        (b) => (b.tokens[17]!.lastUsedAt = fromNow(3_600_000)),
        'InvalidBackup',
        'tokens[17].lastUsedAt',
      ],
      [
        'a definition created in an hour',
        (b) => (b.definitions[20]!.createdAt = fromNow(3_600_000)),
        'InvalidBackup',
        'definitions[20].createdAt',
      ],
      [
        'a definition modified in 2999',
        (b) => (b.definitions[21]!.lastModified = '2999-01-01T00:00:00Z'),
        'InvalidBackup',
        'definitions[21].lastModified',
      ],
      ['a backup exported tomorrow', (b) => (b.exportedAt = fromNow(DAY)), 'InvalidBackup', 'exportedAt'],
      ['a backup exported on no date', (b) => (b.exportedAt = '2024-02-31T25:00:00Z'), 'InvalidBackup', 'exportedAt'],
      // Names go through the API's own name rule, for definitions too.
      [
        'a whitespace-only definition name',
        (b) => (b.definitions[22]!.name = ' \t '),
        'InvalidName',
        'definitions[22].name',
      ],
      // Input schemas go through the API's schema rules: the place of the problem inside the schema is named.
      [
        'an input schema with a pattern that could backtrack for ever',
        (b) => (b.definitions[24]!.input = { body: { type: 'string', maxLength: 9, pattern: '^(a+)+$' } }),
        'InvalidInputSchema',
        'definitions[24].input.body/pattern',
      ],
      [
        'a definition name over 200 characters',
        (b) => (b.definitions[23]!.name = 'n'.repeat(201)),
        'InvalidName',
        'definitions[23].name',
      ],
      [
        'a token name over 200 characters',
        (b) => (b.tokens[18]!.name = 'n'.repeat(201)),
        'InvalidName',
        'tokens[18].name',
      ],
      [
        'a rate limit over 100',
        (b) => (b.tokens[19]!.rateLimit = { limit: 101, windowSeconds: 60 }),
        'InvalidRateLimit',
        'tokens[19].rateLimit',
      ],
    ];
    const answers = [];
    for (const [label, breakIt] of cases) {
      const backup = JSON.parse(backupText) as BackupShape;
      breakIt(backup);
      const res = await admin(target).post('/import', backup);
      const problems = ((res.body.errors ?? []) as { reason: string; field?: string }[]).map((error) => ({
        reason: error.reason,
        field: error.field,
      }));
      answers.push({ label, status: res.status, problems });
      // A wrongly accepted case is cleared away, so that the next case is judged on its own and not as a conflict.
      if (res.status === 200) {
        for (const name of ['udapiApiTokens', 'udapiApiDefinitions'])
          await target.db.connection.collection(name).deleteMany({});
        await internalsOf(target.t.udapi).feed.reload();
      }
    }
    expect(answers).toEqual(
      cases.map(([label, , reason, field]) => ({ label, status: 400, problems: [{ reason, field }] })),
    );
    // Refused as a whole: nothing stored, no event.
    expect((await admin(target).get('/tokens/count')).body.count).toBe(0);
    expect((await admin(target).get('/definitions/count')).body.count).toBe(0);
    expect(target.t.events).toHaveLength(0);
  }, 60_000);

  it('accepts what the API could have stored (an ended grace period, dropped; costs 4 and 15; a far expiry; a clock a little ahead), and the events name the importing user', async () => {
    const target = await host();
    const backup = JSON.parse(backupText) as BackupShape;
    const graced = backup.tokens.findIndex((token) => token.previousSecretDigest !== null);
    backup.tokens[graced]!.previousSecretExpiresAt = '2001-01-01T00:00:00Z';
    backup.tokens[3]!.secretHash = hashOf('$2a$', '04');
    backup.tokens[4]!.secretHash = hashOf('$2y$', '15');
    backup.tokens[5]!.expiresAt = '9999-12-31T23:59:59Z';
    backup.tokens[6]!.createdAt = fromNow(60_000);
    backup.definitions[7]!.lastModified = fromNow(60_000);
    const carol = { 'x-test-user': 'carol', 'x-test-permissions': '*' };
    const imported = await request(target.app).post('/admin/udapi/import').set(carol).send(backup);
    expect([imported.status, imported.body]).toEqual([200, { tokens: 122, definitions: 122 }]);
    const gracedToken = await admin(target).get(`/tokens/${backup.tokens[graced]!.id as string}`);
    expect(gracedToken.body.previousSecretExpiresAt).toBeNull();
    expect((await call(target, installation.previous.route, installation.previous.secret)).status).toBe(401);
    const current = installation.secrets.at(-1)!;
    expect((await call(target, current.route, current.secret)).status).toBe(200);
    // Who restored the objects, not who once created them (alice): in the emitted events, the stored ones and the manager log.
    expect(target.t.events).toHaveLength(244);
    expect(target.t.events.filter((event) => event.user !== 'carol' || !event.message.endsWith(' by carol'))).toEqual(
      [],
    );
    const stored = (await admin(target).get('/events?limit=500')).body.items as { user: string }[];
    expect(new Set(stored.map((event) => event.user))).toEqual(new Set(['carol']));
    const importLines = target.t.logs.filter((line) => /^Import(ing|ed) /.test(line.msg ?? ''));
    expect(importLines.map((line) => (line.obj as { user?: string }).user)).toEqual(['carol', 'carol']);
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
    backup.definitions = backup.definitions
      .slice(0, 2)
      .map((definition: { id: string; securitySettings: unknown }) => ({
        ...definition,
        id: randomUUID(),
        securitySettings: { allowedTokens: [] },
      }));
    const clash = await admin(source).post('/import', backup);
    expect((clash.body.errors as { reason: string }[]).map((error) => error.reason).sort()).toEqual([
      'InvalidSecret',
      'InvalidSecret',
      'InvalidSecret',
      'RouteInUse',
      'RouteInUse',
    ]);
    expect((await admin(source).get('/tokens/count')).body.count).toBe(122);
  });

  it('undoes a write that fails midway', async () => {
    const target = await host();
    const definitions = internalsOf(target.t.udapi).backups['deps'].definitionModel.collection;
    const failing = jest
      .spyOn(definitions, 'insertMany')
      .mockRejectedValueOnce(Object.assign(new Error('connection reset'), { name: 'MongoNetworkError' }));
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
    const denied = await request(source.app)
      .get('/admin/udapi/export')
      .set(userWith('UserDefinableApiTokenRead', 'UserDefinableApiDefinitionRead'));
    expect([denied.status, denied.body.errors[0].permission]).toEqual([403, 'UserDefinableApiTokenCreateUpdate']);
    const importDenied = await request(source.app)
      .post('/admin/udapi/import')
      .set(userWith('UserDefinableApiTokenCreateUpdate'))
      .send(JSON.parse(backupText));
    expect([importDenied.status, importDenied.body.errors[0].permission]).toEqual([
      403,
      'UserDefinableApiDefinitionCreateUpdate',
    ]);
    const digests = (JSON.parse(backupText).tokens as { secretDigest: string; secretHash: string }[]).flatMap(
      (token) => [token.secretDigest, token.secretHash],
    );
    const logText = JSON.stringify(hosts.flatMap((h) => h.t.logs));
    expect(digests.filter((value) => logText.includes(value))).toEqual([]);
  });

  it('refuses a body over importBodyLimitBytes with 413', async () => {
    const db = await openTestDb();
    const t = await createTestApp(db, { importBodyLimitBytes: 2048 });
    try {
      const res = await request(t.app)
        .post('/admin/udapi/import')
        .set(ADMIN)
        .send({ padding: randomBytes(4096).toString('hex') });
      expect([res.status, res.body.errors[0].reason]).toEqual([413, 'PayloadTooLarge']);
    } finally {
      await t.udapi.close();
      await db.drop();
    }
  });
});

describe('a stored bcrypt hash that breaks the rule (written straight into the database)', () => {
  it('never reaches bcrypt: its secret is refused like an unknown one (401, 1010), and the manager log names the token once', async () => {
    const h = await host();
    const internals = internalsOf(h.t.udapi);
    const secretOf = () => randomBytes(32).toString('base64url');
    const now = new Date();
    const documentOf = (
      id: string,
      secret: string,
      secretHash: string,
      previous?: { secret: string; hash: string },
    ) => ({
      _id: id,
      name: `tampered-${id.slice(0, 8)}`,
      secretDigest: digestSecret(Buffer.from(TEST_PEPPER, 'utf8'), secret),
      secretHash,
      isDisabled: false,
      rateLimit: null,
      expiresAt: null,
      previousSecretDigest: previous ? digestSecret(Buffer.from(TEST_PEPPER, 'utf8'), previous.secret) : null,
      previousSecretHash: previous?.hash ?? null,
      previousSecretExpiresAt: previous ? new Date(Date.now() + 3_600_000) : null,
      lastUsedAt: null,
      createdBy: 'mallory',
      createdAt: now,
      lastModifiedBy: 'mallory',
      lastModified: now,
      deletingSince: null,
    });
    // Cost 30: were bcrypt ever run on it, the call would take about a day and this test would time out. (Cost 31 the
    // bcrypt library refuses by itself, at once.)
    const hung = { id: randomUUID(), secret: secretOf(), hash: hashOf('$2b$', '30') };
    const malformed = { id: randomUUID(), secret: secretOf(), hash: 'not a bcrypt hash at all' };
    // A good current secret and a previous one whose hash breaks the rule: each secret is judged by its own hash.
    const graced = {
      id: randomUUID(),
      secret: secretOf(),
      previous: { secret: secretOf(), hash: hashOf('$2y$', '99') },
    };
    const gracedHash = await bcrypt.hash(graced.secret, 4);
    await h.db.connection
      .collection('udapiApiTokens')
      .insertMany([
        documentOf(hung.id, hung.secret, hung.hash),
        documentOf(malformed.id, malformed.secret, malformed.hash),
        documentOf(graced.id, graced.secret, gracedHash, graced.previous),
      ] as never[]);
    const definition = await admin(h).post('/definitions', {
      route: 'tampered/{x}',
      actionMeta: { name: 'test.echo' },
      securitySettings: { allowedTokens: [hung.id, malformed.id, graced.id] },
    });
    expect(definition.status).toBe(201);

    const refusedWithoutBcrypt = async (label: string) => {
      const compares = internals.bcrypt.stats.compares;
      for (const secret of [hung.secret, malformed.secret, graced.previous.secret]) {
        const res = await call(h, 'tampered/1', secret).timeout(10_000);
        expect({ label, status: res.status, code: res.body.errors?.[0]?.errorCode }).toEqual({
          label,
          status: 401,
          code: 1010,
        });
      }
      expect({ label, compares: internals.bcrypt.stats.compares }).toEqual({ label, compares });
      expect((await call(h, 'tampered/1', graced.secret)).status).toBe(200);
    };
    // The documents arrive the way they would at start-up: by a full load.
    await internals.feed.reload();
    await refusedWithoutBcrypt('after a full load');
    // A change to the token re-reads it alone; a later full load reads it again.
    expect((await admin(h).patch(`/tokens/${hung.id}`, { name: 'renamed' })).status).toBe(200);
    expect((await admin(h).patch(`/tokens/${graced.id}`, { name: 'renamed too' })).status).toBe(200);
    await refusedWithoutBcrypt('after a change to the token');
    await internals.feed.reload();
    await refusedWithoutBcrypt('after another full load');
    // Still holds its secret: nobody else may take it.
    const taken = await admin(h).post('/tokens', { name: 'same secret', secret: hung.secret });
    expect([taken.status, taken.body.errors[0].reason]).toEqual([400, 'InvalidSecret']);

    const warnings = h.t.logs.filter((line) => line.level === 'warn' && line.bindings.stream === 'manager');
    const byToken = (id: string) => warnings.filter((line) => (line.obj as { objectId?: string }).objectId === id);
    expect([byToken(hung.id).length, byToken(malformed.id).length, byToken(graced.id).length]).toEqual([1, 1, 1]);
    expect(byToken(graced.id)[0]!.obj).toMatchObject({ fields: ['previousSecretHash'] });
    const logText = JSON.stringify(h.t.logs);
    for (const hash of [hung.hash, malformed.hash, graced.previous.hash, gracedHash])
      expect(logText).not.toContain(hash);
  }, 60_000);
});
