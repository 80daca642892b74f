// The `udapi` command line as words: which command, its options and arguments, and the usage texts. Everything here
// runs before any database connection, so bad usage is reported at once (exit code 2).
import { parseArgs } from 'node:util';
import { UsageError } from '../errors';
import type { ChangeContext } from '../services/change-context';
import type { Internals } from '../plugin';

/** Every option of every command, with its type; each command accepts only the ones it lists. */
const OPTION_TYPES = {
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean', short: 'v' },
  search: { type: 'string' },
  name: { type: 'string' },
  disabled: { type: 'boolean' },
  enabled: { type: 'boolean' },
  'rate-limit': { type: 'string' },
  'expires-at': { type: 'string' },
  'grace-until': { type: 'string' },
  out: { type: 'string', short: 'o' },
  route: { type: 'string' },
  action: { type: 'string' },
  'action-type': { type: 'string' },
  'input-type': { type: 'string' },
  description: { type: 'string' },
  tokens: { type: 'string' },
  'object-type': { type: 'string' },
  'object-id': { type: 'string' },
  limit: { type: 'string' },
  scope: { type: 'string', multiple: true },
  'no-scopes': { type: 'boolean' },
  'required-scope': { type: 'string', multiple: true },
  'no-required-scopes': { type: 'boolean' },
  metadata: { type: 'string' },
  'input-file': { type: 'string' },
  'no-input': { type: 'boolean' },
  token: { type: 'string' },
  definition: { type: 'string' },
  bucket: { type: 'string' },
  from: { type: 'string' },
  to: { type: 'string' },
  by: { type: 'string' },
  sort: { type: 'string' },
} as const;

export type OptionName = keyof typeof OPTION_TYPES;

/** Options every command takes. */
const GLOBAL_OPTIONS: ReadonlySet<string> = new Set(['json', 'help']);

export type Values = Partial<Record<OptionName, string | boolean | string[]>>;

/** What a command works with once connected: the plugin's services, who makes the change, and how to print. */
export interface Env {
  internals: Internals;
  ctx: ChangeContext;
  /** Prints `value` as JSON with --json, else `text()`; both escaped (stored text cannot reach the terminal raw). */
  show: (value: unknown, text: () => string) => void;
}

/** What a command does once the database is connected. */
export type Action = (env: Env) => Promise<void>;

/** The command line of one command, checked against its definition. */
export interface Invocation {
  /** The command words, e.g. `tokens create`. */
  name: string;
  values: Values;
  /** The arguments after the command words, as many as the command names. */
  args: string[];
  json: boolean;
  /** Throws a usage error with this command's usage. */
  fail: (message: string) => never;
}

export interface CommandDef {
  /** The command words: `tokens create`, `export`. */
  name: string;
  /** What follows the command words in the usage, e.g. `ID [--grace-until ISO]`. */
  synopsis: string;
  summary: string;
  /** The options this command takes besides --json and --help, each with what it means here. */
  options: Partial<Record<OptionName, string>>;
  /** A line of the full usage that explains a word of the synopsis (several commands may share one). */
  note?: string;
  /** The names of its arguments, e.g. ['ID']; each is required. */
  args: readonly string[];
  /** Checks the rest of the command line (a usage error for a bad one) and returns what to run once connected. */
  prepare: (invocation: Invocation) => Action | Promise<Action>;
}

export const FOOTER = `Options of every command: --json (JSON output for scripts), --help (this command's usage).
Global: udapi --version, udapi --help.
Environment: MONGODB_URI (required), UDAPI_PEPPER (required, the app's pepper), UDAPI_DB (database name, if not in
the URI), UDAPI_USER (the name written to the audit fields and events; default cli:<login name>),
UDAPI_SECRET_PREFIX (the app's secretPrefix option, for the secrets the command line generates).
Exit codes: 0 done, 1 refused or failed (the reasons are printed), 2 bad usage or configuration.`;

const COLUMN = 58;

function usageLine(command: CommandDef): string {
  const left = `  ${command.name} ${command.synopsis}`.trimEnd();
  return left.length + 2 <= COLUMN
    ? `${left.padEnd(COLUMN)}${command.summary}`
    : `${left}\n${' '.repeat(COLUMN)}${command.summary}`;
}

/** `udapi --help`: every command, one line each. */
export function fullUsage(commands: readonly CommandDef[]): string {
  const notes = [...new Set(commands.flatMap((command) => (command.note === undefined ? [] : [command.note])))];
  return `Usage: udapi <command> [options]\n\nCommands:\n${commands.map(usageLine).join('\n')}\n\n${[...notes, FOOTER].join('\n')}`;
}

/** One command's usage: its synopsis, what it does, and each of its options. */
export function commandUsage(command: CommandDef): string {
  const options = Object.entries(command.options).map(([name, meaning]) => `  --${name.padEnd(14)}${meaning}`);
  return [
    `Usage: udapi ${command.name} ${command.synopsis}`.trimEnd(),
    '',
    command.summary,
    ...(options.length > 0 ? ['', 'Options:', ...options] : []),
    '',
    'And --json (JSON output), --help. Run `udapi --help` for every command.',
  ].join('\n');
}

function groupUsage(commands: readonly CommandDef[], group: string): string | undefined {
  const members = commands.filter((command) => command.name.split(' ')[0] === group);
  if (members.length === 0) return undefined;
  return `Usage: udapi ${group} <command> [options]\n\nCommands:\n${members.map(usageLine).join('\n')}\n\nRun \`udapi ${group} <command> --help\` for one command's options.`;
}

