// Rotation with a grace period: the previous secret keeps working on the same token until previousSecretExpiresAt.
import { randomBytes, randomUUID } from 'node:crypto';
import type { Express } from 'express';
import request from 'supertest';
import { digestSecret } from '../src/domain/secrets';
import { ADMIN, openTestHost, TEST_PEPPER, type TestHost } from './helpers/app';

let host: TestHost;
let app: Express;

beforeAll(async () => {
  host = await openTestHost();
  app = host.app;
});

afterAll(async () => {
  await host?.close();
});

const admin = {
  post: (path: string, body: object = {}) => request(app).post(`/admin/udapi${path}`).set(ADMIN).send(body),
  patch: (path: string, body: object) => request(app).patch(`/admin/udapi${path}`).set(ADMIN).send(body),
  get: (path: string) => request(app).get(`/admin/udapi${path}`).set(ADMIN),
};

const newSecret = () => randomBytes(32).toString('base64');
const inSeconds = (seconds: number) => new Date(Date.now() + seconds * 1000).toISOString();

/** A token with its own route; returns its id, secret and a caller for that route. */
async function tokenWithRoute(
  body: object = {},
): Promise<{ id: string; secret: string; call: (secret: string) => request.Test }> {
  const token = await admin.post('/tokens', { name: `grace-${randomUUID().slice(0, 8)}`, ...body });
  expect(token.status).toBe(201);
  const route = `grace/${randomUUID().slice(0, 8)}`;
  expect(
    (
      await admin.post('/definitions', {
        route,
        actionMeta: { name: 'test.echo' },
        securitySettings: { allowedTokens: [token.body.id] },
      })
    ).status,
  ).toBe(201);
  return {
    id: token.body.id as string,
    secret: token.body.secret as string,
    call: (secret: string) => request(app).get(`/api/custom/${route}`).set('Authorization', `Bearer ${secret}`),
  };
}

async function expectRefused(response: request.Test): Promise<void> {
  const res = await response;
  expect([res.status, res.body.errors?.[0]?.errorCode]).toEqual([401, 1010]);
}

