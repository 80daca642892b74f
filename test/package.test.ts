// The package as a host installs it: the `npm pack` tarball's files, `require` and `import` from sample projects,
// the types under tsc (nodenext and bundler), the packed `udapi` bin, TSDoc on every export of the typings, and
// `npm install` of the tarball from the registry into fresh projects: the types with no extra @types (mongoose 9,
// Express 5) and a real lifecycle on mongoose 8 and Express 4, the oldest peers the ranges claim.
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import mongoose from 'mongoose';
import ts from 'typescript';
import { ensureBuilt } from './helpers/instances';

const root = path.join(__dirname, '..');
const PACKAGE = 'express-user-defined-apis';
/** The documents shipped next to dist/ (npm adds README, LICENSE and package.json on its own). */
const DOCUMENTS = ['README.md', 'LICENSE', 'CHANGELOG.md', 'SECURITY.md', 'package.json'];
/** What the package exports at run time, with the type of each (at least: new exports are welcome). */
const RUNTIME_EXPORTS = {
  createUserDefinedApis: 'function',
  generateSecret: 'function',
  Permissions: 'object',
  ALL_PERMISSIONS: 'object',
  ErrorReasons: 'object',
  ErrorCodes: 'object',
  ENDPOINT_ERROR_TITLE: 'string',
  OptionsError: 'function',
  PepperMismatchError: 'function',
  RegistrationError: 'function',
  createRedisRateLimitStore: 'function',
  MemoryRateLimitStore: 'function',
};

