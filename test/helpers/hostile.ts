// The hostile-input harness (fast-check): hostile arbitraries, the checks every answer must pass, and a runner that
// also verifies a refused request stored nothing. Used by the hostile-input test files, one app per file.
import { createHash, randomInt } from 'node:crypto';
import fc from 'fast-check';
import type { mongo } from 'mongoose';
import { ENDPOINT_ERROR_TITLE, ErrorCodes, ErrorReasons } from '../../src';
import { secretProblem } from '../../src/domain/secrets';
import { ADMIN, createTestApp, type TestApp } from './app';
import { openTestDb, type TestDb } from './db';
import { registerSeeds } from './leak-registry';
import { rawClient, type RawClient, type RawRequest, type RawResponse } from './raw-http';

/** Marks the valid secrets the generators make (a fixed start no other generator produces). */
const FUZZ_SECRET_MARK = 'fuzzSecret';

/** Cases per surface; CI runs the default. */
const RUNS = Number(process.env.FUZZ_RUNS ?? 2000);
/** One seed per test file, printed, and replayed with FC_SEED=<seed>; each surface derives its own from it. */
const FILE_SEED = process.env.FC_SEED ? Number(process.env.FC_SEED) : randomInt(2 ** 31);
if (!Number.isSafeInteger(FILE_SEED)) throw new Error(`FC_SEED must be an integer, got '${process.env.FC_SEED}'`);
const seeds: Record<string, number> = {};
registerSeeds(() => `FC_SEED=${FILE_SEED} (surface seeds ${JSON.stringify(seeds)})`);

/** The seed of one surface: a hash of the file's seed and the surface's name, so one FC_SEED replays every surface. */
function surfaceSeed(surface: string): number {
  const seed = createHash('sha256').update(`${FILE_SEED}:${surface}`).digest().readUInt32BE(0) | 0;
  seeds[surface] = seed;
  console.log(`fast-check ${surface}: seed ${seed} (replay the file with FC_SEED=${FILE_SEED})`);
  return seed;
}

/**
 * Commands that cannot store anything. The app is the only client of its database, so a request during which none
 * of its other commands was sent cannot have stored anything (an unknown command counts as a write).
 */
const READ_ONLY_COMMANDS = new Set([
  'find',
  'getMore',
  'count',
  'distinct',
  'listCollections',
  'listIndexes',
  'ping',
  'hello',
  'isMaster',
  'ismaster',
  'killCursors',
  'endSessions',
  'buildInfo',
  'dbStats',
  'collStats',
]);
/** Commands sent to the database that may have stored something, counted by the driver's command monitoring. */
let writesSent = 0;
function countWrites(event: mongo.CommandStartedEvent): void {
  if (event.commandName === 'aggregate') {
    const stages = (event.command.pipeline ?? []) as Record<string, unknown>[];
    if (!stages.some((stage) => '$out' in stage || '$merge' in stage)) return;
  } else if (READ_ONLY_COMMANDS.has(event.commandName)) return;
  writesSent += 1;
}

let db: TestDb;
let t: TestApp;
let client: RawClient;
/** The fixtures the surfaces aim at: a token (with its secret) and a definition allowing it. */
export const target = { tokenId: '', tokenSecret: '', definitionId: '' };
const casesRun: Record<string, number> = {};
const prototypeKeys = Object.getOwnPropertyNames(Object.prototype).sort();

