// The `udapi` command line's usage checks, --version, the commands added for issue 19 (tokens update, definitions
// create/update/delete, events list) and `udapi usage` (issue 22), their --json output, and failed creates, as real
// processes on the built package.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import net from 'node:net';
import path from 'node:path';
import type express from 'express';
import request from 'supertest';
import { ADMIN, createTestApp, TEST_PEPPER } from './helpers/app';
import { CLI, cliEnv, CliFixtures } from './helpers/cli';
import type { TestDb } from './helpers/db';
import { ensureBuilt } from './helpers/instances';
import { internalsOf } from '../src/plugin';
import { sparkline } from '../src/cli/usage-command';

const root = path.join(__dirname, '..');
const fixtures = new CliFixtures();
const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/i;

beforeAll(() => ensureBuilt());

afterAll(async () => {
  await fixtures.close();
});

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs udapi without blocking this process (a test server here must keep answering while it runs). */
function udapi(db: TestDb | null, args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      env: cliEnv(db, env),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    const timer = setTimeout(() => child.kill(), 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

const database = (): Promise<TestDb> => fixtures.database();
const appOn = (db: TestDb): Promise<express.Express> => fixtures.appOn(db);

/** Retries until the app's instance has picked up the command line's change (its poll interval). */
async function eventually(check: () => Promise<boolean>): Promise<boolean> {
  const deadline = Date.now() + 3000;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return check();
}

describe('udapi usage errors', () => {
  /** A TCP server that counts the connections made to it: a database address that tells whether udapi connected. */
  let server: net.Server;
  let connections = 0;
  let uri: string;
  beforeAll(async () => {
    server = net.createServer((socket) => {
      connections += 1;
      socket.destroy();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    uri = `mongodb://127.0.0.1:${(server.address() as net.AddressInfo).port}/app?serverSelectionTimeoutMS=500`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const env = () => ({ MONGODB_URI: uri, UDAPI_PEPPER: TEST_PEPPER });

  it('connects for a well-formed command (the control: this address does count connections)', async () => {
    connections = 0;
    const run = await udapi(null, ['tokens', 'list'], env());
    expect(run.code).toBe(1);
    expect(connections).toBeGreaterThan(0);
  }, 30_000);

  it.each([
    ['an unknown option', ['tokens', 'list', '--bogus'], "Unknown option '--bogus'", 'tokens list'],
    [
      'an option of another command',
      ['tokens', 'list', '--rate-limit', '1/60'],
      'has no option --rate-limit',
      'tokens list',
    ],
    [
      'an option of another command',
      ['definitions', 'delete', 'x', '--name', 'y'],
      'has no option --name',
      'definitions delete',
    ],
    ['a missing value', ['tokens', 'create', '--name'], "'--name <value>' argument missing", 'tokens create'],
    ['a value taken for an option', ['tokens', 'create', '--name', '--json'], 'ambiguous', 'tokens create'],
    ['a repeated option', ['tokens', 'create', '--name', 'a', '--name', 'b'], 'given more than once', 'tokens create'],
    ['a missing required option', ['definitions', 'create', '--route', 'a'], 'needs --action', 'definitions create'],
    ['a missing argument', ['tokens', 'rotate'], 'needs ID', 'tokens rotate'],
    ['an extra argument', ['tokens', 'delete', 'a', 'b'], "Unexpected argument 'b'", 'tokens delete'],
    ['both state filters', ['tokens', 'list', '--disabled', '--enabled'], 'not both', 'tokens list'],
    ['a malformed rate limit', ['tokens', 'update', 'a', '--rate-limit', 'lots'], 'REQUESTS/SECONDS', 'tokens update'],
    ['an update that changes nothing', ['tokens', 'update', 'a'], 'needs at least one', 'tokens update'],
    [
      'a definition update that changes nothing',
      ['definitions', 'update', 'a', '--json'],
      'needs at least one',
      'definitions update',
    ],
    ['a malformed limit', ['events', 'list', '--limit', '0'], '--limit takes a whole number', 'events list'],
    ['--sort without --by', ['usage', '--sort', 'refusals'], 'give --by token or --by definition', 'usage'],
  ])(
    'reports %s before connecting, with the command’s own usage (%j)',
    async (_label, args, message, command) => {
      connections = 0;
      const run = await udapi(null, args, env());
      expect([run.code, run.stdout]).toEqual([2, '']);
      expect(run.stderr).toContain(message);
      expect(run.stderr).toContain(`\nUsage: udapi ${command} `);
      // Its own usage, not all of it: no other command's line.
      expect(run.stderr).not.toContain('import FILE');
      expect(connections).toBe(0);
    },
    30_000,
  );

  it.each([
    ['an unknown bucket', ['usage', '--bucket', 'year'], 'InvalidRequest (bucket): '],
    ['a malformed time', ['usage', '--from', 'nope'], "InvalidRequest (from): Query parameter 'from' must match"],
    ['a malformed id', ['usage', '--token', 'x'], 'InvalidRequest (tokenId): '],
  ])(
    'refuses %s as GET /usage does, before connecting (%j)',
    async (_label, args, message) => {
      connections = 0;
      const run = await udapi(null, args, env());
      expect([run.code, run.stdout]).toEqual([1, '']);
      expect(run.stderr.slice(0, message.length)).toBe(message);
      expect(connections).toBe(0);
    },
    30_000,
  );

  it('answers an unknown command with its group’s commands, or all of them, before connecting', async () => {
    connections = 0;
    const inGroup = await udapi(null, ['tokens', 'fly'], env());
    expect([inGroup.code, inGroup.stderr]).toEqual([2, expect.stringContaining("Unknown command 'tokens fly'")]);
    expect(inGroup.stderr).toContain('Usage: udapi tokens <command>');
    expect(inGroup.stderr).not.toContain('definitions list');
    const unknown = await udapi(null, ['constructor'], env());
    expect([unknown.code, unknown.stderr]).toEqual([2, expect.stringContaining("Unknown command 'constructor'")]);
    expect(unknown.stderr).toContain('definitions list');
    const bare = await udapi(null, ['definitions'], env());
    expect([bare.code, bare.stderr]).toEqual([2, expect.stringContaining('`udapi definitions` needs a command')]);
    expect(connections).toBe(0);
  }, 30_000);

  it('prints one command’s usage for <command> --help, on standard output, without connecting', async () => {
    connections = 0;
    const help = await udapi(null, ['definitions', 'create', '--help'], env());
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^Usage: udapi definitions create --route ROUTE --action NAME/);
    expect(help.stdout).toContain('--input-type');
    expect(help.stdout).not.toContain('tokens list');
    expect(connections).toBe(0);
  }, 30_000);

  it('prints --version as package.json has it, as text or JSON, with no database', async () => {
    const { version } = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));
    const text = await udapi(null, ['--version']);
    expect([text.code, text.stdout]).toEqual([0, `${version}\n`]);
    const json = await udapi(null, ['--version', '--json']);
    expect([json.code, JSON.parse(json.stdout)]).toEqual([0, { version }]);
    expect((await udapi(null, ['-v'])).stdout).toBe(`${version}\n`);
    const mixed = await udapi(null, ['--version', 'tokens', 'list']);
    expect(mixed.code).toBe(2);
  }, 30_000);
});

describe('udapi tokens update and list --name', () => {
  it('changes the name, rate limit and expiry, clears them with none and never, and refuses as the admin API does', async () => {
    const db = await database();
    const app = await appOn(db);
    const created = JSON.parse((await udapi(db, ['tokens', 'create', '--name', 'first', '--json'])).stdout);
    const other = JSON.parse((await udapi(db, ['tokens', 'create', '--name', 'other', '--json'])).stdout);

    const expiresAt = new Date(Date.now() + 86_400_000).toISOString();
    const updated = await udapi(db, [
      'tokens',
      'update',
      created.id,
      '--name',
      'renamed',
      '--rate-limit',
      '5/10',
      '--expires-at',
      expiresAt,
      '--json',
    ]);
    expect(updated.code).toBe(0);
    const token = JSON.parse(updated.stdout);
    expect(token).toMatchObject({
      id: created.id,
      name: 'renamed',
      rateLimit: { limit: 5, windowSeconds: 10 },
      expiresAt,
      lastModifiedBy: 'ops',
    });
    expect(token).not.toHaveProperty('secret');
    expect(updated.stdout).not.toContain(created.secret);
    expect((await request(app).get(`/admin/udapi/tokens/${created.id}`).set(ADMIN)).body).toMatchObject({
      name: 'renamed',
      rateLimit: { limit: 5, windowSeconds: 10 },
      expiresAt,
    });

    const cleared = await udapi(db, ['tokens', 'update', created.id, '--rate-limit', 'none', '--expires-at', 'never']);
    expect(cleared.code).toBe(0);
    expect(cleared.stdout).toMatch(/^Updated token renamed \(/);
    expect(cleared.stdout).toContain(`${created.id}  renamed  ${created.start}  enabled  -       -           never`);
    expect((await request(app).get(`/admin/udapi/tokens/${created.id}`).set(ADMIN)).body).toMatchObject({
      rateLimit: null,
      expiresAt: null,
    });

    // list --name filters on the exact name (it is not ignored: the other token is left out).
    const named = JSON.parse((await udapi(db, ['tokens', 'list', '--name', 'renamed', '--json'])).stdout);
    expect(named.map((t: { id: string }) => t.id)).toEqual([created.id]);
    expect(JSON.parse((await udapi(db, ['tokens', 'list', '--json'])).stdout)).toHaveLength(2);
    expect(other.id).not.toBe(created.id);

    // The same refusals, reasons and messages as PATCH /tokens/{id}.
    for (const [args, body] of [
      [['--rate-limit', '0/60'], { rateLimit: { limit: 0, windowSeconds: 60 } }],
      [['--expires-at', '2026-13-01'], { expiresAt: '2026-13-01' }],
      [['--name', ' '], { name: ' ' }],
      [['--name', 'x'.repeat(1001)], { name: 'x'.repeat(1001) }],
    ] as const) {
      const refused = await udapi(db, ['tokens', 'update', created.id, ...args, '--json']);
      const answer = await request(app).patch(`/admin/udapi/tokens/${created.id}`).set(ADMIN).send(body);
      expect(answer.status).toBe(400);
      expect([refused.code, refused.stdout, JSON.parse(refused.stderr)]).toEqual([1, '', answer.body]);
    }
    const missing = await udapi(db, ['tokens', 'update', '00000000-0000-4000-8000-000000000000', '--name', 'x']);
    expect([missing.code, missing.stderr]).toEqual([
      1,
      'NotFound 00000000-0000-4000-8000-000000000000: No API token has the id 00000000-0000-4000-8000-000000000000.\n',
    ]);
  }, 120_000);
});

describe('udapi tokens with scopes and metadata', () => {
  it('creates, shows, filters by and replaces scopes and metadata, with the prefix of UDAPI_SECRET_PREFIX', async () => {
    const db = await database();
    const app = await appOn(db);
    const prefixed = { UDAPI_SECRET_PREFIX: 'cli_' };
    const create = (name: string, ...args: string[]) =>
      udapi(db, ['tokens', 'create', '--name', name, ...args, '--json'], prefixed);
    const made = await create(
      'scoped',
      '--scope',
      'orders:read',
      '--scope',
      'orders:write',
      '--metadata',
      '{"team":"a"}',
    );
    expect(made.code).toBe(0);
    const created = JSON.parse(made.stdout);
    expect(created).toMatchObject({ scopes: ['orders:read', 'orders:write'], metadata: { team: 'a' } });
    expect(created.secret).toMatch(/^cli_[0-9A-Za-z]{49}$/);
    expect(created.start).toBe(created.secret.slice(0, 10));
    await create('unscoped');

    const listed = await udapi(db, ['tokens', 'list', '--scope', 'orders:write']);
    expect(listed.code).toBe(0);
    const rows = listed.stdout.trimEnd().split('\n');
    expect(rows).toHaveLength(3);
    expect(rows[0]).toMatch(/^id +name +start +state +scopes +rate limit/);
    expect(rows[2]).toContain(`scoped  ${created.start}  enabled  orders:read orders:write`);

    const replaced = await udapi(db, ['tokens', 'update', created.id, '--scope', 'x', '--metadata', 'null', '--json']);
    expect(JSON.parse(replaced.stdout)).toMatchObject({ scopes: ['x'], metadata: null });
    const cleared = await udapi(db, ['tokens', 'update', created.id, '--no-scopes', '--json']);
    expect(JSON.parse(cleared.stdout)).toMatchObject({ scopes: [] });
    expect((await request(app).get(`/admin/udapi/tokens/${created.id}`).set(ADMIN)).body).toMatchObject({
      scopes: [],
      metadata: null,
    });

    // The admin API's refusals, and the command line's own.
    const refused = await udapi(db, ['tokens', 'update', created.id, '--scope', 'Bad', '--json']);
    const answer = await request(app)
      .patch(`/admin/udapi/tokens/${created.id}`)
      .set(ADMIN)
      .send({ scopes: ['Bad'] });
    expect([refused.code, JSON.parse(refused.stderr)]).toEqual([1, answer.body]);
    expect((await udapi(db, ['tokens', 'create', '--name', 'x', '--metadata', '[1]'])).code).toBe(2);
    expect((await udapi(db, ['tokens', 'update', created.id, '--scope', 'a', '--no-scopes'])).code).toBe(2);
  }, 120_000);
});

describe('udapi definitions create, update and delete', () => {
  it('sets the scopes a definition requires, keeping its allowed tokens when only those change', async () => {
    const db = await database();
    const app = await appOn(db);
    const token = JSON.parse(
      (await udapi(db, ['tokens', 'create', '--name', 'reader', '--scope', 'reports:read', '--json'])).stdout,
    );
    const call = async () =>
      (await request(app).get('/api/custom/cli/scoped').set('Authorization', `Bearer ${token.secret}`)).status;
    const created = await udapi(db, [
      'definitions',
      'create',
      '--route',
      'cli/scoped',
      '--action',
      'test.echo',
      '--tokens',
      token.id,
      '--required-scope',
      'reports:read',
      '--required-scope',
      'reports:write',
      '--json',
    ]);
    expect(created.code).toBe(0);
    const definition = JSON.parse(created.stdout);
    expect(definition.securitySettings).toEqual({
      allowedTokens: [token.id],
      requiredScopes: ['reports:read', 'reports:write'],
    });
    // The token lacks reports:write: refused like a token not allowed.
    expect(await eventually(async () => (await call()) === 401)).toBe(true);

    const relaxed = await udapi(db, [
      'definitions',
      'update',
      definition.id,
      '--required-scope',
      'reports:read',
      '--json',
    ]);
    expect(JSON.parse(relaxed.stdout).securitySettings).toEqual({
      allowedTokens: [token.id],
      requiredScopes: ['reports:read'],
    });
    expect(await eventually(async () => (await call()) === 200)).toBe(true);
    const none = await udapi(db, ['definitions', 'update', definition.id, '--no-required-scopes', '--json']);
    expect(JSON.parse(none.stdout).securitySettings).toEqual({ allowedTokens: [token.id], requiredScopes: [] });

    const both = await udapi(db, [
      'definitions',
      'update',
      definition.id,
      '--required-scope',
      'a',
      '--no-required-scopes',
    ]);
    expect([both.code, both.stderr]).toEqual([2, expect.stringContaining('not both')]);
    const bad = await udapi(db, ['definitions', 'update', definition.id, '--required-scope', 'Not A Scope']);
    expect([bad.code, bad.stderr]).toEqual([1, expect.stringMatching(/^Invalid/)]);
    const stored = (await request(app).get(`/admin/udapi/definitions/${definition.id}`).set(ADMIN)).body;
    expect(stored.securitySettings).toEqual({ allowedTokens: [token.id], requiredScopes: [] });
  }, 120_000);

  it('sets input schemas from a file, refuses bad ones with their place, and removes them', async () => {
    const db = await database();
    const app = await appOn(db);
    const token = JSON.parse((await udapi(db, ['tokens', 'create', '--name', 'typed', '--json'])).stdout);
    const dir = mkdtempSync(path.join(tmpdir(), 'udapi-input-'));
    const good = path.join(dir, 'input.json');
    const input = { body: { type: 'object', required: ['a'] } };
    writeFileSync(good, JSON.stringify(input));
    const created = await udapi(db, [
      'definitions',
      'create',
      '--route',
      'cli/typed',
      '--action',
      'test.echo',
      '--tokens',
      token.id,
      '--input-file',
      good,
      '--json',
    ]);
    expect(created.code).toBe(0);
    const definition = JSON.parse(created.stdout);
    expect(definition.input).toEqual(input);
    const post = async (body: object) =>
      (await request(app).post('/api/custom/cli/typed').set('Authorization', `Bearer ${token.secret}`).send(body))
        .status;
    expect(await eventually(async () => (await post({ b: 1 })) === 400)).toBe(true);
    expect(await post({ a: 1 })).toBe(200);

    const bad = path.join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ body: { type: 'string', pattern: '^(a+)+$' } }));
    const refused = await udapi(db, ['definitions', 'update', definition.id, '--input-file', bad]);
    expect([refused.code, refused.stderr]).toEqual([1, expect.stringContaining('input.body/pattern')]);
    const notJson = path.join(dir, 'not.json');
    writeFileSync(notJson, '{nope');
    const unreadable = await udapi(db, ['definitions', 'update', definition.id, '--input-file', notJson]);
    expect([unreadable.code, unreadable.stderr]).toEqual([2, expect.stringContaining('JSON object')]);
    const missing = await udapi(db, ['definitions', 'update', definition.id, '--input-file', path.join(dir, 'none')]);
    expect([missing.code, missing.stderr]).toEqual([2, expect.stringContaining('ENOENT')]);
    const both = await udapi(db, ['definitions', 'update', definition.id, '--input-file', good, '--no-input']);
    expect([both.code, both.stderr]).toEqual([2, expect.stringContaining('not both')]);

    const removed = await udapi(db, ['definitions', 'update', definition.id, '--no-input', '--json']);
    expect(removed.code).toBe(0);
    expect(JSON.parse(removed.stdout)).not.toHaveProperty('input');
    expect(await eventually(async () => (await post({ b: 1 })) === 200)).toBe(true);
  }, 120_000);

  it('creates a definition the app serves, changes it, deletes it, with tables or --json', async () => {
    const db = await database();
    const app = await appOn(db);
    const token = JSON.parse((await udapi(db, ['tokens', 'create', '--name', 'caller', '--json'])).stdout);
    const call = (route: string) =>
      request(app).get(`/api/custom/${route}`).set('Authorization', `Bearer ${token.secret}`);

    const created = await udapi(db, [
      'definitions',
      'create',
      '--route',
      'cli/{id}',
      '--action',
      'test.echo',
      '--name',
      'Echo',
      '--description',
      'for the test',
      '--tokens',
      token.id,
      '--json',
    ]);
    expect(created.code).toBe(0);
    const definition = JSON.parse(created.stdout);
    expect(definition).toMatchObject({
      route: 'cli/{id}',
      name: 'Echo',
      description: 'for the test',
      actionType: 'handler',
      actionMeta: { name: 'test.echo', inputType: 'rawBody' },
      securitySettings: { allowedTokens: [token.id] },
      createdBy: 'ops',
    });
    expect(await eventually(async () => (await call('cli/7')).status === 200)).toBe(true);

    const updated = await udapi(db, [
      'definitions',
      'update',
      definition.id,
      '--route',
      'cli/moved/{id}',
      '--input-type',
      'parameters',
      '--name',
      '',
    ]);
    expect([updated.code, updated.stdout]).toEqual([0, `Updated definition cli/moved/{id} (${definition.id}).\n`]);
    const stored = (await request(app).get(`/admin/udapi/definitions/${definition.id}`).set(ADMIN)).body;
    expect(stored).toMatchObject({
      route: 'cli/moved/{id}',
      actionMeta: { name: 'test.echo', inputType: 'parameters' },
      description: 'for the test',
      lastModifiedBy: 'ops',
    });
    expect(stored).not.toHaveProperty('name');
    expect(await eventually(async () => (await call('cli/7')).status === 404)).toBe(true);

    // A procedure: the handler-only input type goes with the type change.
    const procedure = await udapi(db, [
      'definitions',
      'update',
      definition.id,
      '--action-type',
      'procedure',
      '--action',
      'test.restart',
      '--tokens',
      '',
      '--json',
    ]);
    expect(procedure.code).toBe(0);
    expect(JSON.parse(procedure.stdout)).toMatchObject({
      actionType: 'procedure',
      actionMeta: { name: 'test.restart' },
      securitySettings: { allowedTokens: [] },
    });
    expect(JSON.parse(procedure.stdout).actionMeta).not.toHaveProperty('inputType');

    const listed = await udapi(db, ['definitions', 'list']);
    expect(listed.stdout).toMatch(/^id\s+route\s+action\s+tokens\s+name\n-+/);
    expect(listed.stdout).toContain(`${definition.id}  cli/moved/{id}  procedure test.restart  0`);

    const deleted = await udapi(db, ['definitions', 'delete', definition.id, '--json']);
    expect([deleted.code, JSON.parse(deleted.stdout)]).toEqual([0, { deleted: definition.id }]);
    expect((await request(app).get(`/admin/udapi/definitions/${definition.id}`).set(ADMIN)).status).toBe(404);
    const again = await udapi(db, ['definitions', 'delete', definition.id]);
    expect([again.code, again.stderr]).toEqual([1, expect.stringMatching(/^NotFound /)]);
    expect((await udapi(db, ['definitions', 'list'])).stdout).toBe('(none)\n');
  }, 120_000);

  it('refuses what the admin API refuses, with the same reasons and messages', async () => {
    const db = await database();
    const app = await appOn(db);
    const create = async (route: string): Promise<{ id: string }> => {
      const run = await udapi(db, ['definitions', 'create', '--route', route, '--action', 'test.echo', '--json']);
      return JSON.parse(run.stdout) as { id: string };
    };
    const taken = await create('taken/{x}');
    const first = await create('second');
    const cases: [string[], Record<string, unknown>][] = [
      [['--route', 'taken/{y}'], { route: 'taken/{y}' }],
      [['--route', 'bad//route'], { route: 'bad//route' }],
      [
        ['--route', 'ok/route', '--tokens', '00000000-0000-4000-8000-000000000000,nope'],
        {
          route: 'ok/route',
          securitySettings: { allowedTokens: ['00000000-0000-4000-8000-000000000000', 'nope'] },
        },
      ],
      [['--route', 'ok/route', '--action-type', 'function'], { route: 'ok/route', actionType: 'function' }],
      [
        ['--route', 'ok/route', '--input-type', 'xml'],
        { route: 'ok/route', actionMeta: { name: 'test.echo', inputType: 'xml' } },
      ],
      [
        ['--route', 'ok/route', '--action-type', 'procedure', '--input-type', 'parameters'],
        {
          route: 'ok/route',
          actionType: 'procedure',
          actionMeta: { name: 'test.restart', inputType: 'parameters' },
        },
      ],
      [['--route', 'ok/route', '--name', ' '], { route: 'ok/route', name: ' ' }],
    ];
    for (const [options, body] of cases) {
      const action = body.actionType === 'procedure' ? 'test.restart' : 'test.echo';
      const refused = await udapi(db, ['definitions', 'update', first.id, ...options, '--action', action, '--json']);
      const answer = await request(app)
        .patch(`/admin/udapi/definitions/${first.id}`)
        .set(ADMIN)
        .send({ actionMeta: { name: action }, ...body });
      expect(answer.status).toBeGreaterThanOrEqual(400);
      expect([refused.code, JSON.parse(refused.stderr)]).toEqual([1, answer.body]);
    }
    // An action name no app can register is refused with the reason the admin API gives an unregistered one.
    const badName = await udapi(db, ['definitions', 'create', '--route', 'x', '--action', 'no spaces']);
    expect([badName.code, badName.stderr]).toEqual([1, expect.stringMatching(/^InvalidActionMeta \(actionMeta\): /)]);
    // Nothing was stored by any of them.
    expect(JSON.parse((await udapi(db, ['definitions', 'list', '--json'])).stdout)).toEqual([first, taken]);
  }, 180_000);
});

describe('udapi failed creates', () => {
  it('name no id: the object was never created (issue 19, item 14)', async () => {
    const db = await database();
    const token = await udapi(db, ['tokens', 'create', '--name', 'limited', '--rate-limit', '0/60']);
    expect(token.code).toBe(1);
    expect(token.stderr).toBe('InvalidRateLimit: The rate limit must allow from 1 to 100 requests (got 0).\n');
    const several = await udapi(db, ['tokens', 'create', '--name', ' ', '--rate-limit', '1/0', '--json']);
    expect(several.code).toBe(1);
    const { errors } = JSON.parse(several.stderr);
    expect(errors.map((error: { reason: string }) => error.reason).sort()).toEqual(['InvalidName', 'InvalidRateLimit']);
    for (const error of errors) expect(error).not.toHaveProperty('id');
    const definition = await udapi(db, ['definitions', 'create', '--route', 'a//b', '--action', 'test.echo']);
    expect(definition.code).toBe(1);
    expect(definition.stderr).toMatch(/^InvalidRoute: /);
    for (const run of [token, several, definition]) expect(run.stderr).not.toMatch(UUID);
    expect((await udapi(db, ['tokens', 'list'])).stdout).toBe('(none)\n');
    expect((await udapi(db, ['definitions', 'list'])).stdout).toBe('(none)\n');
    // An update names the object it refused to change: that one exists.
    const created = JSON.parse((await udapi(db, ['tokens', 'create', '--name', 'real', '--json'])).stdout);
    const update = await udapi(db, ['tokens', 'update', created.id, '--rate-limit', '0/60']);
    expect(update.stderr).toBe(
      `InvalidRateLimit ${created.id}: The rate limit must allow from 1 to 100 requests (got 0).\n`,
    );
  }, 120_000);
});

describe('udapi events list', () => {
  it('lists the events of the changes made, newest first, filtered and limited, as a table or JSON', async () => {
    const db = await database();
    const token = JSON.parse((await udapi(db, ['tokens', 'create', '--name', 'evented', '--json'])).stdout);
    await udapi(db, ['tokens', 'disable', token.id]);
    const definition = JSON.parse(
      (await udapi(db, ['definitions', 'create', '--route', 'ev/one', '--action', 'test.echo', '--json'])).stdout,
    );
    await udapi(db, ['definitions', 'delete', definition.id]);

    const all = await udapi(db, ['events', 'list', '--json']);
    expect(all.code).toBe(0);
    const events = JSON.parse(all.stdout);
    expect(events.map((e: { objectType: string; action: string }) => `${e.objectType} ${e.action}`)).toEqual([
      'ApiDefinition deleted',
      'ApiDefinition created',
      'ApiToken updated',
      'ApiToken created',
    ]);
    expect(events[3]).toMatchObject({ objectId: token.id, tokenName: 'evented', user: 'ops' });
    expect(all.stdout).not.toContain(token.secret);

    const tokensOnly = JSON.parse((await udapi(db, ['events', 'list', '--object-type', 'ApiToken', '--json'])).stdout);
    expect(tokensOnly.map((e: { action: string }) => e.action)).toEqual(['updated', 'created']);
    const ofOne = JSON.parse(
      (await udapi(db, ['events', 'list', '--object-id', definition.id, '--action', 'created', '--json'])).stdout,
    );
    expect(ofOne.map((e: { objectId: string; action: string }) => [e.objectId, e.action])).toEqual([
      [definition.id, 'created'],
    ]);
    const limited = JSON.parse((await udapi(db, ['events', 'list', '--limit', '1', '--json'])).stdout);
    expect(limited.map((e: { action: string }) => e.action)).toEqual(['deleted']);

    const table = await udapi(db, ['events', 'list', '--limit', '2']);
    expect(table.stdout).toMatch(/^at\s+action\s+type\s+object id\s+name or route\s+user\n-+/);
    expect(table.stdout).toMatch(new RegExp(`deleted\\s+definition\\s+${definition.id}\\s+ev/one\\s+ops\\n`));
    expect(table.stdout.trimEnd().split('\n')).toHaveLength(4);

    // The admin API's query rules: the same refusal.
    const refused = await udapi(db, ['events', 'list', '--object-type', 'Token']);
    expect([refused.code, refused.stderr]).toEqual([1, expect.stringMatching(/^InvalidRequest \(objectType\): /)]);
  }, 120_000);
});

describe('udapi usage', () => {
  it('scales the sparkline to the largest bucket; an empty one is a space, one call at least ▁', () => {
    expect(sparkline([0, 1, 4, 8])).toBe(' ▁▄█');
    expect(sparkline([0, 0])).toBe('  ');
    expect(sparkline([1, 1000])).toBe('▁█');
  });

  it('prints a token’s counts as JSON, as a sparkline with totals, and per API with --by', async () => {
    const db = await database();
    // Its own app, not appOn's: the test flushes its counts (a long interval, so they arrive only then).
    const t = await createTestApp(db, { usageIntervalMs: 3_600_000 });
    try {
      t.app.use('/api/custom', t.udapi.endpoint());
      const admin = (route: string, body: object) => request(t.app).post(`/admin/udapi${route}`).set(ADMIN).send(body);
      // Made through the app: its view knows them at once, so no call of the test misses the API.
      const token = (await admin('/tokens', { name: 'metered', rateLimit: { limit: 3, windowSeconds: 60 } })).body;
      const stranger = (await admin('/tokens', { name: 'stranger' })).body;
      const definition = (
        await admin('/definitions', {
          route: 'cli/usage/{n}',
          actionMeta: { name: 'test.echo' },
          securitySettings: { allowedTokens: [token.id] },
        })
      ).body;
      const call = async (secret: string) =>
        (await request(t.app).get('/api/custom/cli/usage/1').set('Authorization', `Bearer ${secret}`)).status;
      const statuses = [];
      for (let i = 0; i < 4; i++) statuses.push(await call(token.secret));
      statuses.push(await call(stranger.secret));
      expect(statuses).toEqual([200, 200, 200, 429, 401]);
      await internalsOf(t.udapi).usage!.flush();

      const json = await udapi(db, ['usage', '--token', token.id, '--bucket', 'minute', '--json']);
      expect(json.code).toBe(0);
      const report = JSON.parse(json.stdout);
      expect(report).toMatchObject({
        bucket: 'minute',
        totals: { calls: 4, ok: 3, clientErrors: 1, serverErrors: 0, refusals: { RateLimitExceeded: 1 } },
      });
      expect(report.series).toHaveLength(60);
      expect(report).not.toHaveProperty('groups');

      const text = await udapi(db, ['usage', '--token', token.id, '--bucket', 'minute']);
      expect(text.code).toBe(0);
      const lines = text.stdout.trimEnd().split('\n');
      // The period's ends, not compared with the JSON run's: a minute may have begun in between.
      expect(lines[0]).toMatch(
        new RegExp(
          `^Calls per minute of token ${token.id} \\(metered\\), [0-9T:.-]+Z to [0-9T:.-]+Z \\(60 minutes\\)$`,
        ),
      );
      // 60 marks between the bars: the busiest minute full, the quiet ones blank.
      expect(lines[1]).toMatch(/^│[ ▁▂▃▄▅▆▇█]{60}│ max [1-4] per minute$/);
      expect(lines[1]).toContain('█');
      expect(lines[2]).toMatch(
        /^calls 4 {2}ok 3 {2}4xx 1 {2}5xx 0 {2}mean \d+\.\d ms {2}refusals: RateLimitExceeded 1$/,
      );
      expect(lines).toHaveLength(3);

      const byApi = await udapi(db, ['usage', '--definition', definition.id, '--bucket', 'minute', '--by', 'token']);
      expect(byApi.code).toBe(0);
      const rows = byApi.stdout.trimEnd().split('\n');
      expect(rows[2]).toMatch(/^calls 5 {2}ok 3 {2}4xx 2 .*refusals: not_allowed 1, RateLimitExceeded 1$/);
      expect(rows[4]).toMatch(/^name +id +calls +ok +4xx +5xx +refusals$/);
      expect(rows[6]).toMatch(new RegExp(`^metered +${token.id} +4 +3 +1 +0 +RateLimitExceeded 1$`));
      expect(rows[7]).toMatch(new RegExp(`^stranger +${stranger.id} +1 +0 +1 +0 +not_allowed 1$`));
      // Sorted by refusals: a tie (one each), broken by id.
      const byRefusals = JSON.parse(
        (
          await udapi(db, [
            'usage',
            '--definition',
            definition.id,
            '--by',
            'token',
            '--sort',
            'refusals',
            '--bucket',
            'minute',
            '--json',
          ])
        ).stdout,
      );
      expect(byRefusals.groups.map((group: { id: string }) => group.id)).toEqual([token.id, stranger.id].sort());

      const byDefinition = await udapi(db, ['usage', '--token', token.id, '--bucket', 'minute', '--by', 'definition']);
      expect(byDefinition.stdout).toMatch(/\nroute +id +calls +ok +4xx +5xx +refusals\n/);
      expect(byDefinition.stdout).toMatch(
        new RegExp(`\ncli/usage/\\{n\\} +${definition.id} +4 +3 +1 +0 +RateLimitExceeded 1\n`),
      );

      // The reader's own refusals (after connecting) as GET /usage answers them.
      const backwards = await udapi(db, [
        'usage',
        '--bucket',
        'minute',
        '--from',
        '2026-01-02T00:00:00Z',
        '--to',
        '2026-01-01T00:00:00Z',
      ]);
      expect([backwards.code, backwards.stderr]).toEqual([1, 'InvalidRequest (from): `from` must be before `to`.\n']);
      const tooLong = await udapi(db, ['usage', '--bucket', 'minute', '--from', '2026-01-01', '--to', '2026-01-03']);
      expect([tooLong.code, tooLong.stderr]).toEqual([1, expect.stringContaining('At most 1440 minute buckets')]);
    } finally {
      await t.udapi.close();
    }
  }, 120_000);
});
