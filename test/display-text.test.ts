// Names and descriptions cannot carry characters that forge or reorder lines where they are shown: the admin API and
// backup import refuse them on tokens and definitions, and the harmless look-alikes (bidi marks, emoji) still pass.
import request from 'supertest';
import { ADMIN, openTestHost, type TestHost } from './helpers/app';

const hosts: TestHost[] = [];
let host: TestHost;

beforeAll(async () => {
  host = await openTestHost();
  hosts.push(host);
});

afterAll(async () => {
  for (const h of hosts) await h.close();
});

const admin = (h: TestHost = host) => ({
  post: (path: string, body: object) => request(h.app).post(`/admin/udapi${path}`).set(ADMIN).send(body),
  patch: (path: string, body: object) => request(h.app).patch(`/admin/udapi${path}`).set(ADMIN).send(body),
  get: (path: string) => request(h.app).get(`/admin/udapi${path}`).set(ADMIN),
});

/** One of each class, inside ordinary text so that no other rule (blank, whitespace-only) decides first. */
const FORGING: [string, string][] = [
  ['a line feed (C0)', 'ok\nFAKE LINE'],
  ['a carriage return (C0)', 'ok\rFAKE'],
  ['a tab (C0)', 'ok\tok'],
  ['a NUL (C0)', 'ok\u0000ok'],
  ['an ANSI colour escape (C0 ESC)', 'ok\u001b[31mred'],
  ['DEL', 'ok\u007fok'],
  ['NEL (C1)', 'ok\u0085ok'],
  ['CSI (C1)', 'ok\u009b31mred'],
  ['the line separator', 'ok\u2028ok'],
  ['the paragraph separator', 'ok\u2029ok'],
  ['a left-to-right embedding', 'ok\u202aok'],
  ['a right-to-left override', 'ok\u202etxt.exe'],
  ['a left-to-right isolate', 'ok\u2066ok'],
  ['a pop directional isolate', 'ok\u2069ok'],
];
/** Look-alikes that stay allowed: they cannot move text across a line. */
const HARMLESS = ['שלום\u200f (prod)', 'a\u200eb', 'عربي\u061c1', '👩‍💻 team', 'Ünïcödé 名前', 'zero\u200bwidth'];

async function newToken(): Promise<string> {
  const res = await admin().post('/tokens', { name: 'plain' });
  expect(res.status).toBe(201);
  return res.body.id as string;
}

async function newDefinition(): Promise<string> {
  const res = await admin().post('/definitions', {
    route: `text/${Math.random().toString(36).slice(2)}`,
    name: 'plain',
    description: 'plain',
    actionMeta: { name: 'test.echo' },
  });
  expect(res.status).toBe(201);
  return res.body.id as string;
}

describe('names of tokens and definitions', () => {
  it.each(FORGING)('refuses %s with InvalidName on create and update, and stores nothing', async (_label, name) => {
    const refusedToken = await admin().post('/tokens', { name });
    expect([refusedToken.status, refusedToken.body.errors]).toEqual([
      400,
      [{ reason: 'InvalidName', id: expect.any(String), message: expect.any(String) }],
    ]);
    const tokenId = await newToken();
    const tokenPatch = await admin().patch(`/tokens/${tokenId}`, { name });
    expect([tokenPatch.status, tokenPatch.body.errors]).toEqual([
      400,
      [{ reason: 'InvalidName', id: tokenId, message: expect.any(String) }],
    ]);
    expect((await admin().get(`/tokens/${tokenId}`)).body.name).toBe('plain');

    const refusedDefinition = await admin().post('/definitions', {
      route: 'text/refused',
      name,
      actionMeta: { name: 'test.echo' },
    });
    expect([refusedDefinition.status, refusedDefinition.body.errors]).toEqual([
      400,
      [{ reason: 'InvalidName', id: expect.any(String), message: expect.any(String) }],
    ]);
    const definitionId = await newDefinition();
    const definitionPatch = await admin().patch(`/definitions/${definitionId}`, { name });
    expect([definitionPatch.status, definitionPatch.body.errors]).toEqual([
      400,
      [{ reason: 'InvalidName', id: definitionId, message: expect.any(String) }],
    ]);
    expect((await admin().get(`/definitions/${definitionId}`)).body.name).toBe('plain');
    // The message names the character by code point and never echoes it.
    for (const res of [refusedToken, tokenPatch, refusedDefinition, definitionPatch]) {
      expect(res.body.errors[0].message).not.toContain(name);
    }
    expect(await host.db.connection.collection('udapiApiTokens').countDocuments({ name })).toBe(0);
  });

  it.each(HARMLESS)('accepts %j (bidi marks, emoji, other scripts, zero-width space)', async (name) => {
    const token = await admin().post('/tokens', { name });
    expect([token.status, token.body.name]).toEqual([201, name]);
    const definition = await admin().post('/definitions', {
      route: `text/ok/${token.body.id as string}`,
      name,
      description: name,
      actionMeta: { name: 'test.echo' },
    });
    expect([definition.status, definition.body.name, definition.body.description]).toEqual([201, name, name]);
  });
});

describe('descriptions of definitions', () => {
  const refusedInProse = FORGING.filter(([label]) => !label.startsWith('a line feed') && !label.startsWith('a tab'));

  it.each(refusedInProse)(
    'refuses %s with InvalidRequest on the field description, on create and update',
    async (_label, description) => {
      const created = await admin().post('/definitions', {
        route: 'text/refused',
        description,
        actionMeta: { name: 'test.echo' },
      });
      expect([created.status, created.body.errors]).toEqual([
        400,
        [{ reason: 'InvalidRequest', field: 'description', id: expect.any(String), message: expect.any(String) }],
      ]);
      const id = await newDefinition();
      const patched = await admin().patch(`/definitions/${id}`, { description });
      expect([patched.status, patched.body.errors]).toEqual([
        400,
        [{ reason: 'InvalidRequest', field: 'description', id, message: expect.any(String) }],
      ]);
      expect((await admin().get(`/definitions/${id}`)).body.description).toBe('plain');
    },
  );

  it('keeps line feeds and tabs: a description is multi-line prose (CommonMark in the APIs document)', async () => {
    const description = 'Restarts an encoder.\n\n\tCalled by the dashboard.';
    const id = await newDefinition();
    const patched = await admin().patch(`/definitions/${id}`, { description });
    expect([patched.status, patched.body.description]).toEqual([200, description]);
  });
});

describe('backup import', () => {
  it('applies the same rules to imported names and descriptions, and imports nothing', async () => {
    const source = await openTestHost();
    const target = await openTestHost();
    hosts.push(source, target);
    const token = await admin(source).post('/tokens', { name: 'imported' });
    await admin(source).post('/definitions', {
      route: 'text/imported',
      name: 'imported',
      actionMeta: { name: 'test.echo' },
      securitySettings: { allowedTokens: [token.body.id] },
    });
    const backup = JSON.parse((await admin(source).get('/export')).text);
    backup.tokens[0].name = 'ok\u001b[2Kforged';
    backup.definitions[0].name = 'ok\u202eforged';
    backup.definitions[0].description = 'ok\rforged';
    const res = await admin(target).post('/import', backup);
    expect(res.status).toBe(400);
    expect(res.body.errors.map((error: { reason: string }) => error.reason).sort()).toEqual([
      'InvalidName',
      'InvalidName',
      'InvalidRequest',
    ]);
    expect((await admin(target).get('/tokens/count')).body.count).toBe(0);
    expect((await admin(target).get('/definitions/count')).body.count).toBe(0);
  });
});
