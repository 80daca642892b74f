#!/usr/bin/env node
// Test database launcher: builds (once, cached) and starts embedded FerretDB v1.24.2 on loopback, ready when a ping answers.
'use strict';

const { spawn, spawnSync } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const SOURCE_DIR = path.join(__dirname, '..', 'testdb');
const SOURCE_FILES = ['go.mod', 'go.sum', 'main.go', 'idindex.go'];
const READY_TIMEOUT_MS = 60_000;

/** Where the built binary lives: keyed by a hash of the Go sources, so a source change rebuilds and nothing else does. */
function binaryPath() {
  const hash = crypto.createHash('sha256');
  for (const file of SOURCE_FILES) hash.update(fs.readFileSync(path.join(SOURCE_DIR, file)));
  const cacheRoot = process.env.UDAPI_TESTDB_CACHE || path.join(os.homedir(), '.cache', 'udapi-testdb');
  return path.join(cacheRoot, hash.digest('hex').slice(0, 16), 'testdb');
}

function goVersion() {
  const result = spawnSync('go', ['env', 'GOVERSION'], { encoding: 'utf8' });
  if (result.error || result.status !== 0) return null;
  return result.stdout.trim();
}

/** Builds the launcher unless the cached binary for these sources exists. Returns the binary path. */
function ensureBuilt({ log = () => {} } = {}) {
  const bin = binaryPath();
  if (fs.existsSync(bin)) return bin;

  const version = goVersion();
  if (!version) {
    throw new Error(
      'The test database needs Go 1.24 or newer with access to the Go module proxy, and `go` was not found on PATH. ' +
        'Install Go (https://go.dev/dl/), or set MONGODB_URI to a running MongoDB to skip the embedded FerretDB.',
    );
  }
  const [major, minor] = version.replace(/^go/, '').split('.').map(Number);
  if (!(major > 1 || (major === 1 && minor >= 24))) {
    throw new Error(
      `The test database needs Go 1.24 or newer, found ${version}. Upgrade Go, or set MONGODB_URI to a running MongoDB.`,
    );
  }

  fs.mkdirSync(path.dirname(bin), { recursive: true });
  const partial = `${bin}.${process.pid}.partial`;
  log(`Building the test database (FerretDB v1.24.2, ${version}); the first build takes a few minutes...`);
  const result = spawnSync('go', ['build', '-trimpath', '-buildvcs=false', '-o', partial, '.'], {
    cwd: SOURCE_DIR,
    env: { ...process.env, CGO_ENABLED: '0', GOFLAGS: '-mod=readonly' },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  if (result.status !== 0) {
    fs.rmSync(partial, { force: true });
    throw new Error(`Building the test database failed (go build exited with ${result.status}); see the output above.`);
  }
  fs.renameSync(partial, bin); // atomic: a concurrent run sees either no binary or a whole one
  return bin;
}

/** Resolves once a driver ping succeeds; mongoose is a dev dependency of this repository. */
async function waitForPing(uri, child, deadline) {
  const mongoose = require('mongoose');
  let lastError;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`The test database exited early with code ${child.exitCode}`);
    const conn = mongoose.createConnection(uri, { serverSelectionTimeoutMS: 1000 });
    try {
      await conn.asPromise();
      await conn.db.admin().command({ ping: 1 });
      return;
    } catch (error) {
      lastError = error;
      await new Promise((resolve) => setTimeout(resolve, 200));
    } finally {
      await conn.close().catch(() => {});
    }
  }
  throw new Error(`The test database did not answer a ping in time: ${lastError && lastError.message}`);
}

/**
 * Starts the database. `port` 0 picks a free port. Without `dataDir`, data goes to a fresh temporary
 * directory that stop() removes. With `attached`, the database also exits when this process dies.
 */
async function startTestDb({ port = 0, dataDir, attached = true, log = () => {} } = {}) {
  const bin = ensureBuilt({ log });
  const temporary = !dataDir;
  const dir = dataDir || fs.mkdtempSync(path.join(os.tmpdir(), 'udapi-testdb-'));
  const args = ['--port', String(port), '--data-dir', path.join(dir, 'sqlite')];
  if (attached) args.push('--exit-on-stdin-eof');
  // Measuring FerretDB as it comes, without the index on its `_id` lookups' expression (testdb/idindex.go says why).
  if (process.env.UDAPI_TESTDB_ID_PATH_INDEX === '0') args.push('--id-path-index=false');
  const child = spawn(bin, args, { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, DO_NOT_TRACK: '1' } });

  let stderr = '';
  child.stderr.on('data', (chunk) => {
    stderr = (stderr + chunk).slice(-4000);
  });
  const uri = await new Promise((resolve, reject) => {
    let buffered = '';
    const onData = (chunk) => {
      buffered += chunk;
      const match = /LISTENING (\S+)/.exec(buffered);
      if (match) {
        child.stdout.off('data', onData);
        resolve(match[1]);
      }
    };
    child.stdout.on('data', onData);
    child.once('exit', (code) => reject(new Error(`The test database exited with code ${code}: ${stderr.trim()}`)));
    child.once('error', reject);
  });
  child.stdout.resume();
  await waitForPing(uri, child, Date.now() + READY_TIMEOUT_MS);

  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    }
    if (temporary) fs.rmSync(dir, { recursive: true, force: true });
  };
  return { uri, pid: child.pid, stop };
}

async function main() {
  if (process.argv.includes('--build-only')) {
    try {
      console.log(`Test database binary: ${ensureBuilt({ log: (line) => console.error(line) })}`);
      return;
    } catch (error) {
      console.error(error.message);
      process.exit(1);
    }
  }
  const port = Number(process.env.TESTDB_PORT || 27017);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    console.error(`TESTDB_PORT must be a port number, got '${process.env.TESTDB_PORT}'`);
    process.exit(2);
  }
  try {
    const db = await startTestDb({ port, attached: false, log: (line) => console.error(line) });
    console.log(`MONGODB_URI=${db.uri}`);
    const shutdown = () => {
      db.stop().then(() => process.exit(0));
    };
    process.on('SIGINT', shutdown);
    process.on('SIGTERM', shutdown);
  } catch (error) {
    console.error(error.message);
    process.exit(1);
  }
}

if (require.main === module) void main();

module.exports = { startTestDb, ensureBuilt };
