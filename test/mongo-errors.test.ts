// Which driver errors mean "the database is unreachable" (503) rather than "the operation failed" (500).
import { readdirSync, readFileSync, statSync } from 'node:fs';
import net from 'node:net';
import { once } from 'node:events';
import path from 'node:path';
import { MongoClient, MongoNetworkError, MongoServerClosedError, MongoServerError } from 'mongodb';
import { isUnavailableError } from '../src/database/mongo-errors';
import { errorSummary } from '../src/logging';
import { stallingProxy } from './helpers/stalling-proxy';

const UNAVAILABLE = [
  'MongoNetworkError',
  'MongoNetworkTimeoutError',
  'MongoServerSelectionError',
  'MongoNotConnectedError',
  'MongoTopologyClosedError',
  'MongoServerClosedError',
  'MongoClientClosedError',
  'MongoPoolClearedError',
  'PoolClearedOnNetworkError',
  'MongoPoolClosedError',
  'MongoWaitQueueTimeoutError',
];

/** Every error name the installed driver defines (its classes' `get name() { return '...' }`). */
function driverErrorNames(): Set<string> {
  const names = new Set<string>();
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir)) {
      const file = path.join(dir, entry);
      if (statSync(file).isDirectory()) walk(file);
      else if (file.endsWith('.js'))
        for (const match of readFileSync(file, 'utf8').matchAll(/return '(\w*Error)'/g)) names.add(match[1]!);
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

  // Node's core makes these, so under jest they come from another realm (instanceof Error is false here), as the
  // driver's unwrapped socket errors do: seen as a 500 with 'NonError' in the outage test before isError().
  it('treats a real socket error from Node itself as unavailable, and logs its name and code', async () => {
    const server = net.createServer((socket) => socket.resetAndDestroy());
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const client = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
    const [error] = (await once(client, 'error')) as [unknown];
    server.close();
    expect(error instanceof Error).toBe(false);
    expect(isUnavailableError(error)).toBe(true);
    expect(errorSummary(error)).toEqual({
      name: 'Error',
      message: expect.stringContaining('ECONNRESET'),
      code: 'ECONNRESET',
    });
  });

  it('does not take a socket-like code on a non-Error, or an unrelated error, for an outage', () => {
    expect(isUnavailableError({ name: 'Error', code: 'EPIPE', message: 'x' })).toBe(false);
    expect(isUnavailableError(Object.assign(new Error('x'), { code: 'ENOENT' }))).toBe(false);
    expect(isUnavailableError(Object.assign(new Error('x'), { code: 'EPIPE' }))).toBe(true);
  });
});

describe('errorSummary of a value that is not an Error', () => {
  it('names its type, never its content', () => {
    const secret = 'a'.repeat(44);
    expect(errorSummary(secret)).toEqual({
      name: 'NonError',
      message: 'A value that is not an Error was thrown (string)',
    });
    expect(errorSummary({ secret })).toEqual({
      name: 'NonError',
      message: 'A value that is not an Error was thrown (Object)',
    });
    expect(errorSummary(null).message).toContain('(null)');
    expect(errorSummary(Object.create(null)).message).toContain('(object)');
  });
});

describe('the driver passing a socket error through unwrapped', () => {
  // mongodb 7 waits for 'drain' when a command does not fit the socket's buffer and rethrows the socket's error as
  // it came: a plain Error with code ECONNRESET, not a MongoNetworkError. It must still read as an outage (503).
  it('is what a write that backs up and then loses its connection rejects with, and it counts as unavailable', async () => {
    const proxy = await stallingProxy();
    const client = new MongoClient(proxy.uri, { serverSelectionTimeoutMS: 5000, maxPoolSize: 1 });
    try {
      const collection = client.db(`udapi_drain_${process.pid}`).collection('drain');
      await collection.findOne({});
      proxy.stall();
      const write = collection.insertOne({ blob: 'x'.repeat(12 * 1024 * 1024) }).then(
        () => null,
        (error: unknown) => error,
      );
      // The 12 MB write returned false at once (over the socket's high-water mark), so the driver waits for 'drain'
      // until its connection is reset.
      let error: unknown = null;
      void write.then((settled) => (error = settled));
      while (error === null) {
        await new Promise((resolve) => setTimeout(resolve, 50));
        proxy.resetStalled();
      }
      expect(error instanceof MongoNetworkError).toBe(false);
      expect(errorSummary(error)).toEqual({
        name: 'Error',
        message: expect.stringContaining('ECONNRESET'),
        code: 'ECONNRESET',
      });
      expect(isUnavailableError(error)).toBe(true);
    } finally {
      proxy.close();
      await client.close(true).catch(() => undefined);
    }
  });
});
