// Hostile input to the backup routes (fast-check): POST /import with hostile envelopes, tokens and definitions, and
// GET /export with hostile queries: a documented 4xx or a success, never a 5xx, and a refused import stores nothing.
import { randomBytes, randomUUID } from 'node:crypto';
import fc from 'fast-check';
import {
  adminRequest,
  checkAdminAnswer,
  emittedEvents,
  fuzz,
  hostileBody,
  hostileQuery,
  json,
  nastyString,
  send,
  startHostileSuite,
  stopHostileSuite,
} from './helpers/hostile';
import { ADMIN } from './helpers/app';
import type { RawRequest, RawResponse } from './helpers/raw-http';

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
  return {
    ...backup.tokens[0]!,
    id: randomUUID(),
    name: 'fuzz-imported',
    secretDigest: randomBytes(32).toString('base64url'),
  };
}

function freshDefinition(): Record<string, unknown> {
  return {
    ...backup.definitions[0]!,
    id: randomUUID(),
    route: `fuzz-imported/${randomUUID().slice(0, 8)}`,
    securitySettings: { allowedTokens: [] },
  };
}

// ---- hashes and times: an oracle of its own for the rules import applies (not the package's code) ----------------

const DAY = 86_400_000;
/** What import accepts as a bcrypt hash: the shape bcrypt writes and a cost of 4 to 15 (the costs bcryptRounds allows). */
const ACCEPTED_HASH = /^\$2[aby]\$(0[4-9]|1[0-5])\$[./A-Za-z0-9]{53}$/;
const BCRYPT_BASE64 = [...'./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'];
const hostileHash = fc.oneof(
  fc
    .record({
      version: fc.constantFrom('2a', '2b', '2y', '2x', '2', '3b', '2B', '2bb'),
      cost: fc.oneof(
        fc.integer({ min: 0, max: 99 }).map((cost) => String(cost).padStart(2, '0')),
        fc.constantFrom('4', '100', '-1', '1e', ' 9', '0x', '٠٩'),
      ),
      body: fc.string({ unit: fc.constantFrom(...BCRYPT_BASE64), minLength: 50, maxLength: 56 }),
      tail: fc.constantFrom('', '', '', '!', '\n', '$', '\u0000'),
    })
    .map(({ version, cost, body, tail }) => `$${version}$${cost}$${body}${tail}`),
  nastyString.filter((text) => text.length <= 100),
);
/** ISO-8601 text: any instant of years 0-9999, an instant near now (days either way), or text that names no instant. */
const hostileTime = fc.oneof(
  fc
    .date({ min: new Date('0000-01-01T00:00:00Z'), max: new Date('9999-12-31T23:59:59.999Z'), noInvalidDate: true })
    .map((date) => date.toISOString()),
  fc.integer({ min: -200 * DAY, max: 200 * DAY }).map((offset) => ({ offset })),
  fc.constantFrom(
    '2024-02-30T00:00:00Z',
    '2024-13-01T00:00:00Z',
    '2024-01-01T23:60:00Z',
    '9999-12-31T23:59:59Z',
    '+275760-09-13T00:00:00Z',
    '2024-01-01',
    '',
  ),
);
/** The limit of each time of a token or definition, from now: audit times a little clock skew ahead, a grace period 90 days. */
const TIME_LIMITS: Record<string, number | null> = {
  expiresAt: null,
  previousSecretExpiresAt: 90 * DAY,
  lastUsedAt: 5 * 60_000,
  createdAt: 5 * 60_000,
  lastModified: 5 * 60_000,
};
const TIME_PATTERN = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})?)?$/;

interface Expected {
  accepted: boolean;
  /** Where a refusal must point. */
  field: string;
}
const expectations = new WeakMap<RawRequest, Expected>();

