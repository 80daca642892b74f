// createUserDefinedApis checks its options when built and says how to fix a bad one (unit tests: no database needed).
import mongoose from 'mongoose';
import { createUserDefinedApis, OptionsError, generateSecret } from '../src';
import type { UserDefinedApisOptions } from '../src/types';

const connection = mongoose.createConnection();
const valid: UserDefinedApisOptions = { connection, pepper: 'p'.repeat(32), authenticateAdmin: () => null };

afterAll(async () => {
  await connection.close();
});

describe('options', () => {
  it('builds with the three required options', () => {
    expect(() => createUserDefinedApis(valid)).not.toThrow();
  });

  it.each<[string, Partial<Record<keyof UserDefinedApisOptions, unknown>> & Record<string, unknown>, RegExp]>([
    ['no connection', { connection: undefined }, /`connection` must be a mongoose Connection/],
    ['a connection string', { connection: 'mongodb://localhost' }, /`connection` must be a mongoose Connection/],
    ['a short pepper', { pepper: 'short' }, /`pepper` must be a string of at least 32 characters/],
    ['a short Buffer pepper', { pepper: Buffer.alloc(16) }, /at least 32 bytes/],
    ['no authenticateAdmin', { authenticateAdmin: undefined }, /`authenticateAdmin` must be a function/],
    [
      'a logger without error',
      { logger: { info() {}, warn() {}, debug() {}, child() {} } },
      /`logger` must have debug, info, warn and error methods/,
    ],
    ['a logger that is a function', { logger: () => undefined }, /`logger` must be a logger object/],
    ['bcryptRounds 3', { bcryptRounds: 3 }, /`bcryptRounds` must be an integer from 4 to 15/],
    ['bcryptRounds 10.5', { bcryptRounds: 10.5 }, /`bcryptRounds`/],
    ['bcryptConcurrency 0', { bcryptConcurrency: 0 }, /`bcryptConcurrency`/],
    ['an empty instanceId', { instanceId: ' ' }, /`instanceId`/],
    ['a bad collection name', { collections: { tokens: 'a.b' } }, /`collections.tokens`/],
    [
      'an unknown collection',
      { collections: { token: 'x' } },
      /unknown option `collections.token`; did you mean `collections.tokens`\? `collections` takes tokens, definitions, events, changes, meta/,
    ],
    ['clashing collections', { collections: { tokens: 'x', definitions: 'x' } }, /seven different collections/],
    ['a typo in an option name', { bcryptRound: 10 }, /unknown option `bcryptRound`; did you mean `bcryptRounds`\?/],
    ['a name close to none', { colour: 'blue' }, /unknown option `colour`; known options: connection, pepper, /],
    [
      'a unit mixed up in a nested option',
      { failedAuthThrottle: { windowMs: 60_000 } },
      /unknown option `failedAuthThrottle.windowMs`; did you mean `failedAuthThrottle.windowSeconds`\? `failedAuthThrottle` takes limit, windowSeconds, ipv6Subnet/,
    ],
    ['a typo in a nested option', { failedAuthThrottle: { limt: 5 } }, /did you mean `failedAuthThrottle.limit`\?/],
    [
      'a typo in callLogLevels',
      { callLogLevels: { stat: false } },
      /unknown option `callLogLevels.stat`; did you mean `callLogLevels.start`\?/,
    ],
    ['a typo in requestId', { requestId: { headers: 'x-request-id' } }, /did you mean `requestId.header`\?/],
    [
      'a call log level that is no level',
      { callLogLevels: { end: 'verbose' } },
      /`callLogLevels.end` must be one of debug, info, warn, error or false/,
    ],
    ['callLogLevels as a string', { callLogLevels: 'debug' }, /`callLogLevels` must be an object/],
    [
      'a request id header with a space',
      { requestId: { header: 'x request id' } },
      /`requestId.header` must be a header name/,
    ],
    [
      'a response header that is not a name',
      { requestId: { responseHeader: 'X:Id' } },
      /`requestId.responseHeader` must be a header name/,
    ],
    ['fromRequest as a string', { requestId: { fromRequest: 'yes' } }, /`requestId.fromRequest` must be true/],
    ['requestId as true', { requestId: true }, /`requestId` must be an object/],
    [
      'passErrorsToHost true',
      { passErrorsToHost: true },
      /`passErrorsToHost` must be 'unexpected' \(500s only\), 'all' or false/,
    ],
    ['adminUi as a string', { adminUi: 'no' }, /`adminUi` must be true .* or false/],
    [
      'changeHints without a Redis client',
      { changeHints: { redis: {} } },
      /`changeHints.redis` must be a Redis client/,
    ],
    [
      'a changeHints channel with a space',
      { changeHints: { redis: { publish: () => Promise.resolve(), duplicate: () => ({}) }, channel: 'a b' } },
      /`changeHints.channel` must be 1-100 letters/,
    ],
    ['a typo in changeHints', { changeHints: { redis: {}, chanel: 'x' } }, /did you mean `changeHints.channel`\?/],
  ])('refuses %s with a message that says how to fix it', (_label, change, message) => {
    const build = () => createUserDefinedApis({ ...valid, ...change } as UserDefinedApisOptions);
    expect(build).toThrow(OptionsError);
    expect(build).toThrow(message);
  });

  it('does not modify the options object it is given', () => {
    const collections = { tokens: 'myTokens' };
    const options = { ...valid, collections };
    createUserDefinedApis(options);
    expect(Object.keys(options).sort()).toEqual(['authenticateAdmin', 'collections', 'connection', 'pepper']);
    expect(options.collections).toBe(collections);
    expect(collections).toEqual({ tokens: 'myTokens' });
    expect(options.pepper).toBe('p'.repeat(32));
  });
});

describe('generateSecret', () => {
  it('returns 44 base64 characters from 32 random bytes, different each time', () => {
    const secrets = new Set(Array.from({ length: 100 }, () => generateSecret()));
    expect(secrets.size).toBe(100);
    for (const secret of secrets) {
      expect(secret).toMatch(/^[A-Za-z0-9+/]{43}=$/);
      expect(Buffer.from(secret, 'base64')).toHaveLength(32);
    }
  });
});
