// `udapi usage`: the calls counted per minute, hour or day as a sparkline and totals, and per token or API as a table.
import { AdminError } from '../errors';
import { usageOperations } from '../http/usage-routes';
import { queryValidator } from '../http/validate';
import type { Internals } from '../plugin';
import type { UsageCounts, UsagePoint, UsageQuery, UsageReport } from '../usage/usage-reader';
import { stringOption, type CommandDef } from './command-line';
import { table } from './output';
import { printable } from './printable';

/** The sparkline's marks, lowest first; an empty bucket is a space, so that one call still shows. */
const MARKS = '▁▂▃▄▅▆▇█';
/** Marks per line at most: a day of minutes (1440) would wrap on any terminal, so buckets are summed in runs. */
const MAX_MARKS = 120;

/** One mark per value, scaled to the largest; zero is a space, anything above it at least ▁. */
export function sparkline(values: readonly number[]): string {
  const max = Math.max(0, ...values);
  return values
    .map((value) =>
      value <= 0 ? ' ' : MARKS[Math.min(MARKS.length - 1, Math.ceil((value / max) * MARKS.length) - 1)]!,
    )
    .join('');
}

/** The series' calls in runs of `per` buckets, so that the line has at most MAX_MARKS marks. */
function runs(series: readonly UsagePoint[]): { values: number[]; per: number } {
  const per = Math.max(1, Math.ceil(series.length / MAX_MARKS));
  const values: number[] = [];
  for (let i = 0; i < series.length; i += per)
    values.push(series.slice(i, i + per).reduce((sum, point) => sum + point.calls, 0));
  return { values, per };
}

/** `reason n, reason n`, most first (the order an operator looks for), or `none`. */
function refusalList(refusals: Record<string, number>): string {
  const entries = Object.entries(refusals).sort(([a, x], [b, y]) => y - x || a.localeCompare(b));
  return entries.length === 0 ? 'none' : entries.map(([reason, count]) => `${reason} ${count}`).join(', ');
}

function totalsLine(totals: UsageCounts): string {
  const mean = totals.calls === 0 ? '-' : `${(totals.durationMs / totals.calls).toFixed(1)} ms`;
  return (
    `calls ${totals.calls}  ok ${totals.ok}  4xx ${totals.clientErrors}  5xx ${totals.serverErrors}  ` +
    `mean ${mean}  refusals: ${refusalList(totals.refusals)}`
  );
}

function plural(count: number, bucket: string): string {
  return `${count} ${bucket}${count === 1 ? '' : 's'}`;
}

/** The header: whose calls, the period and the bucket; names are the catalog's now (null once deleted). */
function header(report: UsageReport, query: UsageQuery, internals: Internals, per: number): string {
  const whose: string[] = [];
  if (query.tokenId !== undefined) {
    const name = internals.catalog.tokenById(query.tokenId)?.name;
    whose.push(`token ${query.tokenId}${name === undefined ? '' : ` (${name})`}`);
  }
  if (query.definitionId !== undefined) {
    const route = internals.catalog.definitionById(query.definitionId)?.route;
    whose.push(`API ${query.definitionId}${route === undefined ? '' : ` (${route})`}`);
  }
  const of = whose.length > 0 ? whose.join(', ') : 'all tokens and APIs';
  const marks = per > 1 ? `, one mark per ${plural(per, report.bucket)}` : '';
  return `Calls per ${report.bucket} of ${of}, ${report.from} to ${report.to} (${plural(report.series.length, report.bucket)}${marks})`;
}

const GROUP_COUNTS = ['calls', 'ok', '4xx', '5xx', 'refusals'];

function groupRows(report: UsageReport, by: 'token' | 'definition'): Record<string, string>[] {
  const labelColumn = by === 'token' ? 'name' : 'route';
  return (report.groups ?? []).map((group) => ({
    // '' is the calls no token authenticated, or that matched no API; a null label, an object since deleted.
    [labelColumn]: group.id === '' ? `(${by === 'token' ? 'no token' : 'no API'})` : (group.label ?? '(deleted)'),
    id: group.id,
    calls: String(group.calls),
    ok: String(group.ok),
    '4xx': String(group.clientErrors),
    '5xx': String(group.serverErrors),
    refusals: refusalList(group.refusals),
  }));
}

/** The report as text; every stored name and route is escaped (table() escapes its cells). */
export function usageText(report: UsageReport, query: UsageQuery, internals: Internals): string {
  const { values, per } = runs(report.series);
  const max = Math.max(0, ...values);
  const unit = per > 1 ? plural(per, report.bucket) : report.bucket;
  const lines = [
    printable(header(report, query, internals, per)),
    `│${sparkline(values)}│ max ${max} per ${unit}`,
    totalsLine(report.totals),
  ];
  if (query.groupBy !== undefined) {
    const columns = [query.groupBy === 'token' ? 'name' : 'route', 'id', ...GROUP_COUNTS];
    lines.push('', table(groupRows(report, query.groupBy), columns));
  }
  return lines.join('\n');
}

const usage: CommandDef = {
  name: 'usage',
  synopsis:
    '[--token ID] [--definition ID] [--bucket minute|hour|day] [--from ISO] [--to ISO] [--by token|definition] [--sort calls|refusals]',
  summary: 'Calls per minute, hour or day: a sparkline and totals, per token or API',
  options: {
    token: "this token's calls only",
    definition: "this API's calls only",
    bucket: 'minute, hour (the default) or day: at most 1440 minutes, 744 hours or 366 days',
    from: 'the period starts at ISO (default: 60 minutes, 24 hours or 30 days before --to)',
    to: 'the period ends at ISO (default: now, its bucket included)',
    by: 'also a table of the tokens or APIs of the period (at most 100), busiest first',
    sort: 'orders the table of --by: by calls (the default) or refusals',
  },
  args: [],
  prepare(invocation) {
    const { values } = invocation;
    const given = (name: 'token' | 'definition' | 'bucket' | 'from' | 'to' | 'by' | 'sort') =>
      stringOption(values, name);
    // The command line never ignores an option, and --sort orders only the groups.
    if (given('sort') !== undefined && given('by') === undefined)
      invocation.fail('--sort orders the table of --by: give --by token or --by definition too.');
    const raw = {
      tokenId: given('token'),
      definitionId: given('definition'),
      bucket: given('bucket'),
      from: given('from'),
      to: given('to'),
      groupBy: given('by'),
      sort: given('sort'),
    };
    // The admin API's query rules for GET /usage: the same refusals, before connecting.
    const checked = queryValidator<Partial<UsageQuery>>(usageOperations.report.query)(
      Object.fromEntries(Object.entries(raw).filter(([, value]) => value !== undefined)),
    );
    const query: UsageQuery = { ...checked, bucket: checked.bucket ?? 'hour' };
    return async ({ internals, show }) => {
      const reader = internals.usageReader;
      if (reader === null) throw AdminError.of('NotFound', 'Usage counting is off (the usage option).');
      const report = await reader.report(query);
      show(report, () => usageText(report, query, internals));
    };
  },
};

export const USAGE_COMMANDS: readonly CommandDef[] = [usage];
