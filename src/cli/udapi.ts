#!/usr/bin/env node
// The `udapi` command line: tokens, definitions, export and import, on the database with the package's own rules.
import { createReadStream, createWriteStream } from 'node:fs';
import { once } from 'node:events';
import os from 'node:os';
import { parseArgs } from 'node:util';
import mongoose from 'mongoose';
import { AdminError } from '../errors';
import { createUserDefinedApis, internalsOf, type Internals } from '../plugin';
import type { ApiToken, Logger } from '../types';
import type { ChangeContext } from '../services/change-context';
import { ALL_PERMISSIONS } from '../permissions';
import { OptionsError } from '../options';
import { hasExpired } from '../catalog/catalog';
import { printable, printableJson } from './printable';

const USAGE = `Usage: udapi <command> [options]

Commands:
  tokens list [--search TEXT] [--disabled | --enabled]   List tokens (newest first)
  tokens create --name NAME [--rate-limit N/SECONDS] [--expires-at ISO]
                                                          Create a token; prints its secret once
  tokens disable ID | tokens enable ID                    Refuse or accept a token's calls
  tokens rotate ID [--grace-until ISO]                    New secret (printed once); the old one works until ISO
  tokens delete ID                                        Delete a token no definition allows
  definitions list [--search TEXT]                        List definitions
  export [--out FILE]                                     Write a backup (digests and hashes, never secrets)
  import FILE                                             Restore a backup ("-" reads standard input); all or nothing

Options: --json (machine-readable output), --help.
Environment: MONGODB_URI (required), UDAPI_PEPPER (required, the app's pepper), UDAPI_DB (database name, if not in
the URI), UDAPI_USER (the name written to the audit fields and events; default cli:<login name>).
Exit codes: 0 done, 1 refused or failed (the reasons are printed), 2 bad usage or configuration.`;

class UsageError extends Error {}

const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {}, child: () => silentLogger };

interface Options {
  json: boolean;
  values: Record<string, string | boolean | undefined>;
  positionals: string[];
}

function parse(argv: string[]): Options {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
      search: { type: 'string' },
      disabled: { type: 'boolean' },
      enabled: { type: 'boolean' },
      name: { type: 'string' },
      'rate-limit': { type: 'string' },
      'expires-at': { type: 'string' },
      'grace-until': { type: 'string' },
      out: { type: 'string', short: 'o' },
    },
  });
  return { json: values.json === true, values, positionals };
}

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new UsageError(`${name} is not set. ${name === 'UDAPI_PEPPER' ? 'Use the pepper of the app whose tokens these are.' : 'Point it at the app\'s database.'}`);
  return value;
}

/** Columns of stored data: every cell is escaped (printable) before it is measured and padded. */
function table(rawRows: Record<string, string>[], columns: string[]): string {
  if (rawRows.length === 0) return '(none)';
  const rows = rawRows.map((row) => Object.fromEntries(Object.entries(row).map(([column, cell]) => [column, printable(cell)])));
  const widths = columns.map((column) => Math.max(column.length, ...rows.map((row) => (row[column] ?? '').length)));
  const line = (cells: string[]) => cells.map((cell, i) => cell.padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(columns), line(widths.map((width) => '-'.repeat(width))), ...rows.map((row) => line(columns.map((column) => row[column] ?? '')))].join('\n');
}

function tokenRow(token: ApiToken): Record<string, string> {
  const expired = token.expiresAt !== null && hasExpired(Date.parse(token.expiresAt));
  return {
    id: token.id,
    name: token.name,
    state: token.isDisabled ? 'disabled' : expired ? 'expired' : 'enabled',
    'rate limit': token.rateLimit ? `${token.rateLimit.limit}/${token.rateLimit.windowSeconds}s` : '-',
    expires: token.expiresAt ?? 'never',
    'last used': token.lastUsedAt ?? 'never',
  };
}