/** An import of one fresh object with one hostile hash or time, and what the oracle says of it. */
const hashOrTimeCase = fc
  .oneof(
    fc.record({
      kind: fc.constant('hash' as const),
      name: fc.constantFrom('secretHash', 'previousSecretHash'),
      hash: hostileHash,
    }),
    fc.record({
      kind: fc.constant('token time' as const),
      name: fc.constantFrom(...Object.keys(TIME_LIMITS)),
      time: hostileTime,
    }),
    fc.record({
      kind: fc.constant('definition time' as const),
      name: fc.constantFrom('createdAt', 'lastModified'),
      time: hostileTime,
    }),
  )
  .map((test): RawRequest => {
    const now = Date.now();
    const item = test.kind === 'definition time' ? freshDefinition() : freshToken();
    let accepted: boolean;
    if (test.kind === 'hash') {
      accepted = ACCEPTED_HASH.test(test.hash);
      item[test.name] = test.hash;
    } else {
      const text = typeof test.time === 'string' ? test.time : new Date(now + test.time.offset).toISOString();
      const at = Date.parse(/(Z|[+-]\d{2}:\d{2})$/.test(text) || !text.includes('T') ? text : `${text}Z`);
      const limit = TIME_LIMITS[test.name] ?? null;
      // An instant within a minute of a limit could go either way by the time the server looks: moved clear of it.
      const nearLimit = limit !== null && !Number.isNaN(at) && Math.abs(at - (now + limit)) <= 60_000;
      const instant = nearLimit ? now + limit + 120_000 : at;
      const value = nearLimit ? new Date(instant).toISOString() : text;
      // A grace period that has already ended is accepted (and dropped).
      accepted = TIME_PATTERN.test(value) && !Number.isNaN(instant) && (limit === null || instant <= now + limit);
      item[test.name] = value;
    }
    if (test.name.startsWith('previousSecret')) {
      item.previousSecretDigest = randomBytes(32).toString('base64url');
      item.previousSecretHash ??= backup.tokens[0]!.secretHash;
      item.previousSecretExpiresAt ??= new Date(now + DAY).toISOString();
    }
    const field = test.kind === 'definition time' ? 'definitions' : 'tokens';
    const req = adminRequest(
      'POST',
      '/admin/udapi/import',
    )({ body: envelopeWith(field, JSON.stringify(item)), contentType: 'application/json' });
    expectations.set(req, { accepted, field: `${field}[0].${test.name}` });
    return req;
  });

function checkHashOrTime(req: RawRequest, res: RawResponse): void {
  checkAdminAnswer(req, res);
  const expected = expectations.get(req)!;
  const errors =
    res.status === 200 ? [] : (JSON.parse(res.text) as { errors: { reason: string; field?: string }[] }).errors;
  const answer = {
    status: res.status,
    problems: errors.map((error) => ({ reason: error.reason, field: error.field })),
    body: String(req.body).slice(0, 400),
  };
  expect(answer).toEqual({
    ...answer,
    status: expected.accepted ? 200 : 400,
    problems: expected.accepted ? [] : [{ reason: 'InvalidBackup', field: expected.field }],
  });
}

/** The body of an import whose `field` holds `itemText` (JSON text, or garbage on purpose) as its only element. */
function envelopeWith(field: 'tokens' | 'definitions', itemText: string): string {
  const rest = { ...backup, tokens: [], definitions: [] };
  const text = JSON.stringify(rest);
  // A function, not a replacement string: a hostile bcrypt hash holds `$&` or `$'`, which a string would expand.
  return text.replace(`"${field}":[]`, () => `"${field}":[${itemText}]`);
}

describe('hostile input to the backup routes', () => {
  it('POST /import: a hostile envelope', async () => {
    await fuzz(
      'POST /import (envelope)',
      hostileBody({ ...backup, tokens: [freshToken()], definitions: [] }).map(
        adminRequest('POST', '/admin/udapi/import'),
      ),
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
      hostileBody(fresh()).map(({ body, contentType }) =>
        adminRequest('POST', '/admin/udapi/import')({ body: envelopeWith(field, body), contentType }),
      ),
      checkAdminAnswer,
      undefined,
      IMPORT_RUNS,
    );
  });

  it('POST /import: hostile bcrypt hashes and times are refused (naming the field) exactly when the API could not have stored them', async () => {
    // Half the cases of the other import surfaces: most of these are accepted, and each accepted import reloads the view.
    await fuzz(
      'POST /import (hashes and times)',
      hashOrTimeCase,
      checkHashOrTime,
      undefined,
      Math.ceil(IMPORT_RUNS / 2),
    );
  });

  it('GET /export: hostile query strings are refused, never answered with a partial backup or a 5xx', async () => {
    await fuzz(
      'GET /export',
      hostileQuery(['format', 'tokens', 'definitions']).map((query) => ({
        method: 'GET',
        path: `/admin/udapi/export${query ? `?${query}` : ''}`,
        headers: ADMIN,
      })),
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
