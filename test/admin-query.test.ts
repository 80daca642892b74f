// Query parameters of admin operations that take none: the exact 400 each route file answers, and what is checked first.
import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { ADMIN_OPERATIONS } from '../src/http/reference-routes';
import { ADMIN, openTestHost, userWith, type TestHost } from './helpers/app';

let host: TestHost;

beforeAll(async () => {
  host = await openTestHost();
});

afterAll(async () => {
  await host?.close();
});

const ID = randomUUID();

/** A body each operation would accept (so only the query is at fault), by operationId. */
const BODIES: Record<string, object> = {
  createToken: { name: 'query-test' },
  updateToken: { name: 'query-test' },
  rotateToken: {},
  createDefinition: { route: 'query/test', actionMeta: { name: 'test.echo' } },
  updateDefinition: { route: 'query/test' },
  explainCall: { secret: 'x'.repeat(44), method: 'GET', path: 'query/test' },
  importBackup: { version: 1, tokens: [], definitions: [] },
};

// The changes of one object name it in their errors (as their body errors do); reads and creations never have.
const NAMES_ID = new Set(['updateToken', 'rotateToken', 'deleteToken', 'updateDefinition', 'deleteDefinition']);

const noQueryOperations = ADMIN_OPERATIONS.filter(
  (operation) => Object.keys(operation.query?.properties ?? {}).length === 0,
);

function send(method: string, path: string, headers: Record<string, string>, body?: object) {
  const pending = request(host.app)[method as 'get'](`/admin/udapi${path}`).set(headers);
  return body === undefined ? pending : pending.send(body);
}

describe('an operation that takes no query parameters', () => {
  it('covers a representative of every route file', () => {
    const ids = noQueryOperations.map((operation) => operation.operationId);
    for (const id of ['getToken', 'listActions', 'exportBackup', 'explainCall', 'getMe']) expect(ids).toContain(id);
  });

  it.each(noQueryOperations.map((operation) => [operation.operationId, operation] as const))(
    '%s refuses one with 400 InvalidRequest, before anything else',
    async (operationId, operation) => {
      const path = operation.path.replace(':id', ID);
      const res = await send(operation.method, `${path}?x=1`, ADMIN, BODIES[operationId]);
      expect([res.status, res.body]).toEqual([
        400,
        {
          errors: [
            {
              reason: 'InvalidRequest',
              message: "Unknown query parameter 'x'.",
              field: 'x',
              ...(NAMES_ID.has(operationId) ? { id: ID } : {}),
            },
          ],
        },
      ]);
    },
  );

  it('refuses a repeated one with its own message, without the id', async () => {
    const res = await send('patch', `/tokens/${ID}?x=1&x=2`, ADMIN, { name: 'query-test' });
    expect([res.status, res.body]).toEqual([
      400,
      { errors: [{ reason: 'InvalidRequest', message: "Query parameter 'x' may be given once.", field: 'x' }] },
    ]);
  });

  it('answers the query before the body, and the body before the object', async () => {
    const create = await send('post', '/tokens?x=1', ADMIN, { name: 'query-test', bogus: true });
    expect(create.body.errors).toEqual([expect.objectContaining({ field: 'x' })]);
    const update = await send('patch', `/definitions/${ID}?x=1`, ADMIN, { route: 7 });
    expect(update.body.errors).toEqual([expect.objectContaining({ field: 'x', id: ID })]);
    const explain = await send('post', '/explain?x=1', ADMIN, { secret: 1 });
    expect(explain.body.errors).toEqual([expect.objectContaining({ field: 'x' })]);
    const backup = await send('post', '/import?x=1', ADMIN, { not: 'a backup' });
    expect([backup.status, backup.body.errors]).toEqual([400, [expect.objectContaining({ field: 'x' })]]);
    const badBody = await send('patch', `/tokens/${ID}`, ADMIN, { name: 7 });
    expect([badBody.status, badBody.body.errors]).toEqual([
      400,
      [expect.objectContaining({ reason: 'InvalidName', id: ID })],
    ]);
    const badBackup = await send('post', '/import', ADMIN, { not: 'a backup' });
    expect([badBackup.status, badBackup.body.errors[0].reason]).toEqual([400, 'InvalidBackup']);
  });

  it('checks the permission and the body type before the query', async () => {
    const forbidden = await send('post', '/tokens?x=1', userWith('UserDefinableApiTokenRead'), { name: 'q' });
    expect([forbidden.status, forbidden.body.errors[0].reason]).toEqual([403, 'MissingPermission']);
    const text = await request(host.app).post('/admin/udapi/tokens?x=1').set(ADMIN).type('text/plain').send('hi');
    expect([text.status, text.body.errors[0].reason]).toEqual([415, 'UnsupportedMediaType']);
  });
});

describe('GET /events', () => {
  it('checks its query before the permission its handler decides', async () => {
    const bad = await send('get', '/events?x=1', userWith());
    expect([bad.status, bad.body.errors[0]]).toEqual([
      400,
      { reason: 'InvalidRequest', message: "Unknown query parameter 'x'.", field: 'x' },
    ]);
    const forbidden = await send('get', '/events?objectType=ApiToken', userWith());
    expect([forbidden.status, forbidden.body.errors[0].reason]).toEqual([403, 'MissingPermission']);
  });
});
