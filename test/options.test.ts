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
    ['a logger without child', { logger: { info() {}, warn() {}, error() {}, debug() {} } }, /pino-compatible/],
    ['bcryptRounds 3', { bcryptRounds: 3 }, /`bcryptRounds` must be an integer from 4 to 15/],
    ['bcryptRounds 10.5', { bcryptRounds: 10.5 }, /`bcryptRounds`/],
    ['bcryptConcurrency 0', { bcryptConcurrency: 0 }, /`bcryptConcurrency`/],
    ['an empty instanceId', { instanceId: ' ' }, /`instanceId`/],
    ['a bad collection name', { collections: { tokens: 'a.b' } }, /`collections.tokens`/],
    ['an unknown collection', { collections: { token: 'x' } }, /unknown collection `collections.token`/],
    ['clashing collections', { collections: { tokens: 'x', definitions: 'x' } }, /four different collections/],
    ['a typo in an option name', { bcryptRound: 10 }, /unknown option `bcryptRound`/],
    ['adminUi as a string', { adminUi: 'no' }, /`adminUi` must be true .* or false/],
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
