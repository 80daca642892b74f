// The `udapi` command line, run as a real process on the built package: tokens, definitions, export and import.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type express from 'express';
import request from 'supertest';
import { ADMIN } from './helpers/app';
import { CLI, cliEnv, CliFixtures } from './helpers/cli';
import type { TestDb } from './helpers/db';
import { ensureBuilt } from './helpers/instances';

const fixtures = new CliFixtures();
let workDir: string;

beforeAll(() => {
  ensureBuilt();
  workDir = mkdtempSync(path.join(os.tmpdir(), 'udapi-cli-'));
});

afterAll(async () => {
  await fixtures.close();
  rmSync(workDir, { recursive: true, force: true });
});

function udapi(db: TestDb | null, args: string[], env: Record<string, string> = {}, input?: string) {
  const result = spawnSync(process.execPath, [CLI, ...args], {
    env: cliEnv(db, env),
    encoding: 'utf8',
    timeout: 60_000,
    ...(input !== undefined && { input }),
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

const database = (): Promise<TestDb> => fixtures.database();
const appOn = (db: TestDb): Promise<express.Express> => fixtures.appOn(db);

describe('udapi command line', () => {
  it('creates, lists, disables, enables, rotates and deletes tokens, with tables or --json', async () => {
    const db = await database();
    const created = udapi(db, ['tokens', 'create', '--name', 'partner', '--rate-limit', '10/60', '--json']);
    expect(created.code).toBe(0);
    const token = JSON.parse(created.stdout);
    expect(token).toMatchObject({ name: 'partner', rateLimit: { limit: 10, windowSeconds: 60 }, createdBy: 'ops' });
    expect(token.secret).toMatch(/^[A-Za-z0-9+/]{43}=$/);

    const app = await appOn(db);
    const definition = await request(app)
      .post('/admin/udapi/definitions')
      .set(ADMIN)
      .send({ route: 'cli/check', actionMeta: { name: 'test.echo' }, securitySettings: { allowedTokens: [token.id] } });
    expect(definition.status).toBe(201);
    const call = (secret: string) => request(app).get('/api/custom/cli/check').set('Authorization', `Bearer ${secret}`);
    expect((await call(token.secret)).status).toBe(200);

    const listed = udapi(db, ['tokens', 'list']);
    expect(listed.code).toBe(0);
    expect(listed.stdout).toMatch(/^id\s+name\s+start\s+state\s+scopes\s+rate limit\s+expires\s+last used\n-+/);
    expect(listed.stdout).toContain(`${token.id}  partner  ${token.secret.slice(0, 6)}  enabled  -       10/60s`);
    expect(listed.stdout).not.toContain(token.secret);

    expect(udapi(db, ['tokens', 'disable', token.id]).stdout).toContain('is disabled');
    expect(
      JSON.parse(udapi(db, ['tokens', 'list', '--disabled', '--json']).stdout).map((t: { id: string }) => t.id),
    ).toEqual([token.id]);
    const refused = await (async () => {
      const deadline = Date.now() + 2000;
      let status = 0;
      while (Date.now() < deadline && (status = (await call(token.secret)).status) !== 401)
        await new Promise((resolve) => setTimeout(resolve, 50));
      return status;
    })();
    expect(refused).toBe(401);
    expect(udapi(db, ['tokens', 'enable', token.id]).code).toBe(0);

    const rotated = udapi(db, [
      'tokens',
      'rotate',
      token.id,
      '--grace-until',
      new Date(Date.now() + 3_600_000).toISOString(),
    ]);
    expect(rotated.code).toBe(0);
    expect(rotated.stdout).toContain('The previous secret works until');
    const newSecret = rotated.stdout.trim().split('\n').pop()!;
    expect(newSecret).toMatch(/^[A-Za-z0-9+/]{43}=$/);
    const deadline = Date.now() + 2000;
    while (Date.now() < deadline && (await call(newSecret)).status !== 200)
      await new Promise((resolve) => setTimeout(resolve, 50));
    expect((await call(newSecret)).status).toBe(200);
    expect((await call(token.secret)).status).toBe(200);

    const inUse = udapi(db, ['tokens', 'delete', token.id]);
    expect([inUse.code, inUse.stderr]).toEqual([1, expect.stringContaining('TokenInUse')]);
    expect((await request(app).delete(`/admin/udapi/definitions/${definition.body.id}`).set(ADMIN)).status).toBe(204);
    expect(udapi(db, ['tokens', 'delete', token.id]).code).toBe(0);
    expect(udapi(db, ['tokens', 'list']).stdout.trim()).toBe('(none)');
  }, 120_000);

  it('exports to a file and imports it into an empty database, where every secret works', async () => {
    const source = await database();
    const app = await appOn(source);
    const token = await request(app).post('/admin/udapi/tokens').set(ADMIN).send({ name: 'exported' });
    await request(app)
      .post('/admin/udapi/definitions')
      .set(ADMIN)
      .send({
        route: 'cli/exported',
        actionMeta: { name: 'test.echo' },
        securitySettings: { allowedTokens: [token.body.id] },
      });
    const file = path.join(workDir, 'backup.json');
    const exported = udapi(source, ['export', '--out', file]);
    expect(exported.code).toBe(0);
    expect(exported.stderr).toContain('keep it as safe as the database');
    const backup = readFileSync(file, 'utf8');
    expect(backup).not.toContain(token.body.secret);
    expect(JSON.parse(backup).tokens).toHaveLength(1);
    expect(JSON.parse(udapi(source, ['definitions', 'list', '--json']).stdout)).toHaveLength(1);

    const target = await database();
    const imported = udapi(target, ['import', file]);
    expect([imported.code, imported.stdout.trim()]).toEqual([0, 'Imported 1 token(s) and 1 definition(s).']);
    const restored = await appOn(target);
    expect(
      (await request(restored).get('/api/custom/cli/exported').set('Authorization', `Bearer ${token.body.secret}`))
        .status,
    ).toBe(200);
    // Standard input works too, and a second import of the same backup is refused as a whole.
    const again = udapi(target, ['import', '-'], {}, backup);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/^IdInUse \(tokens\[0\]\) /m);
  }, 120_000);

  it('prints stored text escaped, so names, routes and users written straight to the database cannot forge lines', async () => {
    const db = await database();
    const app = await appOn(db);
    const token = await request(app).post('/admin/udapi/tokens').set(ADMIN).send({ name: 'plain' });
    const definition = await request(app)
      .post('/admin/udapi/definitions')
      .set(ADMIN)
      .send({
        route: 'cli/plain',
        name: 'plain',
        actionMeta: { name: 'test.echo' },
        securitySettings: { allowedTokens: [token.body.id] },
      });
    expect(definition.status).toBe(201);
    // What the admin API now refuses, stored anyway (data from before the rule, or written by another tool).
    const forgedName =
      'ok\n0000  forged  enabled\r\u001b[2K\u001b[31mred\u007f\u0085\u009b1m\u2028\u202eexe.txt\u2066\u200f\u0000';
    const forgedRoute = 'cli/\u009b2J\u202ereversed';
    const forgedUser = 'mallory\u001b]0;title\u0007';
    await db.connection
      .collection('udapiApiTokens')
      .updateOne({ _id: token.body.id }, { $set: { name: forgedName, createdBy: forgedUser } });
    await db.connection
      .collection('udapiApiDefinitions')
      .updateOne(
        { _id: definition.body.id },
        { $set: { name: forgedName, route: forgedRoute, createdBy: forgedUser } },
      );
    // Anything that moves the cursor, ends a line or reorders text; the table's own line feeds aside.
    // eslint-disable-next-line no-control-regex
    const RAW = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]/;

    const tokens = udapi(db, ['tokens', 'list']);
    expect(tokens.code).toBe(0);
    expect(tokens.stdout).not.toMatch(RAW);
    expect(tokens.stdout.trimEnd().split('\n')).toHaveLength(3); // header, rule, one token
    expect(tokens.stdout).toContain(
      'ok\\x0a0000  forged  enabled\\x0d\\x1b[2K\\x1b[31mred\\x7f\\x85\\x9b1m\\u{2028}\\u{202e}exe.txt\\u{2066}\\u{200f}\\x00',
    );
    const definitions = udapi(db, ['definitions', 'list']);
    expect(definitions.stdout).not.toMatch(RAW);
    expect(definitions.stdout.trimEnd().split('\n')).toHaveLength(3);
    expect(definitions.stdout).toContain('cli/\\x9b2J\\u{202e}reversed');

    // --json escapes the same characters as JSON escapes: the very same values once parsed.
    for (const [args, expected] of [
      [['tokens', 'list', '--json'], { name: forgedName, createdBy: forgedUser }],
      [['definitions', 'list', '--json'], { name: forgedName, route: forgedRoute, createdBy: forgedUser }],
    ] as const) {
      const listed = udapi(db, [...args]);
      expect(listed.stdout).not.toMatch(RAW);
      expect(JSON.parse(listed.stdout)).toEqual([expect.objectContaining(expected)]);
    }
    const disabled = udapi(db, ['tokens', 'disable', token.body.id]);
    expect(disabled.stdout).not.toMatch(RAW);
    expect(disabled.stdout.trimEnd().split('\n')).toHaveLength(1);
    // The backup on standard output too, and it still imports as it was.
    const exported = udapi(db, ['export']);
    expect(exported.stdout).not.toMatch(RAW);
    expect(JSON.parse(exported.stdout).definitions[0]).toMatchObject({
      name: forgedName,
      route: forgedRoute,
      createdBy: forgedUser,
    });
    // Error messages quote what they were given.
    const missing = udapi(db, ['tokens', 'enable', 'x\u001b[31my']);
    expect([missing.code, missing.stderr]).toEqual([1, expect.stringContaining('x\\x1b[31my')]);
    expect(missing.stderr).not.toMatch(RAW);
  }, 120_000);

  it('fails clearly: usage, configuration, a wrong pepper, a missing id, a bad file', async () => {
    const db = await database();
    expect(udapi(null, []).code).toBe(2);
    const help = udapi(null, ['--help']);
    expect([help.code, help.stdout]).toEqual([0, expect.stringContaining('Usage: udapi <command>')]);
    const noUri = udapi(null, ['tokens', 'list']);
    expect([noUri.code, noUri.stderr]).toEqual([2, expect.stringContaining('MONGODB_URI is not set')]);
    const shortPepper = udapi(db, ['tokens', 'list'], { UDAPI_PEPPER: 'short' });
    expect([shortPepper.code, shortPepper.stderr]).toEqual([2, expect.stringContaining('pepper')]);
    expect(udapi(db, ['tokens', 'fly']).stderr).toContain("Unknown command 'tokens fly'");
    expect(udapi(db, ['tokens', 'create', '--rate-limit', 'lots']).code).toBe(2);
    const missing = udapi(db, ['tokens', 'disable', '00000000-0000-4000-8000-000000000000']);
    expect([missing.code, missing.stderr]).toEqual([1, expect.stringContaining('NotFound')]);
    const file = path.join(workDir, 'not-json.txt');
    writeFileSync(file, 'hello');
    expect(udapi(db, ['import', file]).stderr).toContain('is not JSON');
    // A backup of another store, whose pepper is another (on this store, that pepper would not even start).
    const foreign = path.join(workDir, 'foreign.json');
    const otherStore = await database();
    expect(
      udapi(otherStore, ['export', '--out', foreign], { UDAPI_PEPPER: 'another-pepper-0123456789-abcdefghijklmn' })
        .code,
    ).toBe(0);
    const wrongPepper = udapi(db, ['import', foreign]);
    expect([wrongPepper.code, wrongPepper.stderr]).toEqual([1, expect.stringContaining('another pepper')]);
    const down = udapi(db, ['tokens', 'list'], { MONGODB_URI: 'mongodb://127.0.0.1:1/?serverSelectionTimeoutMS=300' });
    expect(down.code).toBe(1);
    expect(down.stderr).toMatch(/Mongo.*Error/);
  }, 120_000);
});