/** Builds the app (admin router and endpoint) on its own database, with a target token and three definitions. */
export async function startHostileSuite(): Promise<void> {
  db = await openTestDb({ monitorCommands: true });
  db.connection.getClient().on('commandStarted', countWrites);
  // No failed-auth throttle: thousands of bad secrets from one address would otherwise all end in 429.
  t = await createTestApp(db, { failedAuthThrottle: false });
  t.app.use('/api/custom', t.udapi.endpoint());
  client = await rawClient(t.app);
  const writesBefore = writesSent;
  const token = await client.send(json('POST', '/admin/udapi/tokens', { name: 'fuzz-target' }));
  // The write count below skips state reads: it must see the app's writes.
  expect(writesSent).toBeGreaterThan(writesBefore);
  ({ id: target.tokenId, secret: target.tokenSecret } = JSON.parse(token.text) as { id: string; secret: string });
  for (const body of [
    { route: 'fuzz/{id}', actionMeta: { name: 'test.echo' } },
    { route: 'fuzz/params/{id}', actionMeta: { name: 'test.echo', inputType: 'parameters' } },
    { route: 'fuzz/proc', actionType: 'procedure', actionMeta: { name: 'test.restart' } },
  ]) {
    const res = await client.send(
      json('POST', '/admin/udapi/definitions', { ...body, securitySettings: { allowedTokens: [target.tokenId] } }),
    );
    expect(res.status).toBe(201);
    target.definitionId = (JSON.parse(res.text) as { id: string }).id;
  }
}

export async function stopHostileSuite(): Promise<void> {
  try {
    console.log(`hostile-input cases per surface: ${JSON.stringify(casesRun)}`);
    // A refusal that reached a code path nobody expected would have been logged at error level.
    expect(t.logs.filter((line) => line.level === 'error')).toEqual([]);
  } finally {
    await client?.close();
    await t?.udapi.close();
    await db?.drop();
  }
}

/** Sends one request through the suite's client, for a fixture a surface needs. */
export function send(req: RawRequest): Promise<RawResponse> {
  return client.send(req);
}

export function json(method: string, path: string, body: unknown): RawRequest {
  return { method, path, headers: { ...ADMIN, 'Content-Type': 'application/json' }, body: JSON.stringify(body) };
}

// ---- arbitraries -------------------------------------------------------------------------------------------

const NASTY_STRINGS = [
  '',
  ' ',
  '\t',
  '\u0000',
  'a\u0000b',
  '__proto__',
  'constructor',
  'prototype',
  '$gt',
  '$where',
  '{"$gt":""}',
  '../../etc/passwd',
  '%00',
  '%zz',
  '%',
  '\uD800',
  '\uDFFF',
  '😀'.repeat(50),
  'ﬀ',
  'İ',
  '\u202E',
  '<script>alert(1)</script>',
  "'; DROP TABLE x; --",
  'A'.repeat(5000),
  '00000000-0000-0000-0000-000000000000',
  'ZZZZZZZZ-ZZZZ-ZZZZ-ZZZZ-ZZZZZZZZZZZZ',
  'null',
  'true',
  '1e309',
  '-0',
];
const OPERATOR_SHAPES: unknown[] = [
  { $gt: '' },
  { $ne: null },
  { $where: 'sleep(100)' },
  { $regex: '.*' },
  { $in: [] },
  { $exists: true },
  { $expr: {} },
];

