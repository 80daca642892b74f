// Token expiry (expiresAt): stored and returned, enforced by the endpoint like an unknown secret, filterable in lists.
import { randomUUID } from 'node:crypto';
import type { Express } from 'express';
import request from 'supertest';
import { internalsOf } from '../src/plugin';
import { ADMIN, openTestHost, type TestApp, type TestHost } from './helpers/app';

let host: TestHost;
let t: TestApp;
let app: Express;
let definitionRoute: string;
const allowed: string[] = [];

beforeAll(async () => {
  host = await openTestHost();
  ({ t, app } = host);
});

afterAll(async () => {
  await host?.close();
});

const admin = {
  post: (path: string, body: object) => request(app).post(`/admin/udapi${path}`).set(ADMIN).send(body),
  patch: (path: string, body: object) => request(app).patch(`/admin/udapi${path}`).set(ADMIN).send(body),
  get: (path: string) => request(app).get(`/admin/udapi${path}`).set(ADMIN),
};

/** A token allowed on this file's one route; the route is (re)defined with every token made so far. */
async function token(body: object): Promise<{ id: string; secret: string; expiresAt: string | null }> {
  const res = await admin.post('/tokens', { name: `exp-${randomUUID().slice(0, 8)}`, ...body });
  expect(res.status).toBe(201);
  allowed.push(res.body.id as string);
  if (!definitionRoute) {
    definitionRoute = `expiry/${randomUUID().slice(0, 8)}`;
    expect(
      (
        await admin.post('/definitions', {
          route: definitionRoute,
          actionMeta: { name: 'test.echo' },
          securitySettings: { allowedTokens: allowed },
        })
      ).status,
    ).toBe(201);
  } else {
    const [definition] = (await admin.get(`/definitions?route=${definitionRoute}`)).body.items as { id: string }[];
    expect(
      (await admin.patch(`/definitions/${definition!.id}`, { securitySettings: { allowedTokens: allowed } })).status,
    ).toBe(200);
  }
  return res.body as { id: string; secret: string; expiresAt: string | null };
}

const call = (secret: string) =>
  request(app).get(`/api/custom/${definitionRoute}`).set('Authorization', `Bearer ${secret}`);
const inOneHour = () => new Date(Date.now() + 3_600_000).toISOString();
const anHourAgo = () => new Date(Date.now() - 3_600_000).toISOString();

describe('token expiry', () => {
  it('is null by default, stored and returned as UTC, and a time without an offset means UTC', async () => {
    expect((await token({})).expiresAt).toBeNull();
    const at = inOneHour();
    expect((await token({ expiresAt: at })).expiresAt).toBe(at);
    expect((await token({ expiresAt: '2030-01-02T03:04:05' })).expiresAt).toBe('2030-01-02T03:04:05.000Z');
    expect((await token({ expiresAt: '2030-01-02' })).expiresAt).toBe('2030-01-02T00:00:00.000Z');
  });

  it('refuses an expired secret with the same 401 body as an unknown one', async () => {
    const live = await token({ expiresAt: inOneHour() });
    const expired = await token({ expiresAt: anHourAgo() });
    expect((await call(live.secret)).status).toBe(200);
    const refused = await call(expired.secret);
    const unknown = await call(`${'U'.repeat(43)}=`);
    expect(refused.status).toBe(401);
    expect(refused.body.errors[0].errorCode).toBe(1010);
    expect(refused.text).toBe(unknown.text);
  });

  it('stops a secret the moment its expiry passes, and an update can extend or clear it', async () => {
    const soon = await token({ expiresAt: new Date(Date.now() + 1500).toISOString() });
    expect((await call(soon.secret)).status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 1700));
    expect((await call(soon.secret)).status).toBe(401);
    const extended = await admin.patch(`/tokens/${soon.id}`, { expiresAt: inOneHour() });
    expect(extended.status).toBe(200);
    expect((await call(soon.secret)).status).toBe(200);
    expect((await admin.patch(`/tokens/${soon.id}`, { expiresAt: anHourAgo() })).status).toBe(200);
    expect((await call(soon.secret)).status).toBe(401);
    const cleared = await admin.patch(`/tokens/${soon.id}`, { expiresAt: null });
    expect(cleared.body.expiresAt).toBeNull();
    expect((await call(soon.secret)).status).toBe(200);
  });

  it.each([
    ['2026-13-01T00:00:00Z', 400, 'InvalidExpiresAt'],
    ['tomorrow', 400, 'InvalidRequest'],
    [12345, 400, 'InvalidRequest'],
    [{ $gt: '' }, 400, 'InvalidRequest'],
  ])('refuses the expiry %j (%s %s) on create and update', async (expiresAt, status, reason) => {
    const created = await admin.post('/tokens', { name: 'bad-expiry', expiresAt });
    expect({ status: created.status, reason: created.body.errors[0].reason }).toEqual({ status, reason });
    const { id } = await token({});
    const updated = await admin.patch(`/tokens/${id}`, { expiresAt });
    expect({ status: updated.status, reason: updated.body.errors[0].reason }).toEqual({ status, reason });
  });

  it('filters lists and counts by expiry, in memory and in the database alike', async () => {
    const creator = `expiry-${randomUUID().slice(0, 8)}`;
    const headers = { 'x-test-user': creator, 'x-test-permissions': '*' };
    const made: Record<string, string> = {};
    for (const [label, expiresAt] of [
      ['never', null],
      ['past', anHourAgo()],
      ['soon', inOneHour()],
      ['later', '2040-01-01T00:00:00Z'],
    ] as const) {
      const res = await request(app).post('/admin/udapi/tokens').set(headers).send({ name: label, expiresAt });
      made[label] = res.body.id as string;
    }
    const cases: [string, string[]][] = [
      ['expired=true', ['past']],
      ['expired=false', ['never', 'soon', 'later']],
      ['expiresAtFrom=2039-01-01T00:00:00Z', ['later']],
      [`expiresAtTo=2039-01-01T00:00:00Z`, ['past', 'soon']],
      ['expired=false&expiresAtTo=2039-01-01', ['soon']],
    ];
    const { catalog } = internalsOf(t.udapi);
    for (const stale of [false, true]) {
      catalog.stale = stale; // stale: the database answers
      try {
        for (const [query, labels] of cases) {
          const res = await admin.get(`/tokens?createdBy=${creator}&${query}`);
          const names = (res.body.items as { name: string }[]).map((item) => item.name).sort();
          expect({ stale, query, names }).toEqual({ stale, query, names: [...labels].sort() });
          expect((await admin.get(`/tokens/count?createdBy=${creator}&${query}`)).body).toEqual({
            count: labels.length,
          });
        }
      } finally {
        catalog.stale = false;
      }
    }
    await catalog.load();
    expect((await admin.get('/tokens?expired=maybe')).status).toBe(400);
  });
});