// Sample projects live inside the repository (git-ignored .tmp/), so that the package's dependencies and peers
// (ajv, bcrypt, express, mongoose) resolve upwards from the repository's node_modules as they would from a host's,
// while the package itself comes from the tarball only.
let work: string;
let packed: { path: string; mode: number }[];
let tarball: string;
let typeChecks: Promise<Record<string, Run>>;
let fresh: string;
let freshInstalls: Promise<{ latest: Run; oldest: Run }>;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(command: string, args: string[], cwd: string, env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(command, args, {
      cwd,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), 110_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** A sample project: its package.json and files, and the tarball extracted as node_modules/<package>. */
function sample(name: string, packageJson: object, files: Record<string, string>): string {
  const dir = path.join(work, name);
  const installed = path.join(dir, 'node_modules', PACKAGE);
  mkdirSync(installed, { recursive: true });
  writeFileSync(
    path.join(dir, 'package.json'),
    JSON.stringify({ name: `udapi-sample-${name}`, private: true, ...packageJson }, null, 2),
  );
  for (const [file, text] of Object.entries(files)) writeFileSync(path.join(dir, file), text);
  execFileSync('tar', ['-xzf', tarball, '-C', installed, '--strip-components=1']);
  return dir;
}

/** The body shared by the CommonJS and the ES-module sample: `pkg` is the package, `resolved` where it came from. */
const SAMPLE_BODY = `
async function main() {
  const { createUserDefinedApis, generateSecret, OptionsError, RegistrationError, ErrorCodes, ErrorReasons, Permissions, ALL_PERMISSIONS } = pkg;
  const types = Object.fromEntries(Object.keys(pkg).sort().map((name) => [name, typeof pkg[name]]));
  const secret = generateSecret();
  const connection = mongoose.createConnection(); // never opened: nothing here needs the database
  const udapi = createUserDefinedApis({ connection, pepper: generateSecret(), authenticateAdmin: () => null });
  udapi.registerHandler('sample.echo', async (input) => ({ responseCode: 200, responseBody: { route: input.route } }));
  let duplicate = null;
  try {
    udapi.registerHandler('sample.echo', async () => ({ responseCode: 200 }));
  } catch (error) {
    duplicate = { isRegistrationError: error instanceof RegistrationError };
  }
  const app = express();
  app.use('/api/custom', udapi.endpoint());
  app.use('/admin/udapi', udapi.adminRouter());
  const server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const base = 'http://127.0.0.1:' + server.address().port;
  const call = await fetch(base + '/api/custom/sample', { headers: { Authorization: 'Bearer ' + secret } });
  const callBody = await call.json();
  const admin = await fetch(base + '/admin/udapi/tokens');
  const adminBody = await admin.json();
  let optionsError = null;
  try {
    createUserDefinedApis({ connection, pepper: 'too short', authenticateAdmin: () => null });
  } catch (error) {
    optionsError = { isOptionsError: error instanceof OptionsError, isTypeError: error instanceof TypeError, name: error.name, message: error.message };
  }
  await new Promise((resolve) => server.close(resolve));
  await udapi.close();
  await connection.close();
  console.log(JSON.stringify({
    resolved,
    types,
    secretLength: secret.length,
    endpoint: { status: call.status, errorCode: callBody.errors[0].errorCode },
    admin: { status: admin.status, reason: adminBody.errors[0].reason },
    duplicate,
    optionsError,
    catalogues: {
      rateLimitExceeded: ErrorCodes.RateLimitExceeded.code,
      notFound: ErrorReasons.NotFound.status,
      tokenRead: Permissions.TokenRead,
      allPermissions: ALL_PERMISSIONS.length,
    },
  }));
}
main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
`;

/** Host code on the public types; the wrong uses at the end must be errors (an unused @ts-expect-error fails). */
const HOST_TS = `import express from 'express';
import mongoose from 'mongoose';
import {
  ALL_PERMISSIONS,
  createRedisRateLimitStore,
  createUserDefinedApis,
  ErrorCodes,
  ErrorReasons,
  generateSecret,
  MemoryRateLimitStore,
  OptionsError,
  Permissions,
  type ActionHandler,
  type AdminErrorItem,
  type AdminUser,
  type ApiDefinition,
  type ApiToken,
  type ApiTokenWithSecret,
  type ChangeEvent,
  type ErrorCodeName,
  type ErrorReason,
  type HandlerInput,
  type HandlerOutput,
  type Logger,
  type Page,
  type Permission,
  type ProcedureHandler,
  type RateLimitStore,
  type RedisClientLike,
  type UserDefinedApis,
  type UserDefinedApisOptions,
} from '${PACKAGE}';

const logger: Logger = { debug() {}, info() {}, warn() {}, error() {}, child: () => logger };
const readOnly: Permission[] = [Permissions.TokenRead, Permissions.DefinitionRead];
const admins = new Map<string, AdminUser>([
  ['ops-key', { name: 'ops', permissions: ALL_PERMISSIONS }],
  ['audit-key', { name: 'audit', permissions: readOnly }],
]);

const options: UserDefinedApisOptions = {
  connection: mongoose.createConnection(),
  pepper: generateSecret(),
  authenticateAdmin: (req) => admins.get(req.get('x-admin-key') ?? '') ?? null,
  logger,
  rateLimitStore: new MemoryRateLimitStore(10_000),
  failedAuthThrottle: { limit: 10, windowSeconds: 60 },
  collections: { tokens: 'partnerTokens' },
};

const status: ActionHandler = async (input: HandlerInput): Promise<HandlerOutput> => {
  if (input.requestMethod !== 'GET') return { responseCode: 405 };
  input.context.signal.throwIfAborted();
  const id: string | undefined = input.routeParameters['id'];
  return {
    responseCode: 200,
    responseBody: { id, verbose: input.queryParameters.has('verbose'), caller: input.context.tokenName },
    headers: { 'Cache-Control': 'no-store' },
  };
};
const restart: ProcedureHandler = async (parameters, context) => {
  logger.info({ encoderId: parameters['encoderId'], requestId: context.requestId }, 'restart');
};

export const udapi: UserDefinedApis = createUserDefinedApis(options)
  .registerHandler('encoders.status', status)
  .registerProcedure('encoders.restart', { parameters: ['encoderId'] }, restart)
  .on('change', (event: ChangeEvent) => logger.info({ objectId: event.objectId, action: event.action }, event.message));

export function describeToken(token: ApiToken | ApiTokenWithSecret): string {
  const limit = token.rateLimit ? token.rateLimit.limit + '/' + token.rateLimit.windowSeconds + 's' : 'unlimited';
  return token.name + ' (' + (token.isDisabled ? 'disabled' : 'enabled') + ', ' + limit + ', expires ' + (token.expiresAt ?? 'never') + ')' +
    ('secret' in token ? ': secret shown once' : '');
}

export function routesOf(page: Page<ApiDefinition>): string[] {
  return page.items.map((definition) => definition.actionType + ' ' + definition.actionMeta.name + ' at ' + definition.route +
    ' for ' + definition.securitySettings.allowedTokens.length + ' tokens');
}

export function statusOf(item: AdminErrorItem): number {
  const reason: ErrorReason = item.reason;
  return reason === 'RouteInUse' ? 409 : ErrorReasons[reason].status;
}

const rateLimited: ErrorCodeName = 'RateLimitExceeded';
export const rateLimitedCode: number = ErrorCodes[rateLimited].code;

export function sharedStore(redis: RedisClientLike): RateLimitStore {
  return createRedisRateLimitStore(redis, { prefix: 'partner:rl:' });
}

export const app = express();
app.use('/api/custom', udapi.endpoint());
app.use('/admin/udapi', udapi.adminRouter());

try {
  createUserDefinedApis({ ...options, bcryptRounds: 99 });
} catch (error) {
  if (error instanceof OptionsError) logger.error({ err: error.message }, 'bad option');
}

// @ts-expect-error responseCode is a number
export const wrongOutput: ActionHandler = () => ({ responseCode: 'x' });
// @ts-expect-error no such option
createUserDefinedApis({ ...options, noSuchOption: true });
// @ts-expect-error no such error reason
export const wrongReason: ErrorReason = 'NoSuchReason';
// @ts-expect-error a permission is its full name
export const wrongPermission: Permission = 'TokenRead';
// @ts-expect-error a procedure gets string parameters and a context, not the handler input
export const wrongProcedure: ProcedureHandler = (input: HandlerInput) => void input;
`;

/** The same mistake without @ts-expect-error, next to the host code of one project: tsc must refuse it, and only it. */
const WRONG_TS = `import type { ActionHandler } from '${PACKAGE}';

export const handler: ActionHandler = async () => ({ responseCode: 'x' });
`;

// skipLibCheck: checking express's and mongoose's typings takes 20 s; the package's own are checked by the TSDoc test.
function tsconfig(compilerOptions: object, files = ['host.ts']): string {
  return JSON.stringify({
    compilerOptions: {
      strict: true,
      target: 'ES2022',
      noEmit: true,
      esModuleInterop: true,
      skipLibCheck: true,
      types: ['node'],
      ...compilerOptions,
    },
    files,
  });
}

const tsc = (dir: string): Promise<Run> =>
  run(
    process.execPath,
    [path.join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', dir, '--pretty', 'false'],
    dir,
  );

/** The ES-module entry's default export is the CommonJS module, typed (an unused @ts-expect-error fails). */
const ESM_DEFAULT_TS = `import udapi, { createUserDefinedApis } from '${PACKAGE}';

export const factory: typeof createUserDefinedApis = udapi.createUserDefinedApis;
// @ts-expect-error the default export is typed, not any
export const wrong: number = udapi.generateSecret;
`;

/** A host's whole first day on the peers a fresh project gets: a token, a definition, calls with and without it. */
const LIFECYCLE_MJS = `import { createRequire } from 'node:module';
import express from 'express';
import mongoose from 'mongoose';
import { ALL_PERMISSIONS, createUserDefinedApis, generateSecret } from '${PACKAGE}';

const require = createRequire(import.meta.url);
const connection = mongoose.createConnection(process.env.MONGODB_URI, { dbName: process.env.DB_NAME, serverSelectionTimeoutMS: 5000 });
await connection.asPromise();
const udapi = createUserDefinedApis({
  connection,
  pepper: generateSecret(),
  bcryptRounds: 4,
  authenticateAdmin: (req) => (req.get('x-admin') === 'yes' ? { name: 'admin', permissions: ALL_PERMISSIONS } : null),
});
udapi.registerHandler('greetings.hello', (input) => ({ responseCode: 200, responseBody: { hello: input.routeParameters.name } }));
const app = express();
app.use('/api/custom', udapi.endpoint());
app.use('/admin/udapi', udapi.adminRouter());
await udapi.ready();
const server = app.listen(0, '127.0.0.1');
await new Promise((resolve) => server.once('listening', resolve));
const base = 'http://127.0.0.1:' + server.address().port;
const admin = (path, body) =>
  fetch(base + '/admin/udapi' + path, { method: 'POST', headers: { 'x-admin': 'yes', 'content-type': 'application/json' }, body: JSON.stringify(body) });
const tokenAnswer = await admin('/tokens', { name: 'partner' });
const token = await tokenAnswer.json();
const definitionAnswer = await admin('/definitions', {
  route: 'hello/{name}',
  actionMeta: { name: 'greetings.hello' },
  securitySettings: { allowedTokens: [token.id] },
});
const call = await fetch(base + '/api/custom/hello/world', { headers: { Authorization: 'Bearer ' + token.secret } });
const refused = await fetch(base + '/api/custom/hello/world', { headers: { Authorization: 'Bearer ' + generateSecret() } });
const result = {
  mongoose: mongoose.version,
  express: require('express/package.json').version,
  token: tokenAnswer.status,
  definition: definitionAnswer.status,
  call: { status: call.status, body: await call.json() },
  refused: { status: refused.status, errorCode: (await refused.json()).errors[0].errorCode },
  storedTokens: await connection.db.collection('udapiApiTokens').countDocuments(),
};
await new Promise((resolve) => server.close(resolve));
await udapi.close();
await connection.close();
console.log(JSON.stringify(result));
`;

/** A project outside the repository, so nothing resolves upwards: the tarball and the peers from \`npm install\`. */
async function freshProject(name: string, peers: string[], files: Record<string, string>): Promise<Run> {
  const dir = path.join(fresh, name);
  mkdirSync(dir);
  writeFileSync(
    path.join(dir, 'package.json'),
    JSON.stringify({ name: `udapi-fresh-${name}`, private: true, type: 'module' }),
  );
  for (const [file, text] of Object.entries(files)) writeFileSync(path.join(dir, file), text);
  const install = await run(
    'npm',
    ['install', '--no-audit', '--no-fund', '--prefer-offline', '--no-update-notifier', tarball, ...peers],
    dir,
  );
  if (install.code !== 0) return { ...install, stdout: `npm install failed:\n${install.stdout}` };
  return tsc(dir);
}

/** skipLibCheck off: every .d.ts tsc reaches is checked, the package's, its peers' and their @types. */
const FRESH_TSCONFIG = JSON.stringify({
  compilerOptions: {
    strict: true,
    target: 'ES2022',
    module: 'NodeNext',
    moduleResolution: 'NodeNext',
    noEmit: true,
    skipLibCheck: false,
  },
  files: ['host.ts', 'esm-default.ts'],
});

beforeAll(() => {
  ensureBuilt();
  mkdirSync(path.join(root, '.tmp'), { recursive: true });
  work = mkdtempSync(path.join(root, '.tmp', 'pack-samples-'));
  const output = execFileSync('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', work], {
    cwd: root,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, npm_config_update_notifier: 'false', npm_config_fund: 'false', npm_config_audit: 'false' },
  });
  const [info] = JSON.parse(output) as { filename: string; files: { path: string; mode: number }[] }[];
  packed = info!.files;
  tarball = path.join(work, info!.filename);

  // The type checks take the longest: they run in parallel, in the background of the other tests.
  const nodenext = { module: 'NodeNext', moduleResolution: 'NodeNext' };
  const projects = {
    'nodenext, type module': sample(
      'ts-esm',
      { type: 'module' },
      { 'host.ts': HOST_TS, 'tsconfig.json': tsconfig(nodenext) },
    ),
    'nodenext, type commonjs': sample(
      'ts-cjs',
      { type: 'commonjs' },
      { 'host.ts': HOST_TS, 'tsconfig.json': tsconfig(nodenext) },
    ),
    'bundler, with a wrong use': sample(
      'ts-bundler',
      { type: 'module' },
      {
        'host.ts': HOST_TS,
        'wrong.ts': WRONG_TS,
        'tsconfig.json': tsconfig({ module: 'ESNext', moduleResolution: 'Bundler' }, ['host.ts', 'wrong.ts']),
      },
    ),
  };
  typeChecks = Promise.all(Object.entries(projects).map(async ([name, dir]) => [name, await tsc(dir)] as const)).then(
    Object.fromEntries,
  );

  // The installs wait on the registry more than on the CPU: they run in the background too.
  fresh = mkdtempSync(path.join(os.tmpdir(), 'udapi-fresh-'));
  const files = { 'host.ts': HOST_TS, 'esm-default.ts': ESM_DEFAULT_TS, 'tsconfig.json': FRESH_TSCONFIG };
  freshInstalls = Promise.all([
    freshProject('latest', ['express@^5', 'mongoose@^9'], files),
    freshProject('oldest', ['express@^4.22.0', 'mongoose@^8'], { ...files, 'lifecycle.mjs': LIFECYCLE_MJS }),
  ]).then(([latest, oldest]) => ({ latest, oldest }));
}, 120_000);

afterAll(async () => {
  await typeChecks?.catch(() => undefined);
  await freshInstalls?.catch(() => undefined);
  if (work) rmSync(work, { recursive: true, force: true });
  if (fresh) rmSync(fresh, { recursive: true, force: true });
  try {
    rmdirSync(path.join(root, '.tmp')); // only when no other run is using it
  } catch {
    // not empty: another test run's samples
  }
});

describe('the packed package', () => {
  it('holds the built package and its documents, nothing else', () => {
    const files = packed.map((file) => file.path).sort();
    for (const file of [
      ...DOCUMENTS,
      'dist/index.js',
      'dist/index.mjs',
      'dist/index.d.ts',
      'dist/index.d.mts',
      'dist/cli/udapi.js',
      'dist/ui/index.html',
      'dist/ui/app.js',
      'dist/ui/app.css',
    ]) {
      expect(files).toContain(file);
    }
    // Only dist/ and the documents: no sources, tests, benchmarks, test database, dependencies, secrets or archives.
    // The README links to docs/: the pages and their screenshots ship with it, and nothing else of the repository.
    for (const page of readdirSync(path.join(root, 'docs'))) expect(files).toContain(`docs/${page}`);
    expect(
      files.filter((file) => !file.startsWith('dist/') && !file.startsWith('docs/') && !DOCUMENTS.includes(file)),
    ).toEqual([]);
    expect(files.filter((file) => /(^|\/)(\.env|\.npmrc|node_modules\/)|\.(pem|key|tgz|log)$/.test(file))).toEqual([]);
    expect(
      files.filter(
        (file) => file.startsWith('dist/') && !/\.(js|mjs|d\.ts|d\.mts)$/.test(file) && !file.startsWith('dist/ui/'),
      ),
    ).toEqual([]);
    // Every file of the admin UI is shipped.
    for (const asset of readdirSync(path.join(root, 'src', 'ui'))) expect(files).toContain(`dist/ui/${asset}`);

    // A source map is only worth shipping with its sources; a .js must not point at a map that is not shipped.
    const dir = sample('files', {}, {});
    const installed = path.join(dir, 'node_modules', PACKAGE);
    for (const map of files.filter((file) => file.endsWith('.map'))) {
      const { sources = [], sourcesContent } = JSON.parse(readFileSync(path.join(installed, map), 'utf8')) as {
        sources?: string[];
        sourcesContent?: unknown[];
      };
      if (!sourcesContent)
        for (const source of sources) expect(files).toContain(path.posix.join(path.posix.dirname(map), source));
    }
    for (const js of files.filter((file) => /\.m?js$/.test(file))) {
      const reference = /\/\/# sourceMappingURL=(\S+)\s*$/.exec(readFileSync(path.join(installed, js), 'utf8'));
      if (reference && !reference[1]!.startsWith('data:'))
        expect(files).toContain(path.posix.join(path.posix.dirname(js), reference[1]!));
    }

    // The bin is executable, in the tarball and once extracted.
    expect(packed.find((file) => file.path === 'dist/cli/udapi.js')!.mode & 0o111).toBe(0o111);
    expect(statSync(path.join(installed, 'dist', 'cli', 'udapi.js')).mode & 0o111).toBe(0o111);

    // Every file package.json points at is in the tarball.
    const manifest = JSON.parse(readFileSync(path.join(installed, 'package.json'), 'utf8')) as Record<string, unknown>;
    const targets = JSON.stringify([manifest.main, manifest.types, manifest.bin, manifest.exports]).match(
      /\.\/[\w./-]+/g,
    )!;
    for (const target of targets) expect(files).toContain(path.posix.normalize(target));
  });

  function expectWorking(output: Run, dir: string, entry: string): Record<string, unknown> {
    expect(output.stderr).toBe('');
    expect(output.code).toBe(0);
    const result = JSON.parse(output.stdout) as Record<string, unknown>;
    // The package came from the tarball, not from the repository.
    expect(result.resolved).toBe(path.join(dir, 'node_modules', PACKAGE, 'dist', entry));
    expect(result).toMatchObject({
      secretLength: 44,
      // Not ready (the connection never opened): the endpoint answers 503, code 7; the admin API asks for an admin.
      endpoint: { status: 503, errorCode: 7 },
      admin: { status: 401, reason: 'Unauthenticated' },
      duplicate: { isRegistrationError: true },
      optionsError: {
        isOptionsError: true,
        isTypeError: true,
        name: 'OptionsError',
        message: expect.stringContaining('pepper'),
      },
      catalogues: { rateLimitExceeded: 1014, notFound: 404, tokenRead: 'UserDefinableApiTokenRead', allPermissions: 7 },
    });
    return result;
  }

  it('works through require in a CommonJS project', async () => {
    const dir = sample(
      'cjs',
      { type: 'commonjs' },
      {
        'index.cjs': `'use strict';\nconst express = require('express');\nconst mongoose = require('mongoose');\nconst pkg = require('${PACKAGE}');\nconst resolved = require.resolve('${PACKAGE}');\n${SAMPLE_BODY}`,
      },
    );
    const result = expectWorking(await run(process.execPath, ['index.cjs'], dir), dir, 'index.js');
    expect(result.types).toMatchObject(RUNTIME_EXPORTS);
  }, 90_000);

  it('works through import in an ES-module project, named and default', async () => {
    const dir = sample(
      'esm',
      { type: 'module' },
      {
        'index.mjs':
          `import { fileURLToPath } from 'node:url';\nimport express from 'express';\nimport mongoose from 'mongoose';\nimport * as namespace from '${PACKAGE}';\nimport cjs, { createUserDefinedApis } from '${PACKAGE}';\n` +
          `const { default: _default, ...pkg } = namespace;\nif (cjs.createUserDefinedApis !== createUserDefinedApis || _default !== cjs) throw new Error('the default export is not the CommonJS module');\n` +
          `if (Object.keys(pkg).sort().join() !== Object.keys(cjs).sort().join()) throw new Error('the named exports are not those of the CommonJS module');\n` +
          `const resolved = fileURLToPath(import.meta.resolve('${PACKAGE}'));\n${SAMPLE_BODY}`,
      },
    );
    const result = expectWorking(await run(process.execPath, ['index.mjs'], dir), dir, 'index.mjs');
    expect(result.types).toMatchObject(RUNTIME_EXPORTS);
  }, 90_000);

  it('type-checks host code under strict in nodenext (module and commonjs) and bundler projects, and refuses a wrong use', async () => {
    const results = await typeChecks;
    for (const name of ['nodenext, type module', 'nodenext, type commonjs']) {
      expect({ name, code: results[name]!.code, output: results[name]!.stdout + results[name]!.stderr }).toEqual({
        name,
        code: 0,
        output: '',
      });
    }
    // The types are real, not any: the wrong use is refused, and it is the only error of the project.
    const bundler = results['bundler, with a wrong use']!;
    expect(bundler.code).toBe(2);
    expect(bundler.stdout.split('\n').filter((line) => /error TS\d+/.test(line))).toEqual([
      expect.stringMatching(/^wrong\.ts\(3,\d+\): error TS2322: .*responseCode: string/),
    ]);
    expect(bundler.stdout).toContain("Types of property 'responseCode' are incompatible.");
  }, 120_000);

  it('runs the packed udapi bin', async () => {
    const dir = sample('bin', {}, {});
    const help = await run(
      process.execPath,
      [path.join(dir, 'node_modules', PACKAGE, 'dist', 'cli', 'udapi.js'), '--help'],
      dir,
    );
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^Usage: udapi <command>/);
    expect(help.stdout).toContain('tokens create');
  }, 90_000);

  it('documents every export of its typings, and every member of the exported types', () => {
    const dts = path.join(sample('docs', {}, {}), 'node_modules', PACKAGE, 'dist', 'index.d.ts');
    const { missing, problems } = inspectTypings(dts);
    expect(problems).toEqual([]);
    expect(missing).toEqual([]);
  }, 90_000);
});

