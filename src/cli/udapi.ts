#!/usr/bin/env node
// The `udapi` command line: tokens, definitions, events, usage, export and import, on the app's database with the
// package's own rules. The command line is checked in full before any connection; the commands call the services
// directly.
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import mongoose from 'mongoose';
import { AdminError, OptionsError, PepperMismatchError, UsageError } from '../errors';
import { createUserDefinedApis, internalsOf } from '../plugin';
import type { Logger } from '../types';
import type { ChangeContext } from '../services/change-context';
import { ALL_PERMISSIONS } from '../permissions';
import { parseCommandLine, type Action, type CommandDef } from './command-line';
import { TOKEN_COMMANDS } from './token-commands';
import { DEFINITION_COMMANDS } from './definition-commands';
import { OTHER_COMMANDS } from './other-commands';
import { USAGE_COMMANDS } from './usage-command';
import { refusal } from './output';
import { printable, printableJson } from './printable';

const COMMANDS: readonly CommandDef[] = [
  ...TOKEN_COMMANDS,
  ...DEFINITION_COMMANDS,
  ...OTHER_COMMANDS,
  ...USAGE_COMMANDS,
];

const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {}, child: () => silentLogger };

/** The installed package's version (dist/cli/udapi.js is two folders below its package.json). */
function version(): string {
  const file = path.join(__dirname, '..', '..', 'package.json');
  return (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version;
}

function required(name: string): string {
  const value = process.env[name];
  if (!value)
    throw new UsageError(
      `${name} is not set. ${name === 'UDAPI_PEPPER' ? 'Use the pepper of the app whose tokens these are.' : "Point it at the app's database."}`,
    );
  return value;
}

/** Connects to the app's database, builds the plugin there (no routes served) and runs the action as UDAPI_USER. */
async function connectAndRun(action: Action, json: boolean): Promise<void> {
  const uri = required('MONGODB_URI');
  const pepper = required('UDAPI_PEPPER');
  const connection = mongoose.createConnection(uri, {
    serverSelectionTimeoutMS: 5000,
    ...(process.env.UDAPI_DB && { dbName: process.env.UDAPI_DB }),
  });
  let udapi: ReturnType<typeof createUserDefinedApis> | undefined;
  try {
    await connection.asPromise();
    udapi = createUserDefinedApis({
      connection,
      pepper,
      authenticateAdmin: () => null,
      logger: silentLogger,
      instanceId: `udapi-cli:${process.pid}`,
      // The app's secretPrefix, so secrets the command line generates look like the app's.
      ...(process.env.UDAPI_SECRET_PREFIX && { secretPrefix: process.env.UDAPI_SECRET_PREFIX }),
    });
    await udapi.ready();
    const user = process.env.UDAPI_USER ?? `cli:${os.userInfo().username}`;
    const ctx: ChangeContext = {
      user: { name: user, permissions: [...ALL_PERMISSIONS] },
      traceId: `cli-${process.pid}`,
    };
    // Every text embeds stored data (names, routes, users): escaped, in JSON as JSON escapes.
    const show = (value: unknown, text: () => string) =>
      process.stdout.write(`${json ? printableJson(JSON.stringify(value, null, 2)) : text()}\n`);
    await action({ internals: internalsOf(udapi), ctx, show });
  } finally {
    await udapi?.close().catch(() => undefined);
    await connection.close().catch(() => undefined);
  }
}

/** Prints why the command did not run or failed; returns the exit code. */
function report(error: unknown, json: boolean): number {
  if (error instanceof UsageError && error.usage !== undefined) {
    process.stderr.write(`${printable(error.message)}\n\n${error.usage}\n`);
    return 2;
  }
  if (error instanceof UsageError || error instanceof OptionsError) {
    process.stderr.write(`${printable(error.message)}\n\nRun \`udapi --help\` for the commands.\n`);
    return 2;
  }
  if (error instanceof PepperMismatchError) {
    // Configuration, like a missing UDAPI_PEPPER: nothing was read or written.
    process.stderr.write(`${printable(error.message)}\n`);
    return 2;
  }
  if (error instanceof AdminError) {
    process.stderr.write(`${refusal(error, json)}\n`);
    return 1;
  }
  // Driver and option errors carry no secrets; their message says what went wrong (e.g. the database is down).
  process.stderr.write(`${printable(`${(error as Error).name}: ${(error as Error).message}`)}\n`);
  return 1;
}

async function main(argv: string[]): Promise<number> {
  const json = argv.includes('--json');
  try {
    const parsed = parseCommandLine(COMMANDS, argv);
    if (parsed.kind === 'usage') {
      process.stdout.write(`${parsed.text}\n`);
      return 0;
    }
    if (parsed.kind === 'version') {
      process.stdout.write(`${parsed.json ? JSON.stringify({ version: version() }) : version()}\n`);
      return 0;
    }
    const action = await parsed.command.prepare(parsed.invocation);
    await connectAndRun(action, parsed.invocation.json);
    return 0;
  } catch (error) {
    return report(error, json);
  }
}

void main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
