// A wrong pepper is refused: the store's pepper check is recorded at the first ready(), compared at every later one
// (plugin and udapi command), and two instances starting together on a new store cannot record two different ones.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import express from 'express';
import mongoose from 'mongoose';
import request from 'supertest';
import { ALL_PERMISSIONS, createUserDefinedApis, PepperMismatchError, type UserDefinedApis } from '../src';
import { pepperCheckOf } from '../src/services/backup';
import { ADMIN, createTestApp, TEST_PEPPER } from './helpers/app';
import { captureLogger } from './helpers/capture';
import { CLI, cliEnv } from './helpers/cli';
import { openTestDb, type TestDb } from './helpers/db';
import { ensureBuilt, startInstance, type Instance } from './helpers/instances';

const OTHER_PEPPER = 'another-pepper-0123456789-abcdefghijklmnopqrstuvwxyz';
const dbs: TestDb[] = [];
const plugins: UserDefinedApis[] = [];

afterAll(async () => {
  for (const udapi of plugins) await udapi.close();
  for (const db of dbs) await db.drop();
});

async function database(): Promise<TestDb> {
  const db = await openTestDb();
  dbs.push(db);
  return db;
}

/** A plugin on the database (not started), with an app that mounts both routers. */
function plugin(db: TestDb, pepper: string) {
  const logger = captureLogger();
  const udapi = createUserDefinedApis({
    connection: db.connection,
    pepper,
    logger,
    bcryptRounds: 4,
    authenticateAdmin: (req) => (req.get('x-test-user') ? { name: 'alice', permissions: ALL_PERMISSIONS } : null),
  });
  plugins.push(udapi);
  const app = express();
  app.use('/api/custom', udapi.endpoint());
  app.use('/admin/udapi', udapi.adminRouter());
  return { udapi, app, logs: logger.lines };
}

const checkDocs = (db: TestDb) => db.connection.collection('udapiMeta').find({}).toArray();

