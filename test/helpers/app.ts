// Builds a host Express app with the plugin mounted, header-selected admin users, and captured logs and events.
import express, { type Express } from 'express';
import { createUserDefinedApis, type UserDefinedApis } from '../../src';
import { ALL_PERMISSIONS, type Permission } from '../../src/permissions';
import type { ChangeEvent, UserDefinedApisOptions } from '../../src/types';
import { captureLogger, type LogLine } from './capture';
import { registerLeakSource } from './leak-registry';
import { openTestDb, type TestDb } from './db';
import { observeAdmin } from './admin-conformance';

export const TEST_PEPPER = 'test-pepper-0123456789-abcdefghijklmnopqrstuvwxyz';

export interface TestApp {
  app: Express;
  udapi: UserDefinedApis;
  logs: LogLine[];
  events: ChangeEvent[];
}

/** Actions every test app registers, so that definitions have something to point at. */
export function registerTestActions(udapi: UserDefinedApis): void {
  udapi.registerHandler('test.echo', (input) => ({
    responseCode: 200,
    responseBody: { route: input.route, body: input.rawBody },
  }));
  udapi.registerHandler('test.other', () => ({ responseCode: 204 }));
  udapi.registerProcedure('test.restart', { parameters: ['encoderId'] }, () => undefined);
}

/**
 * A plugin on the test database with the test actions, captured logs and events, and an app with the admin router.
 * Admin users come from the `x-test-user` header (name) and `x-test-permissions` header (comma-separated;
 * `*` = all). No `x-test-user` header → no admin user (401).
 */
export async function createTestApp(db: TestDb, overrides: Partial<UserDefinedApisOptions> = {}): Promise<TestApp> {
  const logger = captureLogger();
  const udapi = createUserDefinedApis({
    connection: db.connection,
    pepper: TEST_PEPPER,
    logger,
    bcryptRounds: 4,
    instanceId: 'test-node',
    // A 2 s ping timeout outside the outage tests (which set the default 250 ms, a 500 ms timeout, themselves): on
    // the 2-core machine running the suite with more workers than cores, a FerretDB ping once took over 500 ms, the
    // health check logged 'Database unreachable' at error level and the hostile-input suite failed on that line.
    healthCheckIntervalMs: 1000,
    authenticateAdmin: (req) => {
      const name = req.header('x-test-user');
      if (!name) return null;
      const header = req.header('x-test-permissions') ?? '*';
      const permissions: Permission[] | string[] =
        header === '*' ? [...ALL_PERMISSIONS] : header.split(',').filter(Boolean);
      return { name, permissions };
    },
    ...overrides,
  });
  registerTestActions(udapi);
  const events: ChangeEvent[] = [];
  registerLeakSource('manager or endpoint log', () => logger.lines);
  registerLeakSource('change event', () => events);
  udapi.on('change', (event) => events.push(event));
  await udapi.ready();
  const app = express();
  // Every answer is checked against the admin OpenAPI document at the end of the file (test/setup).
  app.use('/admin/udapi', observeAdmin(), udapi.adminRouter());
  return { app, udapi, logs: logger.lines, events };
}

export const ADMIN = { 'x-test-user': 'alice', 'x-test-permissions': '*' } as const;

export function userWith(...permissions: string[]): Record<string, string> {
  return { 'x-test-user': 'bob', 'x-test-permissions': permissions.join(',') || ',' };
}

/** A test database with an app that mounts the admin router and the endpoint, for files that need both. */
export interface TestHost {
  db: TestDb;
  t: TestApp;
  app: Express;
  close(): Promise<void>;
}

export async function openTestHost(overrides: Partial<UserDefinedApisOptions> = {}): Promise<TestHost> {
  const db = await openTestDb();
  const t = await createTestApp(db, overrides);
  const app = express();
  app.use('/admin/udapi', observeAdmin(), t.udapi.adminRouter());
  app.use('/api/custom', t.udapi.endpoint());
  return {
    db,
    t,
    app,
    close: async () => {
      await t.udapi.close();
      await db.drop();
    },
  };
}
