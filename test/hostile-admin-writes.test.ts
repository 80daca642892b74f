// Hostile input (fast-check, 2,000 cases a surface) to the admin routes that write: a documented 4xx or a success,
// never a 5xx, and a refused request stores nothing (no object, no event, no field changed).
import { adminRequest, checkAdminAnswer, document, fuzz, hostileBody, startHostileSuite, stopHostileSuite, storedState, target } from './helpers/hostile';

jest.setTimeout(600_000);
beforeAll(startHostileSuite);
afterAll(stopHostileSuite);

describe('hostile input to the admin API', () => {
  it('POST /tokens', async () => {
    await fuzz('POST /tokens', hostileBody({ name: 'fuzzed' }).map(adminRequest('POST', '/admin/udapi/tokens')), checkAdminAnswer);
  });

  it('PATCH /tokens/:id', async () => {
    await fuzz(
      'PATCH /tokens/:id',
      hostileBody({ name: 'fuzz-target', isDisabled: false }).map((body) => adminRequest('PATCH', `/admin/udapi/tokens/${target.tokenId}`)(body)),
      checkAdminAnswer,
      async () => `${await storedState()} ${await document('udapiApiTokens', target.tokenId)}`,
    );
  });

  it('POST /tokens/:id/rotate', async () => {
    await fuzz(
      'POST /tokens/:id/rotate',
      hostileBody({}).map((body) => adminRequest('POST', `/admin/udapi/tokens/${target.tokenId}/rotate`)(body)),
      checkAdminAnswer,
      async () => `${await storedState()} ${await document('udapiApiTokens', target.tokenId)}`,
    );
  });

  it('POST /definitions', async () => {
    await fuzz(
      'POST /definitions',
      hostileBody({ route: 'fuzzed/{id}', actionMeta: { name: 'test.echo' }, securitySettings: { allowedTokens: [] } }).map(adminRequest('POST', '/admin/udapi/definitions')),
      checkAdminAnswer,
    );
  });

  it('PATCH /definitions/:id', async () => {
    await fuzz(
      'PATCH /definitions/:id',
      hostileBody({ description: 'x' }).map((body) => adminRequest('PATCH', `/admin/udapi/definitions/${target.definitionId}`)(body)),
      checkAdminAnswer,
      async () => `${await storedState()} ${await document('udapiApiDefinitions', target.definitionId)}`,
    );
  });

  it('POST /explain', async () => {
    await fuzz(
      'POST /explain',
      hostileBody({ secret: 'x'.repeat(44), method: 'GET', path: '/api/custom/fuzz/1' }).map(adminRequest('POST', '/admin/udapi/explain')),
      checkAdminAnswer,
    );
  });
});
