// What the command-line tests share: the built command, the environment it runs with, and the databases and apps
// a test file opens (closed together after the file).
import path from 'node:path';
import express from 'express';
import { createTestApp, TEST_PEPPER, type TestApp } from './app';
import { openTestDb, type TestDb } from './db';

/** The built `udapi` command. */
export const CLI = path.join(__dirname, '..', '..', 'dist', 'cli', 'udapi.js');

/** The command's environment: only PATH, the database when there is one, and the user named in audit fields. */
export function cliEnv(db: TestDb | null, env: Record<string, string> = {}): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '',
    ...(db && { MONGODB_URI: process.env.MONGODB_URI!, UDAPI_DB: db.name, UDAPI_PEPPER: TEST_PEPPER }),
    UDAPI_USER: 'ops',
    ...env,
  };
}

/** Databases and apps a test file opens; `close()` in its afterAll. */
export class CliFixtures {
  private readonly dbs: TestDb[] = [];
  private readonly apps: TestApp[] = [];

  async database(): Promise<TestDb> {
    const db = await openTestDb();
    this.dbs.push(db);
    return db;
  }

  /** An app on the database, to check what the command line did through the endpoint and the admin API. */
  async appOn(db: TestDb): Promise<express.Express> {
    const t = await createTestApp(db);
    this.apps.push(t);
    const app = express();
    app.use('/admin/udapi', t.udapi.adminRouter());
    app.use('/api/custom', t.udapi.endpoint());
    return app;
  }

  async close(): Promise<void> {
    for (const t of this.apps) await t.udapi.close();
    for (const db of this.dbs) await db.drop();
  }
}
