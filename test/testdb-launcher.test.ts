// `npm run testdb`: foreground start with the MONGODB_URI line, a clean stop, a clear message without Go, and its `_id` index.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import mongoose from 'mongoose';

const script = path.join(__dirname, '..', 'scripts', 'testdb.cjs');

/** Starts `npm run testdb` on a free port with these extra environment variables; resolves with its URI and the child. */
async function startLauncher(env: Record<string, string> = {}): Promise<{ uri: string; child: ChildProcess }> {
  const child = spawn(process.execPath, [script], {
    env: { ...process.env, TESTDB_PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  const uri = await new Promise<string>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      const match = /^MONGODB_URI=(mongodb:\/\/127\.0\.0\.1:\d+\/)$/m.exec(stdout);
      if (match) resolve(match[1]!);
    });
    child.once('exit', (code) => reject(new Error(`launcher exited with ${code}`)));
  });
  return { uri, child };
}

async function stopLauncher(child: ChildProcess): Promise<number | null> {
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  return exited;
}

/**
 * SQLite's plan for a find by `_id`, as FerretDB's explain reports it (one line per step): asked until it matches
 * `awaited` (the launcher looks for new collections four times a second) or for 1.5 s when nothing is awaited.
 */
async function planOfFindById(uri: string, dbName: string, awaited?: RegExp): Promise<string> {
  const connection = await mongoose.createConnection(uri, { dbName, serverSelectionTimeoutMS: 2000 }).asPromise();
  try {
    const things = connection.db!.collection<{ _id: string; n: number }>('things');
    await things.insertOne({ _id: 'a', n: 1 });
    const deadline = Date.now() + (awaited ? 10_000 : 1500);
    let plan = '';
    do {
      await new Promise((resolve) => setTimeout(resolve, 250));
      // A query first: SQLite's EXPLAIN does not check that the connection's schema is current, a query does.
      expect(await things.findOne({ _id: 'a' })).toEqual({ _id: 'a', n: 1 });
      const explained = (await things.find({ _id: 'a' }).explain()) as { queryPlanner?: { Plan?: string[] } };
      plan = (explained.queryPlanner?.Plan ?? []).join('\n');
    } while (Date.now() < deadline && !awaited?.test(plan));
    // The index is the launcher's own: clients see the collection's indexes as before.
    expect((await things.indexes()).map((index) => index.name)).toEqual(['_id_']);
    return plan;
  } finally {
    await connection.close();
  }
}

describe('test database launcher', () => {
  it('prints the MONGODB_URI line once the database answers, and stops on SIGTERM', async () => {
    const { uri, child } = await startLauncher();
    // Ready means a ping already succeeded: this connection must work at once.
    const connection = await mongoose
      .createConnection(uri, { dbName: 'launcher_check', serverSelectionTimeoutMS: 2000 })
      .asPromise();
    const ping: unknown = await connection.db!.admin().command({ ping: 1 });
    expect(ping).toMatchObject({ ok: 1 });
    await connection.close();
    expect(await stopLauncher(child)).toBe(0);
  });

  it('says what is missing when Go is not installed and nothing is cached', () => {
    const emptyCache = mkdtempSync(path.join(os.tmpdir(), 'udapi-nocache-'));
    try {
      const result = spawnSync(process.execPath, [script], {
        env: { PATH: path.dirname(process.execPath), UDAPI_TESTDB_CACHE: emptyCache, TESTDB_PORT: '0' },
        encoding: 'utf8',
      });
      expect(result.status).toBe(1);
      expect(result.stderr).toContain('needs Go 1.24 or newer');
      expect(result.stderr).toContain('set MONGODB_URI');
    } finally {
      rmSync(emptyCache, { recursive: true, force: true });
    }
  });

  it('refuses a TESTDB_PORT that is not a port', () => {
    const result = spawnSync(process.execPath, [script], {
      env: { ...process.env, TESTDB_PORT: 'abc' },
      encoding: 'utf8',
    });
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('TESTDB_PORT must be a port number');
  });

  // FerretDB's own `_id_` index is on another expression than its `_id` lookups query (testdb/idindex.go).
  it('answers a find by _id from an index on the expression FerretDB queries, and scans without it when told to', async () => {
    const indexed = await startLauncher();
    try {
      const usesIndex = /SEARCH .* USING INDEX \S+_udapi_id_path/;
      expect(await planOfFindById(indexed.uri, 'launcher_index', usesIndex)).toMatch(usesIndex);
    } finally {
      expect(await stopLauncher(indexed.child)).toBe(0);
    }
    const plain = await startLauncher({ UDAPI_TESTDB_ID_PATH_INDEX: '0' });
    try {
      const plan = await planOfFindById(plain.uri, 'launcher_index');
      expect(plan).toMatch(/SCAN/);
      expect(plan).not.toMatch(/USING INDEX/);
    } finally {
      expect(await stopLauncher(plain.child)).toBe(0);
    }
  });
});
