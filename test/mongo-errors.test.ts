// Which driver errors mean "the database is unreachable" (503) rather than "the operation failed" (500).
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { MongoNetworkError, MongoServerClosedError, MongoServerError } from 'mongodb';
import { isUnavailableError } from '../src/services/mongo-errors';

const UNAVAILABLE = [
  'MongoNetworkError', 'MongoNetworkTimeoutError', 'MongoServerSelectionError', 'MongoNotConnectedError', 'MongoTopologyClosedError',
  'MongoServerClosedError', 'MongoClientClosedError', 'MongoPoolClearedError', 'PoolClearedOnNetworkError', 'MongoPoolClosedError',
  'MongoWaitQueueTimeoutError',
];

/** Every error name the installed driver defines (its classes' `get name() { return '...' }`). */
function driverErrorNames(): Set<string> {
  const names = new Set<string>();
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir)) {
      const file = path.join(dir, entry);
      if (statSync(file).isDirectory()) walk(file);
      else if (file.endsWith('.js')) for (const match of readFileSync(file, 'utf8').matchAll(/return '(\w*Error)'/g)) names.add(match[1]!);
    }
  };
  walk(path.join(path.dirname(require.resolve('mongodb')), '..', 'lib'));
  return names;
}

describe('isUnavailableError', () => {
  it('knows the names the installed driver really uses', () => {
    const names = driverErrorNames();
    expect(UNAVAILABLE.filter((name) => !names.has(name))).toEqual([]);
  });

  it.each(UNAVAILABLE)('treats %s as unavailable', (name) => {
    expect(isUnavailableError(Object.assign(new Error('x'), { name }))).toBe(true);
  });

  it('classifies real driver errors: network and closed server yes, a server refusal no', () => {
    expect(isUnavailableError(new MongoNetworkError('connection 1 closed'))).toBe(true);
    expect(isUnavailableError(new MongoServerClosedError())).toBe(true);
    expect(isUnavailableError(new MongoServerError({ message: 'E11000 duplicate key', code: 11000 }))).toBe(false);
    expect(isUnavailableError('not an error')).toBe(false);
  });
});