/** The command the words name (`export`, `import` take no second word), and the words after it. */
function commandOf(
  commands: readonly CommandDef[],
  words: string[],
): { command: CommandDef | undefined; rest: string[] } {
  const one = commands.find((command) => command.name === words[0]);
  if (one) return { command: one, rest: words.slice(1) };
  const two = commands.find((command) => command.name === `${words[0]} ${words[1]}`);
  return { command: two, rest: words.slice(2) };
}

/** The usage to show for a command line that did not parse: its command's if its words name one. */
function usageFor(commands: readonly CommandDef[], argv: string[]): string {
  const words = argv.filter((arg) => !arg.startsWith('-'));
  const { command } = commandOf(commands, words);
  if (command) return commandUsage(command);
  return (words[0] !== undefined && groupUsage(commands, words[0])) || fullUsage(commands);
}

/** What to do: print a usage or the version, or run a command. */
export type Parsed =
  | { kind: 'usage'; text: string }
  | { kind: 'version'; json: boolean }
  | { kind: 'run'; command: CommandDef; invocation: Invocation };

function tokenize(commands: readonly CommandDef[], argv: string[]) {
  try {
    const { values, positionals, tokens } = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      tokens: true,
      options: OPTION_TYPES,
    });
    // The same option twice is a mistake (which one was meant?), not a silent "the last one wins"; only an option
    // that takes a list (--scope a --scope b) may repeat.
    const seen = new Set<string>();
    for (const token of tokens) {
      if (token.kind !== 'option' || isListOption(token.name)) continue;
      if (seen.has(token.name)) throw new Error(`Option '--${token.name}' is given more than once.`);
      seen.add(token.name);
    }
    return { values: values as Values, positionals };
  } catch (error) {
    throw new UsageError((error as Error).message, usageFor(commands, argv));
  }
}

/** The command line checked against the commands: the first problem is a UsageError with the usage to print, before any connection. */
export function parseCommandLine(commands: readonly CommandDef[], argv: string[]): Parsed {
  const { values, positionals } = tokenize(commands, argv);
  if (values.version === true) {
    const others = Object.keys(values).filter((name) => name !== 'version' && name !== 'json');
    if (others.length > 0 || positionals.length > 0)
      throw new UsageError('--version takes no command or other option.', fullUsage(commands));
    return { kind: 'version', json: values.json === true };
  }
  if (positionals.length === 0) {
    if (values.help === true) return { kind: 'usage', text: fullUsage(commands) };
    throw new UsageError('No command given.', fullUsage(commands));
  }
  const { command, rest } = commandOf(commands, positionals);
  if (!command) {
    const [group, second] = positionals;
    const inGroup = groupUsage(commands, group!);
    if (inGroup && values.help === true && second === undefined) return { kind: 'usage', text: inGroup };
    const message =
      inGroup && second === undefined
        ? `\`udapi ${group}\` needs a command.`
        : `Unknown command '${positionals.join(' ')}'.`;
    throw new UsageError(message, inGroup ?? fullUsage(commands));
  }
  if (values.help === true) return { kind: 'usage', text: commandUsage(command) };
  const fail = (message: string): never => {
    throw new UsageError(message, commandUsage(command));
  };
  checkInvocation(command, values, rest, fail);
  return {
    kind: 'run',
    command,
    invocation: { name: command.name, values, args: rest, json: values.json === true, fail },
  };
}

function checkInvocation(command: CommandDef, values: Values, rest: string[], fail: (message: string) => never): void {
  for (const name of Object.keys(values))
    if (!GLOBAL_OPTIONS.has(name) && !(name in command.options))
      fail(`\`udapi ${command.name}\` has no option --${name}.`);
  if (rest.length < command.args.length)
    fail(`\`udapi ${command.name}\` needs ${command.args.slice(rest.length).join(' ')}.`);
  if (rest.length > command.args.length) fail(`Unexpected argument '${rest[command.args.length]}'.`);
}

function isListOption(name: string): boolean {
  const type = OPTION_TYPES[name as OptionName] as { multiple?: boolean } | undefined;
  return type?.multiple === true;
}

/** A list option's values (each time it was given), or undefined when it was not given. */
export function listOption(values: Values, name: OptionName): string[] | undefined {
  const value = values[name];
  return Array.isArray(value) ? value : undefined;
}

/**
 * A list option that has a `--no-…` switch for the empty list (`--scope A --scope B` or `--no-scopes`): the list,
 * [] for the switch, undefined when neither is given; both at once is a usage error.
 */
export function listOrNoneOption(invocation: Invocation, name: OptionName, none: OptionName): string[] | undefined {
  const given = listOption(invocation.values, name);
  if (given !== undefined && invocation.values[none] === true)
    invocation.fail(`Give --${name} or --${none}, not both.`);
  return invocation.values[none] === true ? [] : given;
}

/** A string option's value, or undefined when it was not given. */
export function stringOption(values: Values, name: OptionName): string | undefined {
  const value = values[name];
  return typeof value === 'string' ? value : undefined;
}

/** A required string option: a usage error when it is missing. */
export function requiredOption(invocation: Invocation, name: OptionName): string {
  return stringOption(invocation.values, name) ?? invocation.fail(`\`udapi ${invocation.name}\` needs --${name}.`);
}