/** A process that prints `listening on <url>` once it serves; `url` resolves then, or rejects with its output. */
function serve(command: string, args: string[], cwd: string, env: Record<string, string>) {
  const child = spawn(command, args, {
    cwd,
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const url = new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`did not start:\n${output}`)), 30_000);
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const listening = /listening on (http:\S+)/.exec(output);
      if (listening) {
        clearTimeout(timer);
        resolve(listening[1]!);
      }
    });
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`exited with ${code}:\n${output}`));
    });
  });
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  };
  return { url, stop };
}

describe("the README's quick start", () => {
  const readme = readFileSync(path.join(root, 'README.md'), 'utf8');
  const server = /```js\n(\/\/ server\.mjs[\s\S]*?)```/.exec(readme)?.[1];
  const shell = /```sh\n(npm install express-user-defined-apis express mongoose\nexport MONGODB_URI[\s\S]*?)```/.exec(
    readme,
  )?.[1];

  it('runs server.mjs as written on MONGODB_URI: a token, a definition and a call, as its commands do', async () => {
    expect(server).toBeDefined();
    expect(shell).toBeDefined();
    // The requests below are the ones the commands make.
    for (const part of [
      '-H "x-admin-key: $ADMIN_KEY"',
      `-d '{"name":"first"}' localhost:3000/admin/udapi/tokens`,
      '\\"route\\":\\"hello/{name}\\",\\"actionMeta\\":{\\"name\\":\\"greetings.hello\\"},\\"securitySettings\\":{\\"allowedTokens\\":[\\"$TOKEN_ID\\"]}',
      'curl -s -H "Authorization: Bearer $SECRET" localhost:3000/api/custom/hello/world\n# {"hello":"world"}',
    ])
      expect(shell).toContain(part);

    const dir = sample('quick-start', { type: 'module' }, { 'server.mjs': server! });
    const dbName = `udapi_quick_${randomBytes(4).toString('hex')}`;
    const uri = new URL(process.env.MONGODB_URI!);
    uri.pathname = `/${dbName}`;
    const adminKey = randomBytes(24).toString('base64url');
    const env = {
      MONGODB_URI: uri.href,
      UDAPI_PEPPER: randomBytes(32).toString('base64'),
      ADMIN_KEY: adminKey,
      PORT: '0',
    };
    const first = serve(process.execPath, ['server.mjs'], dir, env);
    try {
      const base = await first.url;
      const admin = (route: string, body: object) =>
        fetch(`${base}/admin/udapi${route}`, {
          method: 'POST',
          headers: { 'x-admin-key': adminKey, 'content-type': 'application/json' },
          body: JSON.stringify(body),
        });
      expect(await admin('/tokens', { name: 'first' }).then((res) => res.status)).toBe(201);
      const refused = await fetch(`${base}/admin/udapi/tokens`, { headers: { 'x-admin-key': 'not-the-key' } });
      expect(refused.status).toBe(401);
      const token = (await (await admin('/tokens', { name: 'second' })).json()) as { id: string; secret: string };
      const definition = await admin('/definitions', {
        route: 'hello/{name}',
        actionMeta: { name: 'greetings.hello' },
        securitySettings: { allowedTokens: [token.id] },
      });
      expect(definition.status).toBe(201);
      const call = await fetch(`${base}/api/custom/hello/world`, {
        headers: { Authorization: `Bearer ${token.secret}` },
      });
      expect(await call.text()).toBe('{"hello":"world"}');
    } finally {
      await first.stop();
    }
    // Started again with another pepper, it refuses to start, as the README says.
    const again = serve(process.execPath, ['server.mjs'], dir, {
      ...env,
      UDAPI_PEPPER: randomBytes(32).toString('base64'),
    });
    await expect(again.url).rejects.toThrow(/PepperMismatchError/);
    const connection = await mongoose.createConnection(process.env.MONGODB_URI!, { dbName }).asPromise();
    await connection.dropDatabase();
    await connection.close();
  }, 90_000);
});