describe('the pepper check', () => {
  it('is recorded by the first ready(), passes the same pepper and refuses another, which creates no token', async () => {
    const db = await database();
    const first = await createTestApp(db);
    plugins.push(first.udapi);
    const [stored, ...more] = await checkDocs(db);
    expect(more).toEqual([]);
    expect(stored).toEqual({
      _id: 'pepperCheck',
      algorithm: 'scrypt',
      N: 16384,
      r: 8,
      p: 1,
      salt: expect.stringMatching(/^[A-Za-z0-9+/]{22}==$/),
      value: expect.stringMatching(/^[A-Za-z0-9+/]{43}=$/),
      recordedBy: 'test-node',
      recordedAt: expect.any(Date),
    });
    // Neither the pepper nor the backup's fast check (an HMAC anyone could test guesses against) is stored.
    const text = JSON.stringify(stored);
    expect(text).not.toContain(TEST_PEPPER);
    expect(text).not.toContain(pepperCheckOf(Buffer.from(TEST_PEPPER)));
    expect(first.logs).toContainEqual(
      expect.objectContaining({ level: 'info', msg: 'Recorded the pepper check of a new store' }),
    );

    const same = plugin(db, TEST_PEPPER);
    await same.udapi.ready();
    expect(await checkDocs(db)).toEqual([stored]);

    const wrong = plugin(db, OTHER_PEPPER);
    const refusal = await wrong.udapi.ready().catch((error: unknown) => error);
    expect(refusal).toBeInstanceOf(PepperMismatchError);
    expect(refusal).toMatchObject({ name: 'PepperMismatchError', code: 'PepperMismatch', collection: 'udapiMeta' });
    const { message } = refusal as Error;
    for (const fix of ['collection udapiMeta', '"pepperCheck"', 'same pepper as the other instances', 'UDAPI_PEPPER'])
      expect(message).toContain(fix);
    expect(message).toContain('"Rotating the pepper" in SECURITY.md');
    expect(message).not.toContain(OTHER_PEPPER);
    // Asked again, it looks again, and still refuses; the stored check is untouched.
    await expect(wrong.udapi.ready()).rejects.toBeInstanceOf(PepperMismatchError);
    expect(await checkDocs(db)).toEqual([stored]);

    // A host that serves anyway: the endpoint is not ready (503, code 7), and no secret is digested under the pepper.
    const call = await request(wrong.app)
      .get('/api/custom/x')
      .set('Authorization', `Bearer ${'a'.repeat(44)}`);
    expect(call.status).toBe(503);
    expect(call.body.errors[0].errorCode).toBe(7);
    const create = await request(wrong.app).post('/admin/udapi/tokens').set('x-test-user', 'alice').send({ name: 'x' });
    expect(create.status).toBe(503);
    expect(create.body.errors).toEqual([
      expect.objectContaining({ reason: 'ServiceUnavailable', message: expect.stringContaining('pepper') }),
    ]);
    expect(wrong.logs).toContainEqual(
      expect.objectContaining({ level: 'error', msg: expect.stringContaining('The pepper is not the one') }),
    );
    expect(await db.connection.collection('udapiApiTokens').countDocuments()).toBe(0);
  }, 60_000); // five ready() on a loaded machine: one full run with a load average of 40 on 2 cores took over 30 s

  it('of an upgraded store (tokens, no check) is recorded at the first ready(), with a warning', async () => {
    const db = await database();
    const before = await createTestApp(db);
    plugins.push(before.udapi);
    const token = await request(before.app).post('/admin/udapi/tokens').set(ADMIN).send({ name: 'old' });
    expect(token.status).toBe(201);
    await db.connection.collection('udapiMeta').drop(); // as a store from before the check

    const upgraded = plugin(db, TEST_PEPPER);
    await upgraded.udapi.ready();
    expect(upgraded.logs).toContainEqual(
      expect.objectContaining({
        level: 'warn',
        msg: expect.stringContaining('Recorded the pepper check for a store that already holds tokens'),
      }),
    );
    expect(await checkDocs(db)).toHaveLength(1);
    await expect(plugin(db, OTHER_PEPPER).udapi.ready()).rejects.toBeInstanceOf(PepperMismatchError);
  });

  it('after a deliberate change (the document deleted, as SECURITY.md says), the new pepper is recorded', async () => {
    const db = await database();
    await plugin(db, TEST_PEPPER).udapi.ready();
    const rotated = plugin(db, OTHER_PEPPER);
    await expect(rotated.udapi.ready()).rejects.toBeInstanceOf(PepperMismatchError);
    await db.connection.collection('udapiMeta').deleteOne({ _id: 'pepperCheck' as never });
    await rotated.udapi.ready();
    await expect(plugin(db, TEST_PEPPER).udapi.ready()).rejects.toBeInstanceOf(PepperMismatchError);
  });

  it('is recorded once when instances start together: in one process and as separate processes', async () => {
    const db = await database();
    const together = [plugin(db, TEST_PEPPER), plugin(db, TEST_PEPPER), plugin(db, TEST_PEPPER)];
    await Promise.all(together.map(({ udapi }) => udapi.ready()));
    expect(await checkDocs(db)).toHaveLength(1);

    ensureBuilt();
    const uri = process.env.MONGODB_URI!;
    const start = (dbName: string, pepper: string) =>
      startInstance({ MONGODB_URI: uri, DB_NAME: dbName, PEPPER: pepper, INSTANCE_ID: pepper.slice(0, 7) });
    const started: Instance[] = [];
    const names = [1, 2].map(() => `udapi_pepper_${randomBytes(4).toString('hex')}`);
    try {
      // All four at once: two with the same pepper (both start, on one check), and two with different peppers on
      // another new store (exactly one starts, whichever recorded first; the other refuses).
      const results = await Promise.allSettled([
        start(names[0]!, TEST_PEPPER),
        start(names[0]!, TEST_PEPPER),
        start(names[1]!, TEST_PEPPER),
        start(names[1]!, OTHER_PEPPER),
      ]);
      for (const result of results) if (result.status === 'fulfilled') started.push(result.value);
      const [same, different] = [results.slice(0, 2), results.slice(2)];
      // A refusal shows its output, so that a failure says why.
      const outcome = (result: PromiseSettledResult<Instance>) =>
        result.status === 'fulfilled' ? 'started' : String(result.reason).slice(0, 2000);
      expect(same.map(outcome)).toEqual(['started', 'started']);
      const refused = different.filter((result) => result.status === 'rejected');
      expect(refused).toHaveLength(1);
      expect(String((refused[0] as PromiseRejectedResult).reason)).toContain('PepperMismatchError');
    } finally {
      for (const instance of started) await instance.stop();
      for (const name of names) {
        const connection = await mongoose.createConnection(uri, { dbName: name }).asPromise();
        expect(await connection.collection('udapiMeta').countDocuments()).toBe(1);
        await connection.dropDatabase();
        await connection.close();
      }
    }
  }, 90_000);

  it('makes the udapi command refuse a wrong UDAPI_PEPPER (exit 2, the fix printed), and accept the right one', async () => {
    ensureBuilt();
    const db = await database();
    await plugin(db, TEST_PEPPER).udapi.ready();
    const run = (pepper: string) =>
      spawnSync(process.execPath, [CLI, 'tokens', 'create', '--name', 'cli', '--json'], {
        env: cliEnv(db, { UDAPI_PEPPER: pepper }),
        encoding: 'utf8',
        timeout: 60_000,
      });
    const wrong = run(OTHER_PEPPER);
    expect({ code: wrong.status, stdout: wrong.stdout }).toEqual({ code: 2, stdout: '' });
    expect(wrong.stderr).toContain('The pepper is not the one this database');
    expect(wrong.stderr).toContain('UDAPI_PEPPER');
    expect(wrong.stderr).not.toContain(OTHER_PEPPER);
    expect(await db.connection.collection('udapiApiTokens').countDocuments()).toBe(0);

    const right = run(TEST_PEPPER);
    expect(right.status).toBe(0);
    expect(JSON.parse(right.stdout)).toMatchObject({ name: 'cli' });
    expect(await db.connection.collection('udapiApiTokens').countDocuments()).toBe(1);
  }, 60_000);
});
