// The README's admin sign-in recipes, run as written: express-session alone, and passport (passport-local) on it,
// each in a real host process on the built package and the test database.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import mongoose from 'mongoose';
import { ensureBuilt } from './helpers/instances';

const root = path.join(__dirname, '..');
const readme = readFileSync(path.join(root, 'README.md'), 'utf8');

/** The README's JavaScript block whose first line is `// recipe: <name>`. */
function recipe(name: string): string {
  const block = [...readme.matchAll(/```js\n([\s\S]*?)```/g)]
    .map((match) => match[1]!)
    .find((code) => code.startsWith(`// recipe: ${name}\n`));
  if (!block) throw new Error(`README.md has no block starting with // recipe: ${name}`);
  return block;
}

/** The `adminSession` of the express-session recipe, which the passport recipe reuses ("the one above"). */
function adminSessionOf(code: string): string {
  const match =
    /import session from 'express-session';\n[\s\S]*?\nconst adminSession = session\(\{[\s\S]*?\n\}\);\n/.exec(code);
  if (!match) throw new Error('The express-session recipe no longer declares adminSession');
  return match[0];
}

/** What the recipes leave to the host: its admins, `checkPassword`, `findAdmin`, the app and the connection. */
const PRELUDE = `import express from 'express';
import mongoose from 'mongoose';
import { ALL_PERMISSIONS, Permissions, createUserDefinedApis } from '${pathToFileURL(path.join(root, 'dist', 'index.mjs')).href}';

const ADMINS = new Map([
  ['alice', { password: 'alice-password', permissions: ALL_PERMISSIONS }],
  ['victor', { password: 'victor-password', permissions: [Permissions.TokenRead, Permissions.DefinitionRead] }],
]);
async function findAdmin(name) {
  const admin = ADMINS.get(name);
  return admin ? { name, permissions: admin.permissions } : null;
}
async function checkPassword(username, password) {
  return ADMINS.get(username)?.password === password ? findAdmin(username) : null;
}
const connection = mongoose.createConnection(process.env.MONGODB_URI, { dbName: process.env.DB_NAME });
const app = express();
`;

const EPILOGUE = `
udapi.registerHandler('test.echo', () => ({ responseCode: 200 }));
await udapi.ready();
const server = app.listen(0, '127.0.0.1', () => console.log('READY ' + server.address().port));
process.on('SIGTERM', async () => {
  server.close();
  await udapi.close();
  await connection.close();
  process.exit(0);
});
`;

let work: string;
const running: ChildProcess[] = [];
const databases: string[] = [];

beforeAll(() => {
  ensureBuilt();
  mkdirSync(path.join(root, '.tmp'), { recursive: true });
  work = mkdtempSync(path.join(root, '.tmp', 'recipes-')); // inside the repository: passport resolves from it
});

afterAll(async () => {
  for (const child of running) {
    if (child.exitCode !== null) continue;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  }
  for (const dbName of databases) {
    const connection = await mongoose.createConnection(process.env.MONGODB_URI!, { dbName }).asPromise();
    await connection.dropDatabase();
    await connection.close();
  }
  rmSync(work, { recursive: true, force: true });
});

/** Runs the host as a process; resolves its base URL once it listens. */
async function host(name: string, code: string): Promise<string> {
  const file = path.join(work, `${name}.mjs`);
  writeFileSync(file, PRELUDE + code + EPILOGUE);
  const dbName = `udapi_recipe_${randomBytes(4).toString('hex')}`;
  databases.push(dbName);
  const child = spawn(process.execPath, [file], {
    env: {
      PATH: process.env.PATH ?? '',
      MONGODB_URI: process.env.MONGODB_URI!,
      DB_NAME: dbName,
      UDAPI_PEPPER: 'recipe-test-pepper-0123456789-abcdefghij',
      SESSION_SECRET: randomBytes(32).toString('base64'),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.push(child);
  let output = '';
  const port = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the host did not start:\n${output}`)), 30_000);
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const ready = /READY (\d+)/.exec(output);
      if (ready) {
        clearTimeout(timer);
        resolve(ready[1]!);
      }
    });
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('exit', (code) => reject(new Error(`the host exited with ${code}:\n${output}`)));
  });
  return `http://127.0.0.1:${port}`;
}

/** Signs in through the recipe's login route; the session cookie, or null when refused. */
async function signIn(base: string, username: string, password: string): Promise<string | null> {
  const res = await fetch(`${base}/admin/login`, {
    method: 'POST',
    body: new URLSearchParams({ username, password }),
    redirect: 'manual',
  });
  if (res.status === 401) return null;
  expect(res.status).toBe(204);
  const [cookie, ...more] = res.headers.getSetCookie();
  expect(more).toEqual([]);
  expect(cookie).toMatch(/; HttpOnly/);
  expect(cookie).toMatch(/; SameSite=Strict/);
  return cookie!.split(';')[0]!;
}

async function exerciseRecipe(base: string): Promise<void> {
  const admin = (cookie: string | null, method = 'GET', body?: object) =>
    fetch(`${base}/admin/udapi${method === 'GET' ? '/me' : '/tokens'}`, {
      method,
      headers: { 'content-type': 'application/json', ...(cookie && { cookie }) },
      ...(body && { body: JSON.stringify(body) }),
    });
  expect((await admin(null)).status).toBe(401);
  expect(await signIn(base, 'alice', 'wrong-password')).toBeNull();
  expect(await signIn(base, 'nobody', 'alice-password')).toBeNull();

  const alice = (await signIn(base, 'alice', 'alice-password'))!;
  const me = await admin(alice);
  expect(me.status).toBe(200);
  expect(await me.json()).toMatchObject({
    name: 'alice',
    permissions: expect.arrayContaining(['UserDefinableApiTokenCreateUpdate']),
  });
  const created = await admin(alice, 'POST', { name: 'from-a-session' });
  expect(created.status).toBe(201);
  expect(await created.json()).toMatchObject({ name: 'from-a-session', createdBy: 'alice' });

  // A read-only admin reads and is refused a write; a made-up cookie is no session at all.
  const victor = (await signIn(base, 'victor', 'victor-password'))!;
  expect(await (await admin(victor)).json()).toMatchObject({ name: 'victor' });
  const refused = await admin(victor, 'POST', { name: 'not-allowed' });
  expect(refused.status).toBe(403);
  const { errors } = (await refused.json()) as { errors: unknown[] };
  expect(errors[0]).toMatchObject({ reason: 'MissingPermission' });
  expect((await admin(`connect.sid=s%3A${randomBytes(16).toString('hex')}.forged`)).status).toBe(401);
}

describe("the README's admin sign-in recipes", () => {
  it('express-session: req.session.admin', async () => {
    await exerciseRecipe(await host('express-session', recipe('express-session')));
  }, 60_000);

  it('passport: req.user, on the same adminSession', async () => {
    const code = adminSessionOf(recipe('express-session')) + recipe('passport');
    await exerciseRecipe(await host('passport', code));
  }, 60_000);
});
