// Hostile input (fast-check, 2,000 cases a surface) to the admin reads, ids, headers and the endpoint: a documented
// 4xx or a success, never a 5xx, nothing emitted for a refusal, no prototype polluted.
import fc from 'fast-check';
import { ADMIN } from './helpers/app';
import {
  checkAdminAnswer,
  checkEndpointAnswer,
  CONTENT_TYPES,
  emittedEvents,
  fuzz,
  hostileBody,
  hostileQuery,
  hostileSegment,
  nastyString,
  startHostileSuite,
  stopHostileSuite,
  target,
} from './helpers/hostile';

jest.setTimeout(600_000);
beforeAll(startHostileSuite);
afterAll(stopHostileSuite);

describe('hostile input to the admin API', () => {
  it('GET /tokens and /tokens/count', async () => {
    const names = [
      'id',
      'ids',
      'name',
      'search',
      'isDisabled',
      'expired',
      'expiresAtFrom',
      'expiresAtTo',
      'createdBy',
      'lastModifiedBy',
      'createdAtFrom',
      'createdAtTo',
      'lastModifiedFrom',
      'lastModifiedTo',
      'limit',
      'cursor',
    ];
    await fuzz(
      'GET /tokens',
      fc
        .tuple(fc.constantFrom('/admin/udapi/tokens', '/admin/udapi/tokens/count'), hostileQuery(names))
        .map(([path, query]) => ({ method: 'GET', path: `${path}?${query}`, headers: ADMIN })),
      checkAdminAnswer,
      emittedEvents,
    );
  });

  it('GET, PATCH and DELETE /tokens/:id and /definitions/:id with hostile ids', async () => {
    await fuzz(
      '/tokens/:id, /definitions/:id',
      fc
        .tuple(
          fc.constantFrom('GET', 'PATCH', 'DELETE', 'POST'),
          fc.constantFrom('tokens', 'definitions'),
          hostileSegment,
          fc.constantFrom('', '/rotate', '/x'),
        )
        .map(([method, kind, id, suffix]) => ({
          method,
          path: `/admin/udapi/${kind}/${id}${suffix}`,
          headers: { ...ADMIN, 'Content-Type': 'application/json' },
          body: method === 'PATCH' || method === 'POST' ? '{"name":"x"}' : undefined,
        })),
      checkAdminAnswer,
    );
  });

  it('GET /definitions, /definitions/count and /events', async () => {
    const names = [
      'id',
      'ids',
      'name',
      'search',
      'route',
      'allowedToken',
      'actionType',
      'createdBy',
      'createdAtFrom',
      'limit',
      'cursor',
      'objectType',
      'objectId',
      'action',
    ];
    await fuzz(
      'GET /definitions, /events',
      fc
        .tuple(
          fc.constantFrom(
            '/admin/udapi/definitions',
            '/admin/udapi/definitions/count',
            '/admin/udapi/events',
            '/admin/udapi/actions',
            '/admin/udapi/me',
          ),
          hostileQuery(names),
        )
        .map(([path, query]) => ({ method: 'GET', path: `${path}?${query}`, headers: ADMIN })),
      checkAdminAnswer,
      emittedEvents,
    );
  });

  it('admin headers: authentication, content types and cross-site markers', async () => {
    const headerValue = fc.oneof(
      fc.string({ maxLength: 30 }).filter((text) => /^[\x20-\x7e]*$/.test(text)),
      fc.constantFrom('', ' ', '*', ',', 'x'.repeat(4000)),
    );
    await fuzz(
      'admin headers',
      fc
        .record({
          method: fc.constantFrom('GET', 'POST', 'PATCH', 'DELETE', 'PUT', 'OPTIONS'),
          user: fc.option(headerValue),
          permissions: fc.option(headerValue),
          contentType: fc.option(fc.oneof(fc.constantFrom(...CONTENT_TYPES), headerValue)),
          site: fc.option(fc.oneof(fc.constantFrom('same-origin', 'cross-site', 'same-site', 'none'), headerValue)),
          origin: fc.option(fc.oneof(fc.constantFrom('null', 'http://evil.test', 'http://127.0.0.1'), headerValue)),
        })
        .map(({ method, user, permissions, contentType, site, origin }) => ({
          method,
          path: '/admin/udapi/tokens',
          headers: Object.fromEntries(
            Object.entries({
              'x-test-user': user,
              'x-test-permissions': permissions,
              'Content-Type': contentType,
              'Sec-Fetch-Site': site,
              Origin: origin,
            }).filter((entry): entry is [string, string] => typeof entry[1] === 'string'),
          ),
          body: method === 'GET' || method === 'OPTIONS' ? undefined : '{"name":"header-fuzz"}',
        })),
      checkAdminAnswer,
    );
  });
});

describe('hostile input to the endpoint', () => {
  it('methods, paths, bearer headers, queries and bodies', async () => {
    const authorization = fc.oneof(
      fc.constant(`Bearer ${target.tokenSecret}`),
      fc.constantFrom(
        '',
        'Bearer',
        'Bearer ',
        'bearer  x',
        `Bearer ${target.tokenSecret} extra`,
        `Basic ${target.tokenSecret}`,
        `Bearer ${'A'.repeat(8000)}`,
        `Bearer ${target.tokenSecret.slice(0, -1)}`,
      ),
      nastyString.filter((text) => /^[\x20-\x7e]*$/.test(text)).map((text) => `Bearer ${text.slice(0, 1000)}`),
    );
    const path = fc.oneof(
      fc
        .tuple(
          fc.constantFrom('fuzz', 'FUZZ', 'fuzz/params', 'fuzz/proc', 'nothing'),
          fc.array(hostileSegment, { maxLength: 3 }),
        )
        .map(([start, rest]) => [start, ...rest].join('/')),
      fc.array(hostileSegment, { maxLength: 4 }).map((segments) => segments.join('/')),
      fc.constantFrom('', '/', '//', 'fuzz//1', 'fuzz/1/', '%2e%2e/%2e%2e/admin/udapi/tokens', 'fuzz/%00'),
    );
    await fuzz(
      'endpoint',
      fc
        .record({
          method: fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS', 'PROPFIND'),
          path,
          query: hostileQuery(['a', 'id', 'status']),
          authorization,
          body: fc.option(hostileBody({ encoderId: 'enc-1' })),
        })
        .map(({ method, path: route, query, authorization: auth, body }) => ({
          method,
          path: `/api/custom/${route}${query ? `?${query}` : ''}`,
          headers: {
            ...(auth ? { Authorization: auth } : {}),
            ...(body?.contentType ? { 'Content-Type': body.contentType } : {}),
          },
          body: body && method !== 'GET' && method !== 'HEAD' ? body.body : undefined,
        })),
      checkEndpointAnswer,
      emittedEvents,
    );
  });
});
