// What the admin router does for browsers: the /ui files and their headers, /me, and the cross-site request guard.
import type { AddressInfo } from 'node:net';
import request from 'supertest';
import { ADMIN, createTestApp, userWith, type TestApp } from './helpers/app';
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

const tokenCount = async (): Promise<number> => db.connection.collection('udapiApiTokens').countDocuments();

describe('the admin UI files', () => {
  it('redirects /ui to /ui/ and serves the page with a strict Content-Security-Policy', async () => {
    const redirect = await request(t.app).get('/admin/udapi/ui').set(ADMIN);
    expect(redirect.status).toBe(301);
    expect(redirect.headers.location).toBe('ui/');
    const page = await request(t.app).get('/admin/udapi/ui/').set(ADMIN);
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
    const csp = page.headers['content-security-policy'] as string;
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toContain('unsafe-inline');
    expect(page.headers['x-frame-options']).toBe('DENY');
    expect(page.headers['referrer-policy']).toBe('no-referrer');
    expect(page.headers['cache-control']).toBe('no-store');
    expect(page.text).toContain('<meta name="udapi-endpoint-base-path" content="/api/custom">');
    // No inline script or style, no handler attributes: everything the page runs comes from its own files.
    expect(page.text).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    expect(page.text).not.toMatch(/\son[a-z]+=/i);
    expect(page.text).not.toMatch(/<style|style=/);
    expect(page.text).not.toMatch(/https?:\/\//);
  });

  it.each([
    ['app.js', 'text/javascript; charset=utf-8'],
    ['app.css', 'text/css; charset=utf-8'],
    ['route-rules.js', 'text/javascript; charset=utf-8'],
    ['icon.svg', 'image/svg+xml'],
  ])('serves %s as %s', async (file, type) => {
    const res = await request(t.app).get(`/admin/udapi/ui/${file}`).set(ADMIN);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe(type);
    expect(res.headers['x-content-type-options']).toBe('nosniff');
  });

  it('serves nothing else under /ui, and only to authenticated admins of any permission', async () => {
    expect((await request(t.app).get('/admin/udapi/ui/../package.json').set(ADMIN)).status).toBe(404);
    expect((await request(t.app).get('/admin/udapi/ui/admin-ui.ts').set(ADMIN)).status).toBe(404);
    const unknown = await request(t.app).get('/admin/udapi/ui/nope.js').set(ADMIN);
    expect(unknown.status).toBe(404);
    expect(unknown.body.errors[0].reason).toBe('NotFound');
    expect((await request(t.app).get('/admin/udapi/ui/')).status).toBe(401);
    expect((await request(t.app).get('/admin/udapi/ui/').set(userWith())).status).toBe(200);
  });

  it('is not served when adminUi is false', async () => {
    const other = await createTestApp(db, { adminUi: false });
    try {
      const res = await request(other.app).get('/admin/udapi/ui/').set(ADMIN);
      expect(res.status).toBe(404);
      expect(res.body.errors[0].reason).toBe('NotFound');
      expect((await request(other.app).get('/admin/udapi/tokens').set(ADMIN)).status).toBe(200);
    } finally {
      await other.udapi.close();
    }
  });
});

describe('GET /me', () => {
  it('answers who the admin user is and what they may do', async () => {
    const res = await request(t.app).get('/admin/udapi/me').set(userWith('UserDefinableApiTokenRead'));
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ name: 'bob', permissions: ['UserDefinableApiTokenRead'] });
    expect((await request(t.app).get('/admin/udapi/me')).status).toBe(401);
  });
});

describe('cross-site request guard', () => {
  const post = (headers: Record<string, string>) =>
    request(t.app).post('/admin/udapi/tokens').set(ADMIN).set(headers).send({ name: 'forged' });

  it.each([
    [{ 'Sec-Fetch-Site': 'cross-site' }],
    [{ 'Sec-Fetch-Site': 'same-site' }],
    [{ Origin: 'https://evil.example' }],
    [{ Origin: 'null' }],
  ])('refuses a change a browser sent from another site (%j), before anything is stored', async (headers) => {
    const before = await tokenCount();
    const res = await post(headers);
    expect(res.status).toBe(403);
    expect(res.body.errors).toEqual([{ reason: 'CrossSiteRequest', message: expect.stringContaining('same origin') }]);
    expect(await tokenCount()).toBe(before);
  });

  it('refuses cross-site PATCH and DELETE too, and a form-encoded rotation with no body', async () => {
    const created = await request(t.app).post('/admin/udapi/tokens').set(ADMIN).send({ name: 'target' });
    const id = created.body.id as string;
    const patch = await request(t.app)
      .patch(`/admin/udapi/tokens/${id}`)
      .set(ADMIN)
      .set('Sec-Fetch-Site', 'cross-site')
      .send({ isDisabled: true });
    expect(patch.status).toBe(403);
    const remove = await request(t.app)
      .delete(`/admin/udapi/tokens/${id}`)
      .set(ADMIN)
      .set('Origin', 'http://attacker.test');
    expect(remove.status).toBe(403);
    // What an old browser's form post looks like: no Sec-Fetch-Site, no Origin, a form content type and an empty body.
    const rotate = await request(t.app)
      .post(`/admin/udapi/tokens/${id}/rotate`)
      .set(ADMIN)
      .set('Content-Type', 'application/x-www-form-urlencoded');
    expect(rotate.status).toBe(415);
    expect(rotate.body.errors[0].reason).toBe('UnsupportedMediaType');
    const after = await request(t.app).get(`/admin/udapi/tokens/${id}`).set(ADMIN);
    expect(after.body).toMatchObject({ isDisabled: false, lastModified: created.body.lastModified });
  });

  it('lets same-origin browser requests, typed-in navigation and non-browser clients through', async () => {
    expect((await post({ 'Sec-Fetch-Site': 'same-origin' })).status).toBe(201);
    // One server, so that the Origin can name its own host and port.
    const server = t.app.listen(0, '127.0.0.1');
    try {
      await new Promise((resolve) => server.once('listening', resolve));
      const { port } = server.address() as AddressInfo;
      const origin = `http://127.0.0.1:${port}`;
      const same = await request(origin)
        .post('/admin/udapi/tokens')
        .set(ADMIN)
        .set('Origin', origin)
        .send({ name: 'same-origin' });
      expect(same.status).toBe(201);
      const otherPort = await request(origin)
        .post('/admin/udapi/tokens')
        .set(ADMIN)
        .set('Origin', `http://127.0.0.1:${port + 1}`)
        .send({ name: 'x' });
      expect(otherPort.status).toBe(403);
    } finally {
      server.close();
    }
    expect((await post({ 'Sec-Fetch-Site': 'none' })).status).toBe(201);
    expect((await post({})).status).toBe(201);
    // Reads are never refused: a cross-site read gets no CORS headers, so the other site cannot see the answer.
    expect(
      (await request(t.app).get('/admin/udapi/tokens').set(ADMIN).set('Sec-Fetch-Site', 'cross-site')).status,
    ).toBe(200);
  });
});