function rateLimitOf(text: string | undefined): { limit: number; windowSeconds: number } | undefined {
  if (text === undefined) return undefined;
  const match = /^(\d+)\/(\d+)$/.exec(text);
  if (!match) throw new UsageError(`--rate-limit takes REQUESTS/SECONDS, e.g. 10/60 (got '${text}').`);
  return { limit: Number(match[1]), windowSeconds: Number(match[2]) };
}

/** Every page of a list, following the cursor. */
async function all<T>(page: (cursor?: string) => Promise<{ items: T[]; nextCursor: string | null }>): Promise<T[]> {
  const items: T[] = [];
  let cursor: string | undefined;
  do {
    const next = await page(cursor);
    items.push(...next.items);
    cursor = next.nextCursor ?? undefined;
  } while (cursor !== undefined);
  return items;
}

async function readJson(file: string): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of file === '-' ? process.stdin : createReadStream(file)) chunks.push(chunk as Buffer);
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new UsageError(`${file === '-' ? 'Standard input' : file} is not JSON; give the file \`udapi export\` wrote.`);
  }
}

async function run(internals: Internals, options: Options, ctx: ChangeContext, print: (text: string) => void): Promise<void> {
  const [group, command, id] = options.positionals;
  const { values } = options;
  // Every text here embeds stored data (names, routes, users): escaped, in JSON as JSON escapes.
  const show = (value: unknown, text: () => string) => print(options.json ? printableJson(JSON.stringify(value, null, 2)) : text());
  const needId = () => {
    if (!id) throw new UsageError(`\`udapi ${group} ${command}\` needs a token id.`);
    return id;
  };
  // export and import take no subcommand (import's second word is its file).
  switch (group === 'export' || group === 'import' ? group : `${group} ${command ?? ''}`.trim()) {
    case 'tokens list': {
      const filter = {
        ...(typeof values.search === 'string' && { search: values.search }),
        ...(values.disabled === true && { isDisabled: true }),
        ...(values.enabled === true && { isDisabled: false }),
      };
      const tokens = await all((cursor) => internals.tokens.list(filter, 500, cursor));
      show(tokens, () => table(tokens.map(tokenRow), ['id', 'name', 'state', 'rate limit', 'expires', 'last used']));
      return;
    }
    case 'tokens create': {
      if (typeof values.name !== 'string') throw new UsageError('`udapi tokens create` needs --name.');
      const rateLimit = rateLimitOf(values['rate-limit'] as string | undefined);
      const { token, generatedSecret } = await internals.tokens.create({
        name: values.name,
        ...(rateLimit && { rateLimit }),
        ...(typeof values['expires-at'] === 'string' && { expiresAt: values['expires-at'] }),
      }, ctx);
      show({ ...token, secret: generatedSecret }, () => `Created token ${printable(token.name)} (${token.id}).\nSecret (shown only this once; keep it safe):\n${generatedSecret}`);
      return;
    }
    case 'tokens disable':
    case 'tokens enable': {
      const token = await internals.tokens.update(needId(), { isDisabled: command === 'disable' }, ctx);
      show(token, () => `Token ${printable(token.name)} (${token.id}) is ${token.isDisabled ? 'disabled' : 'enabled'}.`);
      return;
    }
    case 'tokens rotate': {
      const grace = values['grace-until'];
      const { token, generatedSecret } = await internals.tokens.rotate(needId(), typeof grace === 'string' ? { previousSecretExpiresAt: grace } : {}, ctx);
      const until = token.previousSecretExpiresAt ? `The previous secret works until ${token.previousSecretExpiresAt}.` : 'The previous secret no longer works.';
      show({ ...token, secret: generatedSecret }, () => `Rotated token ${printable(token.name)} (${token.id}). ${until}\nNew secret (shown only this once):\n${generatedSecret}`);
      return;
    }
    case 'tokens delete': {
      await internals.tokens.delete(needId(), ctx);
      show({ deleted: id }, () => `Deleted token ${printable(id ?? '')}.`);
      return;
    }
    case 'definitions list': {
      const filter = typeof values.search === 'string' ? { search: values.search } : {};
      const definitions = await all((cursor) => internals.definitions.list(filter, 500, cursor));
      show(definitions, () => table(definitions.map((definition) => ({
        id: definition.id,
        route: definition.route,
        action: `${definition.actionType} ${definition.actionMeta.name}`,
        tokens: String(definition.securitySettings.allowedTokens.length),
        name: definition.name ?? '',
      })), ['id', 'route', 'action', 'tokens', 'name']));
      return;
    }
    case 'export': {
      const out = typeof values.out === 'string' ? createWriteStream(values.out, { mode: 0o600 }) : process.stdout;
      // Escaped like --json output (the same values once parsed), as the backup may well be printed to a terminal.
      for await (const chunk of internals.backups.exportJson(ctx)) if (!out.write(printableJson(chunk))) await once(out, 'drain');
      if (out !== process.stdout) {
        out.end();
        await once(out, 'finish');
        process.stderr.write(`Wrote ${values.out as string} (it holds every digest and hash: keep it as safe as the database).\n`);
      }
      return;
    }
    case 'import': {
      const file = command;
      if (!file) throw new UsageError('`udapi import` needs a file (or - for standard input).');
      // The app's handlers are not registered here: the app refuses unknown ones at call time (ActionNotFound).
      const result = await internals.backups.import(await readJson(file), ctx, { checkActions: false });
      show(result, () => `Imported ${result.tokens} token(s) and ${result.definitions} definition(s).`);
      return;
    }
    default:
      throw new UsageError(group ? `Unknown command '${options.positionals.join(' ')}'.` : 'No command given.');
  }
}

