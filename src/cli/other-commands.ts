// `udapi events list`, `udapi export` and `udapi import`, on EventLog and BackupService.
import { createReadStream, createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { UsageError } from '../errors';
import type { EventFilter } from '../services/event-log';
import { eventOperations } from '../http/event-routes';
import { queryValidator } from '../http/validate';
import type { ChangeAction, ObjectType } from '../types';
import { stringOption, type CommandDef } from './command-line';
import { all, EVENT_COLUMNS, eventRow, table } from './output';
import { printable, printableJson } from './printable';

const DEFAULT_EVENTS = 100;
const MAX_EVENTS = 100_000;

const events: CommandDef = {
  name: 'events list',
  synopsis: '[--object-type TYPE] [--object-id ID] [--action ACTION] [--limit N]',
  summary: 'Information events (created, updated, deleted), newest first',
  options: {
    'object-type': 'ApiToken or ApiDefinition',
    'object-id': 'the events of this token or definition',
    action: 'created, updated or deleted',
    limit: `at most N events (default ${DEFAULT_EVENTS}, at most ${MAX_EVENTS})`,
  },
  args: [],
  prepare(invocation) {
    const { values } = invocation;
    const limitText = stringOption(values, 'limit') ?? String(DEFAULT_EVENTS);
    const limit = /^\d{1,6}$/.test(limitText) ? Number(limitText) : NaN;
    if (!(limit >= 1 && limit <= MAX_EVENTS))
      invocation.fail(`--limit takes a whole number from 1 to ${MAX_EVENTS} (got '${printable(limitText)}').`);
    const objectType = stringOption(values, 'object-type');
    const objectId = stringOption(values, 'object-id');
    const action = stringOption(values, 'action');
    // The admin API's query rules for GET /events: the same refusals.
    const query = queryValidator<{ objectType?: ObjectType; objectId?: string; action?: ChangeAction }>(
      eventOperations.list.query,
    )({
      ...(objectType !== undefined && { objectType }),
      ...(objectId !== undefined && { objectId }),
      ...(action !== undefined && { action }),
    });
    const filter: EventFilter = {
      objectTypes: query.objectType ? [query.objectType] : ['ApiToken', 'ApiDefinition'],
      ...(query.objectId !== undefined && { objectId: query.objectId }),
      ...(query.action !== undefined && { action: query.action }),
    };
    return async ({ internals, show }) => {
      const list = await all((cursor) => internals.events.list(filter, Math.min(limit, 500), cursor), limit);
      show(list, () => table(list.map(eventRow), EVENT_COLUMNS));
    };
  },
};

const exportBackup: CommandDef = {
  name: 'export',
  synopsis: '[--out FILE]',
  summary: 'Write a backup (digests and hashes, never secrets)',
  options: { out: 'write it to FILE (created with mode 0600) instead of standard output' },
  args: [],
  prepare({ values, json }) {
    const file = stringOption(values, 'out');
    return async ({ internals, ctx, show }) => {
      const out = file !== undefined ? createWriteStream(file, { mode: 0o600 }) : process.stdout;
      // Escaped like --json output (the same values once parsed), as the backup may well be printed to a terminal.
      for await (const chunk of internals.backups.exportJson(ctx))
        if (!out.write(printableJson(chunk))) await once(out, 'drain');
      if (out === process.stdout) return;
      out.end();
      await once(out, 'finish');
      const warning = 'it holds every digest and hash: keep it as safe as the database';
      if (json) show({ file, warning }, () => '');
      else process.stderr.write(`Wrote ${printable(file!)} (${warning}).\n`);
    };
  },
};

async function readJson(file: string): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of file === '-' ? process.stdin : createReadStream(file)) chunks.push(chunk as Buffer);
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new UsageError(
      `${file === '-' ? 'Standard input' : printable(file)} is not JSON; give the file \`udapi export\` wrote.`,
    );
  }
}

const importBackup: CommandDef = {
  name: 'import',
  synopsis: 'FILE',
  summary: 'Restore a backup ("-" reads standard input); all or nothing',
  options: {},
  args: ['FILE'],
  async prepare({ args: [file] }) {
    // Read before connecting: a file that is missing or not JSON needs no database to be refused.
    const backup = await readJson(file!);
    return async ({ internals, ctx, show }) => {
      // The app's handlers are not registered here: the app refuses unknown ones at call time (ActionNotFound).
      const result = await internals.backups.import(backup, ctx, { checkActions: false });
      show(result, () => `Imported ${result.tokens} token(s) and ${result.definitions} definition(s).`);
    };
  },
};

export const OTHER_COMMANDS: readonly CommandDef[] = [events, exportBackup, importBackup];
