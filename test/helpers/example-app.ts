// Runs the example app as a real process on its own database, for the tests that drive it over HTTP or in a browser.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import mongoose from 'mongoose';
import { registerLeakSource } from './leak-registry';

const root = path.join(__dirname, '..', '..');

export interface ExampleApp {
  baseUrl: string;
  /** Everything the process printed so far (its logs). */
  output(): string;
  /** Stops the process and drops its database. */
  stop(): Promise<void>;
}

/** `env` adds to (or overrides) the process's environment; HOST is never inherited, so the default bind is tested. */
export async function startExampleApp(dbName: string, env: Record<string, string> = {}): Promise<ExampleApp> {
  // The example imports the package by name, which resolves to the build.
  if (!existsSync(path.join(root, 'dist', 'index.mjs')) || !existsSync(path.join(root, 'dist', 'ui', 'index.html'))) {
    const build = spawnSync(process.execPath, [path.join(root, 'scripts', 'build.mjs')], { stdio: 'inherit' });
    if (build.status !== 0) throw new Error('npm run build failed');
  }
  const inherited = { ...process.env };
  delete inherited.HOST;
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'udapi-example-'));
  let output = '';
  const child: ChildProcess = spawn(process.execPath, [path.join(root, 'example-app', 'server.mjs')], {
    env: {
      ...inherited,
      PORT: '0',
      MONGODB_DB: dbName,
      EXAMPLE_DATA_DIR: dataDir,
      UDAPI_PEPPER: 'example-test-pepper-0123456789abcdef',
      UDAPI_LAST_USED_INTERVAL_MS: '200',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const stop = async (): Promise<void> => {
    if (child.exitCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
    rmSync(dataDir, { recursive: true, force: true });
    const connection = await mongoose.createConnection(process.env.MONGODB_URI!, { dbName }).asPromise();
    await connection.dropDatabase();
    await connection.close();
  };
  try {
    const baseUrl = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`example app did not start:\n${output}`)), 20_000);
      child.stdout!.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        // The address it bound: 127.0.0.1 unless HOST says otherwise (an IPv6 one in brackets).
        const match = /listening on (http:\/\/[^\s"]+:\d+)/.exec(output);
        if (match) {
          clearTimeout(timer);
          resolve(match[1]!);
        }
      });
      child.stderr!.on('data', (chunk: Buffer) => {
        output += chunk.toString();
      });
      child.once('exit', (code) => reject(new Error(`example app exited with ${code}:\n${output}`)));
    });
    registerLeakSource('example app output', () => [output]);
    return { baseUrl, output: () => output, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