/** Percent-encodes the UTF-8 bytes of any text (encodeURIComponent throws on a lone surrogate). */
function encode(text: string): string {
  return [...Buffer.from(text, 'utf8')]
    .map((byte) =>
      /[A-Za-z0-9\-_.~]/.test(String.fromCharCode(byte))
        ? String.fromCharCode(byte)
        : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`,
    )
    .join('');
}

export const nastyString = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.constantFrom(...NASTY_STRINGS),
  fc.integer({ min: 1, max: 70_000 }).map((length) => 'x'.repeat(length)),
);
const hostileKey = fc.oneof(
  fc.constantFrom(
    '__proto__',
    'constructor',
    'prototype',
    '$gt',
    '$where',
    'secretDigest',
    'secretHash',
    '_id',
    'deletingSince',
    'routeKey',
  ),
  fc.constantFrom(
    'name',
    'secret',
    'id',
    'isDisabled',
    'rateLimit',
    'expiresAt',
    'route',
    'actionMeta',
    'actionType',
    'securitySettings',
    'description',
  ),
  fc.string({ maxLength: 12 }),
);

/**
 * What a `secret` field gets: hostile text that breaks the secret rules, or a valid secret made for this case alone.
 * No other field ever draws from here, and nothing drawn here passes the secret rules unless it is unique, so a value
 * stored as a secret never also appears as a name or description; the leak scan can then flag every secret it sees.
 */
const hostileSecret = fc.oneof(
  nastyString.filter((text) => secretProblem(text) !== null),
  fc
    .string({
      unit: fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-.=+/'),
      minLength: 32,
      maxLength: 80,
    })
    .map((random) => `${FUZZ_SECRET_MARK}${random}`),
);
/** A key and a value for it: `secret` keys take only hostile secrets. */
const entryOf = (value: fc.Arbitrary<unknown>): fc.Arbitrary<[string, unknown]> =>
  hostileKey.chain((key) => (key === 'secret' ? hostileSecret : value).map((v): [string, unknown] => [key, v]));
/** An object of hostile entries (kept as entries so that keys like "__proto__" survive until they are written as JSON). */
const entriesOf = (value: fc.Arbitrary<unknown>, maxKeys: number): fc.Arbitrary<[string, unknown][]> =>
  fc.uniqueArray(entryOf(value), { maxLength: maxKeys, selector: ([key]) => key });

const { value: hostileValue } = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    nastyString,
    fc.integer(),
    fc.double(),
    fc.boolean(),
    fc.constant(null),
    fc.constantFrom(...OPERATOR_SHAPES),
    fc.array(tie('value'), { maxLength: 4 }),
    entriesOf(tie('value'), 4).map((entries) => JSON.parse(objectText(entries)) as unknown),
  ),
}));

/** JSON text of an object, keeping keys like "__proto__" as plain keys (an object literal would not). */
function objectText(entries: [string, unknown][]): string {
  return `{${entries.map(([key, value]) => `${JSON.stringify(key)}:${JSON.stringify(value) ?? 'null'}`).join(',')}}`;
}

const NOT_JSON = [
  '{',
  '{"name":',
  '[]',
  '"x"',
  '\uFEFF{"name":"x"}',
  '{"name":"x"}garbage',
  '{"name":"a","name":"b"}',
  'nul',
  '{"a":1e999999}',
  '\u0000',
];
export const CONTENT_TYPES = [
  'application/json',
  'application/json; charset=utf-8',
  'application/json; charset=latin1',
  'text/plain',
  'application/x-www-form-urlencoded',
  'application/merge-patch+json',
  '',
];

/** Bodies for a route that expects `valid`: one field replaced or added, a random value, or text that is not JSON. */
export function hostileBody(valid: Record<string, unknown>): fc.Arbitrary<{ body: string; contentType: string }> {
  const text = fc.oneof(
    {
      weight: 5,
      arbitrary: entryOf(hostileValue).map(([key, value]) =>
        objectText([...Object.entries(valid).filter(([k]) => k !== key), [key, value]]),
      ),
    },
    { weight: 2, arbitrary: entriesOf(hostileValue, 6).map(objectText) },
    { weight: 1, arbitrary: hostileValue.map((value) => JSON.stringify(value) ?? 'null') },
    { weight: 1, arbitrary: fc.constantFrom(...NOT_JSON) },
  );
  const contentType = fc.oneof(
    { weight: 6, arbitrary: fc.constant('application/json') },
    { weight: 1, arbitrary: fc.constantFrom(...CONTENT_TYPES) },
  );
  return fc.record({ body: text, contentType });
}

/** A path segment: encoded hostile text, or raw bytes that break percent-encoding on purpose. */
export const hostileSegment = fc.oneof(
  nastyString.map((text) => encode(text.slice(0, 300))),
  fc.constantFrom(
    '%zz',
    '%',
    '%0',
    '%00',
    '%E0%A4',
    '%C0%AF',
    '..',
    '%2e%2e',
    '%2F',
    'a%2Fb',
    '%25',
    '%u0041',
    '%FF%FE',
  ),
  fc.uuid().map((id) => id.toUpperCase()),
);

/**
 * A `cursor` that decodes (base64url JSON, as the lists return) to a pair near the real shape [ms, UUID], with each part
 * at or past its edges: times a Date cannot hold, fractions, text, and ids of every shape. Random text almost never
 * decodes at all, so only these reach the checks behind the decoding.
 */
const hostileCursor = fc
  .tuple(
    fc.oneof(
      {
        weight: 3,
        arbitrary: fc.constantFrom(
          8.64e15,
          8.64e15 + 1,
          -8.64e15,
          -8.64e15 - 1,
          Number.MAX_SAFE_INTEGER,
          -Number.MAX_SAFE_INTEGER,
          0,
          -0,
          1.5,
          1e300,
        ),
      },
      { weight: 1, arbitrary: fc.integer() },
      { weight: 1, arbitrary: fc.double() },
      { weight: 1, arbitrary: fc.maxSafeInteger() },
      { weight: 1, arbitrary: fc.constant(null) },
      { weight: 1, arbitrary: nastyString },
    ),
    fc.oneof(
      fc.uuid(),
      fc.uuid().map((id) => id.toUpperCase()),
      nastyString,
      fc.constantFrom(...OPERATOR_SHAPES),
      fc.integer(),
    ),
  )
  .chain((pair) => fc.constantFrom<unknown>(pair, pair, pair, [...pair, 1], [pair[0]], { at: pair[0], id: pair[1] }))
  .map((value) => Buffer.from(JSON.stringify(value) ?? 'null', 'utf8').toString('base64url'));

/** A query string: known filter names and hostile names, with hostile values; sometimes raw broken escapes. */
export function hostileQuery(knownNames: string[]): fc.Arbitrary<string> {
  const name = fc.oneof(
    fc.constantFrom(...knownNames),
    fc.constantFrom(
      'name[$ne]',
      'name[$gt]',
      '__proto__',
      'constructor',
      '__proto__[polluted]',
      'constructor[prototype][polluted]',
      'id[]',
      '$where',
      'limit',
      'cursor',
      'ids',
      'search',
    ),
    fc.string({ maxLength: 10 }),
  );
  const value = fc.oneof(
    nastyString.map((text) => encode(text.slice(0, 2000))),
    fc.constantFrom(
      '%zz',
      '%',
      '0',
      '-1',
      '501',
      '1.5',
      'true',
      'TRUE',
      '1e3',
      '%00',
      'null',
      '2026-13-45',
      '2026-01-01T25:00:00Z',
    ),
  );
  const query = fc
    .array(fc.tuple(name, value), { maxLength: 5 })
    .map((pairs) => pairs.map(([key, val]) => `${encode(key)}=${val}`).join('&'));
  if (!knownNames.includes('cursor')) return query;
  // Alone, or a hostile name next to it would have the query refused before the cursor is read.
  return fc.oneof(
    { weight: 2, arbitrary: query },
    { weight: 1, arbitrary: hostileCursor.map((cursor) => `cursor=${cursor}`) },
  );
}

// ---- checks ------------------------------------------------------------------------------------------------

const fail = (message: string, req: RawRequest, res: RawResponse): never => {
  throw new Error(
    `${message}\nrequest: ${req.method} ${req.path.slice(0, 300)} ${String(req.body ?? '').slice(0, 300)}\nresponse: ${res.status} ${res.text.slice(0, 500)}`,
  );
};

function checkNoPollution(req: RawRequest, res: RawResponse): void {
  if (
    Object.getOwnPropertyNames(Object.prototype).sort().join() !== prototypeKeys.join() ||
    ({} as Record<string, unknown>).polluted !== undefined
  ) {
    fail('Object.prototype was modified', req, res);
  }
}

/** Node's HTTP server refuses headers over its 16 KB limit itself (431, no body) before any middleware runs. */
const refusedByNode = (res: RawResponse): boolean => res.status === 431 && res.text === '';

/** A documented admin answer: a success, or { errors: [...] } of catalogued reasons whose first decides the status. */
export function checkAdminAnswer(req: RawRequest, res: RawResponse): void {
  checkNoPollution(req, res);
  if (res.status >= 500) fail('server error', req, res);
  if (res.status < 400 || refusedByNode(res)) return;
  let body: { errors?: { reason?: string; message?: unknown }[] };
  try {
    body = JSON.parse(res.text) as typeof body;
  } catch {
    return fail('error body is not JSON', req, res);
  }
  const errors = body.errors ?? [];
  if (errors.length === 0) fail('error body has no errors', req, res);
  for (const error of errors) {
    if (!(String(error.reason) in ErrorReasons) || typeof error.message !== 'string')
      fail('error outside the catalogue', req, res);
  }
  if (ErrorReasons[errors[0]!.reason as keyof typeof ErrorReasons].status !== res.status)
    fail('status does not match the first reason', req, res);
}

const ENDPOINT_STATUSES = new Map<number, number>(Object.values(ErrorCodes).map((entry) => [entry.code, entry.status]));

/** A documented endpoint answer: the handler's success, or the fixed error body with a known code and its status. */
export function checkEndpointAnswer(req: RawRequest, res: RawResponse): void {
  checkNoPollution(req, res);
  if (res.status >= 500) fail('server error', req, res);
  if (res.status < 400 || req.method === 'HEAD' || refusedByNode(res)) return;
  let body: { errors?: { title?: string; errorCode?: number; detail?: unknown; faultingNode?: unknown }[] };
  try {
    body = JSON.parse(res.text) as typeof body;
  } catch {
    return fail('error body is not JSON', req, res);
  }
  const error = body.errors?.[0];
  if (
    !error ||
    error.title !== ENDPOINT_ERROR_TITLE ||
    typeof error.detail !== 'string' ||
    error.faultingNode !== 'test-node'
  )
    fail('not the documented error body', req, res);
  if (ENDPOINT_STATUSES.get(error!.errorCode!) !== res.status) fail('status does not match the error code', req, res);
}

/** What a refused request must leave untouched: the objects and the information events. */
export async function storedState(): Promise<string> {
  const [tokens, definitions, events] = await Promise.all(
    ['udapiApiTokens', 'udapiApiDefinitions', 'udapiEvents'].map((name) =>
      db.connection.collection(name).estimatedDocumentCount(),
    ),
  );
  return `${tokens}/${definitions}/${events}`;
}

/** For routes that only read: the information events this instance emitted (a write always emits one). */
export async function emittedEvents(): Promise<string> {
  return Promise.resolve(String(t.events.length));
}

export async function document(collection: string, id: string): Promise<string> {
  return JSON.stringify(await db.connection.collection(collection).findOne({ _id: id as never }));
}

/**
 * Runs `runs` cases of a surface; `stateOf` is read before and after each refused case and must not change. A
 * refused case that sent the database no write is known to have stored nothing: its state is not read again.
 */
export async function fuzz(
  surface: string,
  requests: fc.Arbitrary<RawRequest>,
  check: (req: RawRequest, res: RawResponse) => void,
  stateOf = storedState,
  runs = RUNS,
): Promise<void> {
  casesRun[surface] = 0;
  const seed = surfaceSeed(surface);
  // Only a success may change what is stored, so the state after one case is the state before the next.
  let known = await stateOf();
  await fc.assert(
    fc.asyncProperty(requests, async (req) => {
      casesRun[surface]! += 1;
      const writesBefore = writesSent;
      const res = await client.send(req);
      check(req, res);
      if (res.status >= 400 && writesSent === writesBefore) return;
      const now = await stateOf();
      if (res.status >= 400 && now !== known) fail('a refused request changed what is stored', req, res);
      known = now;
    }),
    { numRuns: runs, seed },
  );
}

export const adminRequest =
  (method: string, path: string) =>
  ({ body, contentType }: { body: string; contentType: string }): RawRequest => ({
    method,
    path,
    headers: { ...ADMIN, ...(contentType ? { 'Content-Type': contentType } : {}) },
    body,
  });
