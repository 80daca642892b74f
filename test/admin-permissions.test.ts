// Every admin route against a user missing its permission (403 MissingPermission) and against no user (401).
import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { Permissions, ALL_PERMISSIONS } from '../src/permissions';
import { ADMIN, createTestApp, userWith, type TestApp } from './helpers/app';
import { openTestDb, type TestDb } from './helpers/db';

let db: TestDb;
let t: TestApp;
let tokenId: string;
let definitionId: string;

beforeAll(async () => {
  db = await openTestDb();
  t = await createTestApp(db);
  const res = await request(t.app).post('/admin/udapi/tokens').set(ADMIN).send({ name: 'target' });
  tokenId = res.body.id;
  const definition = await request(t.app)
    .post('/admin/udapi/definitions')
    .set(ADMIN)
    .send({ route: 'target', actionMeta: { name: 'test.echo' } });
  definitionId = definition.body.id;
});

afterAll(async () => {
  await t?.udapi.close();
  await db?.drop();
});

interface RouteCase {
  method: 'get' | 'post' | 'patch' | 'delete';
  path: () => string;
  body?: () => object;
  permission: string;
  /** Further permissions the route needs besides `permission`. */
  also?: string[];
  okStatus: number;
}

const routes: RouteCase[] = [
  { method: 'get', path: () => '/tokens', permission: Permissions.TokenRead, okStatus: 200 },
  { method: 'get', path: () => '/tokens/count', permission: Permissions.TokenRead, okStatus: 200 },
  { method: 'get', path: () => `/tokens/${tokenId}`, permission: Permissions.TokenRead, okStatus: 200 },
  {
    method: 'post',
    path: () => '/tokens',
    body: () => ({ name: 'new' }),
    permission: Permissions.TokenCreateUpdate,
    okStatus: 201,
  },
  {
    method: 'patch',
    path: () => `/tokens/${tokenId}`,
    body: () => ({ name: 'renamed' }),
    permission: Permissions.TokenCreateUpdate,
    okStatus: 200,
  },
  { method: 'post', path: () => `/tokens/${tokenId}/rotate`, permission: Permissions.TokenCreateUpdate, okStatus: 200 },
  { method: 'delete', path: () => `/tokens/${randomUUID()}`, permission: Permissions.TokenDelete, okStatus: 404 },
  { method: 'get', path: () => '/definitions', permission: Permissions.DefinitionRead, okStatus: 200 },
  { method: 'get', path: () => '/definitions/count', permission: Permissions.DefinitionRead, okStatus: 200 },
  { method: 'get', path: () => `/definitions/${definitionId}`, permission: Permissions.DefinitionRead, okStatus: 200 },
  { method: 'get', path: () => '/actions', permission: Permissions.DefinitionRead, okStatus: 200 },
  ...[Permissions.DefinitionCreateUpdate, Permissions.ActionExecute].flatMap((permission): RouteCase[] => {
    const other =
      permission === Permissions.ActionExecute ? Permissions.DefinitionCreateUpdate : Permissions.ActionExecute;
    return [
      {
        method: 'post',
        path: () => '/definitions',
        body: () => ({ route: `new/${randomUUID()}`, actionMeta: { name: 'test.echo' } }),
        permission,
        also: [other],
        okStatus: 201,
      },
      {
        method: 'patch',
        path: () => `/definitions/${definitionId}`,
        body: () => ({ description: 'x' }),
        permission,
        also: [other],
        okStatus: 200,
      },
    ];
  }),
  {
    method: 'delete',
    path: () => `/definitions/${randomUUID()}`,
    permission: Permissions.DefinitionDelete,
    okStatus: 404,
  },
  { method: 'get', path: () => '/events?objectType=ApiToken', permission: Permissions.TokenRead, okStatus: 200 },
  {
    method: 'get',
    path: () => '/events?objectType=ApiDefinition',
    permission: Permissions.DefinitionRead,
    okStatus: 200,
  },
];

function send(route: RouteCase, headers: Record<string, string>) {
  const req = request(t.app)[route.method](`/admin/udapi${route.path()}`).set(headers);
  return route.body ? req.send(route.body()) : req;
}

describe.each(routes)('$method $path', (route) => {
  it('answers 401 Unauthenticated without an admin user, before looking at the body', async () => {
    const res = await send(route, {});
    expect(res.status).toBe(401);
    expect(res.body).toEqual({ errors: [{ reason: 'Unauthenticated', message: expect.any(String) }] });
  });

  it(`answers 403 MissingPermission to a user holding every permission but ${route.permission}`, async () => {
    const others = ALL_PERMISSIONS.filter((permission) => permission !== route.permission);
    const res = await send(route, userWith(...others));
    expect(res.status).toBe(403);
    expect(res.body).toEqual({
      errors: [
        {
          reason: 'MissingPermission',
          permission: route.permission,
          message: expect.stringContaining(route.permission),
        },
      ],
    });
  });

  it(`lets a user holding only ${[route.permission, ...(route.also ?? [])].join(' and ')} through`, async () => {
    const res = await send(route, userWith(route.permission, ...(route.also ?? [])));
    expect(res.status).toBe(route.okStatus);
  });
});

describe('events without an object type', () => {
  it('shows only the object types the user may read', async () => {
    const res = await request(t.app).get('/admin/udapi/events').set(userWith(Permissions.TokenRead));
    expect(res.status).toBe(200);
    expect(res.body.items.length).toBeGreaterThan(0);
    expect(res.body.items.every((event: { objectType: string }) => event.objectType === 'ApiToken')).toBe(true);
    const none = await request(t.app).get('/admin/udapi/events').set(userWith(Permissions.TokenDelete));
    expect(none.status).toBe(403);
  });
});

describe('authenticateAdmin failures', () => {
  it('answers 500 without details when authenticateAdmin throws, and logs it', async () => {
    const broken = await createTestApp(db, {
      authenticateAdmin: () => {
        throw new Error('identity provider down');
      },
    });
    const res = await request(broken.app).get('/admin/udapi/tokens');
    expect(res.status).toBe(500);
    expect(res.body).toEqual({ errors: [{ reason: 'InternalError', message: expect.any(String) }] });
    expect(res.text).not.toContain('identity provider');
    expect(broken.logs.some((line) => line.level === 'error')).toBe(true);
    await broken.udapi.close();
  });

  it('answers 500 when authenticateAdmin returns a malformed user', async () => {
    const malformed = await createTestApp(db, {
      authenticateAdmin: () => ({ name: 'x', permissions: 'all' }) as never,
    });
    const res = await request(malformed.app).get('/admin/udapi/tokens');
    expect(res.status).toBe(500);
    await malformed.udapi.close();
  });
});