describe('a fresh install from the registry', () => {
  it('declares where it lives and what it is about', () => {
    const manifest = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as {
      repository: unknown;
      homepage: unknown;
      bugs: unknown;
      keywords: string[];
      dependencies: Record<string, string>;
      peerDependencies: Record<string, string>;
    };
    const repository = 'https://github.com/express-user-defined-apis/express-user-defined-apis';
    expect(manifest.repository).toEqual({ type: 'git', url: `git+${repository}.git` });
    expect(manifest.homepage).toBe(`${repository}#readme`);
    expect(manifest.bugs).toEqual({ url: `${repository}/issues` });
    expect(manifest.keywords).toEqual(expect.arrayContaining(['express', 'api-tokens', 'mongoose']));
    // The types the published .d.ts files import come with the package, not from the host's devDependencies.
    expect(Object.keys(manifest.dependencies)).toEqual(expect.arrayContaining(['@types/express', '@types/node']));
    expect(manifest.peerDependencies).toMatchObject({ express: '^4.22.0 || ^5.0.0', mongoose: '^8.0.0 || ^9.0.0' });
  });

  it('type-checks host code with only the package and its peers installed, skipLibCheck off, the default export typed', async () => {
    const { latest, oldest } = await freshInstalls;
    for (const [name, result] of Object.entries({ latest, oldest }))
      expect({ name, code: result.code, output: result.stdout + result.stderr }).toEqual({ name, code: 0, output: '' });
  }, 200_000);

  it('runs a token, a definition and calls on the oldest peers the ranges claim: mongoose 8 and Express 4', async () => {
    const { oldest } = await freshInstalls;
    expect(oldest.code).toBe(0); // installed (and type-checked)
    const dbName = `udapi_fresh_${randomBytes(4).toString('hex')}`;
    const lifecycle = await run(process.execPath, ['lifecycle.mjs'], path.join(fresh, 'oldest'), {
      MONGODB_URI: process.env.MONGODB_URI!,
      DB_NAME: dbName,
    });
    const connection = await mongoose.createConnection(process.env.MONGODB_URI!, { dbName }).asPromise();
    await connection.dropDatabase();
    await connection.close();
    expect(lifecycle.stderr).toBe('');
    expect(lifecycle.code).toBe(0);
    expect(JSON.parse(lifecycle.stdout)).toEqual({
      mongoose: expect.stringMatching(/^8\./),
      express: expect.stringMatching(/^4\./),
      token: 201,
      definition: 201,
      call: { status: 200, body: { hello: 'world' } },
      refused: { status: 401, errorCode: 1010 },
      storedTokens: 1,
    });
  }, 200_000);
});