describe('rotation with a grace period', () => {
  it('keeps both secrets working on the same token, its limits shared, and shows when the grace ends', async () => {
    const { id, secret: old, call } = await tokenWithRoute({ rateLimit: { limit: 3, windowSeconds: 60 } });
    const graceEnd = inSeconds(3600);
    const rotated = await admin.post(`/tokens/${id}/rotate`, { previousSecretExpiresAt: graceEnd });
    expect(rotated.status).toBe(200);
    expect(rotated.body).toMatchObject({ id, previousSecretExpiresAt: graceEnd });
    expect(rotated.body.secret).not.toBe(old);
    expect((await admin.get(`/tokens/${id}`)).body.previousSecretExpiresAt).toBe(graceEnd);
    expect((await admin.get(`/tokens?ids=${id}`)).body.items[0].previousSecretExpiresAt).toBe(graceEnd);
    // One token, one rate limit: the two secrets spend the same budget.
    expect((await call(old)).status).toBe(200);
    expect((await call(rotated.body.secret)).status).toBe(200);
    expect((await call(old)).status).toBe(200);
    expect((await call(rotated.body.secret)).status).toBe(429);
  });

  it('stops the previous secret when the grace period ends, with no write needed', async () => {
    const { id, secret: old, call } = await tokenWithRoute();
    const graceEnd = Date.now() + 1500;
    const rotated = await admin.post(`/tokens/${id}/rotate`, {
      secret: newSecret(),
      previousSecretExpiresAt: new Date(graceEnd).toISOString(),
    });
    expect(rotated.status).toBe(200);
    expect(rotated.body.secret).toBeUndefined();
    expect((await call(old)).status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, graceEnd - Date.now() + 20));
    await expectRefused(call(old));
    expect((await admin.get(`/tokens/${id}`)).body.previousSecretExpiresAt).toBeNull();
  });

  it('ends at the token expiry if that comes first', async () => {
    const { id, secret: old, call } = await tokenWithRoute();
    const rotated = await admin.post(`/tokens/${id}/rotate`, { previousSecretExpiresAt: inSeconds(3600) });
    expect((await call(old)).status).toBe(200);
    expect((await admin.patch(`/tokens/${id}`, { expiresAt: inSeconds(-1) })).status).toBe(200);
    await expectRefused(call(old));
    await expectRefused(call(rotated.body.secret as string));
  });

  it('applies the token state (disable) to the previous secret too', async () => {
    const { id, secret: old, call } = await tokenWithRoute();
    await admin.post(`/tokens/${id}/rotate`, { previousSecretExpiresAt: inSeconds(3600) });
    expect((await admin.patch(`/tokens/${id}`, { isDisabled: true })).status).toBe(200);
    await expectRefused(call(old));
    expect((await admin.patch(`/tokens/${id}`, { isDisabled: false })).status).toBe(200);
    expect((await call(old)).status).toBe(200);
  });

  it('ends the grace period at once with previousSecretExpiresAt: null', async () => {
    const { id, secret: old, call } = await tokenWithRoute();
    const rotated = await admin.post(`/tokens/${id}/rotate`, { previousSecretExpiresAt: inSeconds(3600) });
    expect((await call(old)).status).toBe(200);
    const ended = await admin.patch(`/tokens/${id}`, { previousSecretExpiresAt: null });
    expect([ended.status, ended.body.previousSecretExpiresAt]).toEqual([200, null]);
    await expectRefused(call(old));
    expect((await call(rotated.body.secret as string)).status).toBe(200);
    // Only null: a date cannot be set outside a rotation.
    const dated = await admin.patch(`/tokens/${id}`, { previousSecretExpiresAt: inSeconds(60) });
    expect([dated.status, dated.body.errors[0].reason]).toEqual([400, 'InvalidRequest']);
  });

  it('keeps one previous secret: a second rotation replaces it, and one without grace drops it', async () => {
    const { id, secret: first, call } = await tokenWithRoute();
    const second = (await admin.post(`/tokens/${id}/rotate`, { previousSecretExpiresAt: inSeconds(3600) })).body
      .secret as string;
    const third = (await admin.post(`/tokens/${id}/rotate`, { previousSecretExpiresAt: inSeconds(3600) })).body
      .secret as string;
    await expectRefused(call(first));
    expect((await call(second)).status).toBe(200);
    expect((await call(third)).status).toBe(200);
    const fourth = await admin.post(`/tokens/${id}/rotate`);
    expect(fourth.body.previousSecretExpiresAt).toBeNull();
    await expectRefused(call(second));
    await expectRefused(call(third));
    expect((await call(fourth.body.secret as string)).status).toBe(200);
  });

  it('refuses a bad grace end and changes nothing', async () => {
    const { id, secret, call } = await tokenWithRoute();
    const before = (await admin.get(`/tokens/${id}`)).body;
    for (const [end, reason] of [
      [inSeconds(-60), 'InvalidPreviousSecretExpiresAt'],
      [inSeconds(91 * 86_400), 'InvalidPreviousSecretExpiresAt'],
      ['2030-02-31T00:00:00Z', 'InvalidPreviousSecretExpiresAt'],
      ['tomorrow', 'InvalidRequest'],
      [3600, 'InvalidRequest'],
    ] as const) {
      const res = await admin.post(`/tokens/${id}/rotate`, { previousSecretExpiresAt: end });
      expect([res.status, res.body.errors[0].reason]).toEqual([400, reason]);
      expect(res.body.secret).toBeUndefined();
    }
    expect((await admin.get(`/tokens/${id}`)).body).toEqual(before);
    expect((await call(secret)).status).toBe(200);
  });

  it('forgets both secrets when the token is deleted', async () => {
    const token = await admin.post('/tokens', { name: 'grace-delete' });
    const rotated = await admin.post(`/tokens/${token.body.id}/rotate`, { previousSecretExpiresAt: inSeconds(3600) });
    expect((await request(app).delete(`/admin/udapi/tokens/${token.body.id}`).set(ADMIN)).status).toBe(204);
    const explain = (secret: string) => admin.post('/explain', { secret, method: 'GET', path: 'anything' });
    expect((await explain(token.body.secret as string)).body.verdict).toBe('unknownSecret');
    expect((await explain(rotated.body.secret as string)).body.verdict).toBe('unknownSecret');
  });
});

