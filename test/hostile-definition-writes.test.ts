// Hostile input (fast-check, 2,000 cases a surface) to the admin routes that write definitions, and to explain: a
// documented 4xx or a success, never a 5xx, and a refused request stores nothing. Tokens: hostile-token-writes.test.ts.
import {
  adminRequest,
  checkAdminAnswer,
  document,
  fuzz,
  hostileBody,
  startHostileSuite,
  stopHostileSuite,
  storedState,
  target,
} from './helpers/hostile';

jest.setTimeout(600_000);
beforeAll(startHostileSuite);
afterAll(stopHostileSuite);

describe('hostile input to the admin API: definitions and explain', () => {
  it('POST /definitions', async () => {
    await fuzz(
      'POST /definitions',
      hostileBody({
        route: 'fuzzed/{id}',
        actionMeta: { name: 'test.echo' },
        securitySettings: { allowedTokens: [] },
      }).map(adminRequest('POST', '/admin/udapi/definitions')),
      checkAdminAnswer,
    );
  });

  it('PATCH /definitions/:id', async () => {
    await fuzz(
      'PATCH /definitions/:id',
      hostileBody({ description: 'x' }).map((body) =>
        adminRequest('PATCH', `/admin/udapi/definitions/${target.definitionId}`)(body),
      ),
      checkAdminAnswer,
      async () => `${await storedState()} ${await document('udapiApiDefinitions', target.definitionId)}`,
    );
  });

  it('POST /explain', async () => {
    await fuzz(
      'POST /explain',
      hostileBody({ secret: 'x'.repeat(44), method: 'GET', path: '/api/custom/fuzz/1' }).map(
        adminRequest('POST', '/admin/udapi/explain'),
      ),
      checkAdminAnswer,
    );
  });
});