async function main(argv: string[]): Promise<number> {
  let options: Options;
  try {
    options = parse(argv);
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n\n${USAGE}\n`);
    return 2;
  }
  if (options.values.help === true || options.positionals.length === 0) {
    (options.values.help === true ? process.stdout : process.stderr).write(`${USAGE}\n`);
    return options.values.help === true ? 0 : 2;
  }
  let connection: mongoose.Connection | undefined;
  let udapi: ReturnType<typeof createUserDefinedApis> | undefined;
  try {
    const uri = required('MONGODB_URI');
    const pepper = required('UDAPI_PEPPER');
    connection = mongoose.createConnection(uri, { serverSelectionTimeoutMS: 5000, ...(process.env.UDAPI_DB && { dbName: process.env.UDAPI_DB }) });
    await connection.asPromise();
    udapi = createUserDefinedApis({ connection, pepper, authenticateAdmin: () => null, logger: silentLogger, instanceId: `udapi-cli:${process.pid}` });
    await udapi.ready();
    const user = process.env.UDAPI_USER ?? `cli:${os.userInfo().username}`;
    const ctx: ChangeContext = { user: { name: user, permissions: [...ALL_PERMISSIONS] }, traceId: `cli-${process.pid}` };
    await run(internalsOf(udapi), options, ctx, (text) => process.stdout.write(`${text}\n`));
    return 0;
  } catch (error) {
    if (error instanceof UsageError || error instanceof OptionsError) {
      process.stderr.write(`${error.message}\n\nRun \`udapi --help\` for the commands.\n`);
      return 2;
    }
    if (error instanceof AdminError) {
      // Messages quote stored data (a conflicting route) and ids from the command line: escaped like everything else.
      for (const item of error.items) process.stderr.write(`${printable(`${item.reason}${item.field ? ` (${item.field})` : ''}${item.id ? ` ${item.id}` : ''}: ${item.message}`)}\n`);
      return 1;
    }
    // Driver and option errors carry no secrets; their message says what went wrong (e.g. the database is down).
    process.stderr.write(`${printable(`${(error as Error).name}: ${(error as Error).message}`)}\n`);
    return 1;
  } finally {
    await udapi?.close().catch(() => undefined);
    await connection?.close().catch(() => undefined);
  }
}

void main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