describe('a previous secret stays unique while its grace period runs', () => {
  it('cannot be given to another token, by create or rotation, until the grace period ends', async () => {
    const old = newSecret();
    const { id } = await tokenWithRoute({ secret: old });
    const graceEnd = Date.now() + 1500;
    await admin.post(`/tokens/${id}/rotate`, { previousSecretExpiresAt: new Date(graceEnd).toISOString() });
    const created = await admin.post('/tokens', { name: 'thief', secret: old });
    expect([created.status, created.body.errors[0].reason]).toEqual([400, 'InvalidSecret']);
    const other = await admin.post('/tokens', { name: 'other' });
    const rotated = await admin.post(`/tokens/${other.body.id}/rotate`, { secret: old });
    expect([rotated.status, rotated.body.errors[0].reason]).toEqual([400, 'InvalidSecret']);
    // Once the grace period is over the secret is free again.
    await new Promise((resolve) => setTimeout(resolve, graceEnd - Date.now() + 20));
    expect((await admin.post(`/tokens/${other.body.id}/rotate`, { secret: old })).status).toBe(200);
  });

  it('is refused by the database check when this instance has not seen the rotation yet', async () => {
    // Another instance's grace rotation that this one has not heard of: written straight to the database.
    const taken = newSecret();
    const otherId = randomUUID();
    const now = new Date();
    await host.db.connection.collection('udapiApiTokens').insertOne({
      _id: otherId as never,
      name: 'elsewhere',
      secretDigest: digestSecret(Buffer.from(TEST_PEPPER), newSecret()),
      secretHash: 'x',
      previousSecretDigest: digestSecret(Buffer.from(TEST_PEPPER), taken),
      previousSecretHash: 'x',
      previousSecretExpiresAt: new Date(Date.now() + 3_600_000),
      isDisabled: false,
      rateLimit: null,
      expiresAt: null,
      createdBy: 'x',
      createdAt: now,
      lastModifiedBy: 'x',
      lastModified: now,
    });
    const id = randomUUID();
    const created = await admin.post('/tokens', { id, name: 'late', secret: taken });
    expect([created.status, created.body.errors[0].reason]).toEqual([400, 'InvalidSecret']);
    expect(await host.db.connection.collection('udapiApiTokens').countDocuments({ _id: id as never })).toBe(0);
    const existing = await tokenWithRoute();
    const rotated = await admin.post(`/tokens/${existing.id}/rotate`, { secret: taken });
    expect([rotated.status, rotated.body.errors[0].reason]).toEqual([400, 'InvalidSecret']);
    // The rotation was undone: the original secret still works.
    expect((await existing.call(existing.secret)).status).toBe(200);
    await expectRefused(existing.call(taken));
  });
});

describe('explain and a previous secret', () => {
  it('says the call is allowed with the previous secret, and why it is refused after the grace period', async () => {
    const { id, secret: old } = await tokenWithRoute();
    const route = (await admin.get(`/definitions?allowedToken=${id}`)).body.items[0].route as string;
    // Long enough that a loaded CI machine still rotates and explains inside the grace period (1.2 s once was not).
    const graceEnd = Date.now() + 3000;
    const rotated = await admin.post(`/tokens/${id}/rotate`, {
      previousSecretExpiresAt: new Date(graceEnd).toISOString(),
    });
    expect(rotated.status).toBe(200);
    // A full reload that the health check started before the rotation may put the older view back until the next
    // poll re-applies the rotation (a poll interval, 250 ms): ask again briefly rather than once.
    let during = await admin.post('/explain', { secret: old, method: 'GET', path: route });
    for (let tries = 0; tries < 20 && !String(during.body.explanation).includes('previous secret'); tries += 1) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      during = await admin.post('/explain', { secret: old, method: 'GET', path: route });
    }
    expect(during.body).toMatchObject({ verdict: 'allowed', token: { id } });
    expect(during.body.explanation).toContain('previous secret');
    await new Promise((resolve) => setTimeout(resolve, graceEnd - Date.now() + 20));
    const after = await admin.post('/explain', { secret: old, method: 'GET', path: route });
    expect(after.body).toMatchObject({ verdict: 'expired', status: 401, errorCode: 1010 });
    expect(after.body.explanation).toContain('grace period ended');
  });
});
