// `npm run testdb`: foreground start with the MONGODB_URI line, a clean stop, and a clear message without Go.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import mongoose from 'mongoose';

const script = path.join(__dirname, '..', 'scripts', 'testdb.cjs');

describe('test database launcher', () => {
  it('prints the MONGODB_URI line once the database answers, and stops on SIGTERM', async () => {
    const child = spawn(process.execPath, [script], {
      env: { ...process.env, TESTDB_PORT: '0' },
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
    // Ready means a ping already succeeded: this connection must work at once.
    const connection = await mongoose
      .createConnection(uri, { dbName: 'launcher_check', serverSelectionTimeoutMS: 2000 })
      .asPromise();
    const ping: unknown = await connection.db!.admin().command({ ping: 1 });
    expect(ping).toMatchObject({ ok: 1 });
    await connection.close();
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
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
});