/**
 * The package's typings as tsc sees them: `problems` are the errors in the package's own .d.ts files (an import
 * that does not resolve, a type that does not exist, a broken `{@link}`); `missing` names every exported symbol of
 * `dts` without a doc comment, and every member (property, method, accessor; inherited ones too) of the exported
 * interfaces, classes and object-type aliases that has none. Members from outside the package (e.g. Error's) are
 * skipped; so are the fields of an object type written inline in a property's type (the property's doc covers them).
 */
function inspectTypings(dts: string): { missing: string[]; problems: string[] } {
  const program = ts.createProgram([dts], {
    strict: true,
    noEmit: true,
    skipLibCheck: false, // diagnostics are read for the package's own files only
    module: ts.ModuleKind.Node16,
    moduleResolution: ts.ModuleResolutionKind.Node16,
    types: ['node'],
  });
  const checker = program.getTypeChecker();
  const packageDir = path.dirname(dts) + path.sep;
  const missing: string[] = [];
  const documented = (symbol: ts.Symbol): boolean =>
    symbol.getDocumentationComment(checker).some((part) => part.text.trim() !== '');
  const literalsIn = (node: ts.TypeNode | undefined): ts.TypeLiteralNode[] => {
    if (!node) return [];
    if (ts.isTypeLiteralNode(node)) return [node];
    if (ts.isUnionTypeNode(node) || ts.isIntersectionTypeNode(node)) return node.types.flatMap(literalsIn);
    if (ts.isParenthesizedTypeNode(node)) return literalsIn(node.type);
    return [];
  };
  const symbolsOf = (literal: ts.TypeLiteralNode): ts.Symbol[] =>
    literal.members
      .flatMap((node) => (node.name ? [checker.getSymbolAtLocation(node.name)] : []))
      .filter((symbol): symbol is ts.Symbol => symbol !== undefined);
  const checkMembers = (owner: string, members: readonly ts.Symbol[]): void => {
    for (const member of members) {
      const declarations = (member.declarations ?? []).filter((declaration) =>
        path.resolve(declaration.getSourceFile().fileName).startsWith(packageDir),
      );
      if (declarations.length === 0) continue;
      if (
        declarations.every(
          (declaration) =>
            ts.getCombinedModifierFlags(declaration) & (ts.ModifierFlags.Private | ts.ModifierFlags.Protected),
        )
      )
        continue;
      if (!documented(member)) missing.push(`${owner}.${member.name}`);
    }
  };

  const moduleSymbol = checker.getSymbolAtLocation(program.getSourceFile(dts)!)!;
  for (const exported of checker.getExportsOfModule(moduleSymbol)) {
    const symbol = exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported;
    if (!documented(symbol)) missing.push(exported.name);
    for (const declaration of symbol.declarations ?? []) {
      if (ts.isInterfaceDeclaration(declaration) || ts.isClassDeclaration(declaration)) {
        checkMembers(exported.name, checker.getPropertiesOfType(checker.getDeclaredTypeOfSymbol(symbol)));
      } else if (ts.isTypeAliasDeclaration(declaration)) {
        for (const literal of literalsIn(declaration.type)) checkMembers(exported.name, symbolsOf(literal));
      }
    }
  }
  const problems = program
    .getSourceFiles()
    .filter((file) => path.resolve(file.fileName).startsWith(packageDir))
    .flatMap((file) => [...program.getSyntacticDiagnostics(file), ...program.getSemanticDiagnostics(file)])
    .map(
      (diagnostic) =>
        `${path.relative(packageDir, diagnostic.file!.fileName)}: ${ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n')}`,
    );
  return { missing: [...new Set(missing)], problems };
}
