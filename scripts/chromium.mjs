#!/usr/bin/env node
// Browser for the admin UI tests: unpacks the Chromium build shipped in the npm package @sparticuz/chromium (once, cached) and prints its path.
//
// The package unpacks into os.tmpdir() and reuses whatever `chromium` file it finds there, so two runs unpacking at
// once could hand each other a half-written binary. It is unpacked here into a fresh directory of its own (TMPDIR
// pointed there) and renamed into a cache directory keyed by the package version: a run sees a whole browser or none.
import { createRequire } from 'node:module';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const PACKAGE = '@sparticuz/chromium';

function packageVersion() {
  // The package exports no ./package.json; its entry is <package>/build/index.js.
  const entry = createRequire(import.meta.url).resolve(PACKAGE);
  return JSON.parse(readFileSync(path.join(path.dirname(entry), '..', 'package.json'), 'utf8')).version;
}

/** Unpacks the browser into `dir` in a child process whose os.tmpdir() is that directory. */
function unpackInto(dir) {
  const script = `import('${PACKAGE}').then(async ({ default: chromium }) => { process.stdout.write(await chromium.executablePath()); })`;
  const result = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
    cwd: path.dirname(fileURLToPath(import.meta.url)),
    env: { ...process.env, TMPDIR: dir },
    encoding: 'utf8',
  });
  if (result.status !== 0)
    throw new Error(`Unpacking ${PACKAGE} failed: ${result.stderr.trim() || `exit ${result.status}`}`);
  return result.stdout.trim();
}

/** The path of a runnable Chromium: CHROMIUM_PATH when set (e.g. Debian's /usr/bin/chromium), else the npm package's. */
export function chromiumPath() {
  if (process.env.CHROMIUM_PATH) return process.env.CHROMIUM_PATH;
  const cacheRoot = process.env.UDAPI_CHROMIUM_CACHE || path.join(os.homedir(), '.cache', 'udapi-chromium');
  const home = path.join(cacheRoot, packageVersion());
  const binary = path.join(home, 'chromium');
  if (existsSync(path.join(home, '.complete'))) return binary;
  mkdirSync(cacheRoot, { recursive: true });
  const staging = mkdtempSync(path.join(cacheRoot, 'unpacking-'));
  try {
    const unpacked = unpackInto(staging);
    if (unpacked !== path.join(staging, 'chromium'))
      throw new Error(`${PACKAGE} unpacked to ${unpacked}, expected ${staging}/chromium`);
    writeFileSync(path.join(staging, '.complete'), '');
    try {
      renameSync(staging, home); // atomic; fails if another run got there first, whose copy is then used
    } catch (error) {
      if (!existsSync(path.join(home, '.complete'))) throw error;
    }
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
  return binary;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) process.stdout.write(`${chromiumPath()}\n`);
