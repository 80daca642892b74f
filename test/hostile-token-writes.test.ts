// Hostile input (fast-check, 2,000 cases a surface) to the admin routes that write tokens: a documented 4xx or a
// success, never a 5xx, and a refused request stores nothing (no object, no event, no field changed). The definition
// and explain surfaces are in hostile-definition-writes.test.ts, so that two workers share the work.
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

describe('hostile input to the admin API: tokens', () => {
  it('POST /tokens', async () => {
    await fuzz(
      'POST /tokens',
      hostileBody({ name: 'fuzzed' }).map(adminRequest('POST', '/admin/udapi/tokens')),
      checkAdminAnswer,
    );
  });

  it('PATCH /tokens/:id', async () => {
    await fuzz(
      'PATCH /tokens/:id',
      hostileBody({ name: 'fuzz-target', isDisabled: false }).map((body) =>
        adminRequest('PATCH', `/admin/udapi/tokens/${target.tokenId}`)(body),
      ),
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
});
