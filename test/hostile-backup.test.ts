// Hostile input to the backup routes (fast-check): POST /import with hostile envelopes, tokens and definitions, and
// GET /export with hostile queries: a documented 4xx or a success, never a 5xx, and a refused import stores nothing.
import { randomBytes, randomUUID } from 'node:crypto';
import {
  adminRequest, checkAdminAnswer, emittedEvents, fuzz, hostileBody, hostileQuery, json, send, startHostileSuite, stopHostileSuite,
} from './helpers/hostile';
import { ADMIN } from './helpers/app';

jest.setTimeout(600_000);
/** Each import case validates a whole backup and may write; fewer cases than the other surfaces keep CI short. */
const IMPORT_RUNS = Math.min(Number(process.env.FUZZ_RUNS ?? 2000), 600);

interface BackupShape {
  format: string;
  version: number;
  exportedAt: string;
  pepperCheck: string;
  tokens: Record<string, unknown>[];
  definitions: Record<string, unknown>[];
}

let backup: BackupShape;

beforeAll(async () => {
  await startHostileSuite();
  const exported = await send({ method: 'GET', path: '/admin/udapi/export', headers: ADMIN });
  expect(exported.status).toBe(200);
  backup = JSON.parse(exported.text) as BackupShape;
  expect(backup.tokens.length).toBeGreaterThan(0);
  expect(backup.definitions.length).toBeGreaterThan(0);
});
afterAll(stopHostileSuite);

/** A token of the backup made new: its own id and digest, so that an import of it alone can succeed once. */
function freshToken(): Record<string, unknown> {
  return { ...backup.tokens[0]!, id: randomUUID(), name: 'fuzz-imported', secretDigest: randomBytes(32).toString('base64url') };
}

function freshDefinition(): Record<string, unknown> {
  return { ...backup.definitions[0]!, id: randomUUID(), route: `fuzz-imported/${randomUUID().slice(0, 8)}`, securitySettings: { allowedTokens: [] } };
}

/** The body of an import whose `field` holds `itemText` (JSON text, or garbage on purpose) as its only element. */
function envelopeWith(field: 'tokens' | 'definitions', itemText: string): string {
  const rest = { ...backup, tokens: [], definitions: [] };
  const text = JSON.stringify(rest);
  return text.replace(`"${field}":[]`, `"${field}":[${itemText}]`);
}

describe('hostile input to the backup routes', () => {
  it('POST /import: a hostile envelope', async () => {
    await fuzz(
      'POST /import (envelope)',
      hostileBody({ ...backup, tokens: [freshToken()], definitions: [] }).map(adminRequest('POST', '/admin/udapi/import')),
      checkAdminAnswer,
      undefined,
      IMPORT_RUNS,
    );
  });

  it.each([
    ['token', 'tokens', freshToken],
    ['definition', 'definitions', freshDefinition],
  ] as const)('POST /import: a hostile %s in a valid envelope', async (kind, field, fresh) => {
    await fuzz(
      `POST /import (${kind})`,
      hostileBody(fresh()).map(({ body, contentType }) => adminRequest('POST', '/admin/udapi/import')({ body: envelopeWith(field, body), contentType })),
      checkAdminAnswer,
      undefined,
      IMPORT_RUNS,
    );
  });

  it('GET /export: hostile query strings are refused, never answered with a partial backup or a 5xx', async () => {
    await fuzz(
      'GET /export',
      hostileQuery(['format', 'tokens', 'definitions']).map((query) => ({ method: 'GET', path: `/admin/udapi/export${query ? `?${query}` : ''}`, headers: ADMIN })),
      (req, res) => {
        checkAdminAnswer(req, res);
        if (res.status === 200) expect(() => JSON.parse(res.text) as unknown).not.toThrow();
      },
      emittedEvents,
      IMPORT_RUNS,
    );
  });

  it('still imports a valid backup after all that (the fuzzing did not wedge the route)', async () => {
    const token = freshToken();
    const res = await send(json('POST', '/admin/udapi/import', { ...backup, tokens: [token], definitions: [] }));
    expect(res.status).toBe(200);
    expect(JSON.parse(res.text)).toEqual({ tokens: 1, definitions: 0 });
  });
});
