// Reads usage counts back as a series of buckets (all instances summed), and the busiest tokens or APIs of a period.
import { AdminError } from '../errors';
import type { UsageDoc, UsageModel } from '../models/usage';

export type UsageBucket = 'minute' | 'hour' | 'day';

const BUCKET_MS: Record<UsageBucket, number> = { minute: 60_000, hour: 3_600_000, day: 86_400_000 };
/** Buckets per answer at most: a day of minutes, a month of hours, a year of days. */
export const MAX_BUCKETS: Record<UsageBucket, number> = { minute: 1440, hour: 744, day: 366 };
/** The period asked for when `from` is left out: the last hour, day or month. */
const DEFAULT_SPAN: Record<UsageBucket, number> = { minute: 60, hour: 24, day: 30 };
/** Groups per answer at most. */
export const MAX_GROUPS = 100;

export interface UsageQuery {
  tokenId?: string;
  definitionId?: string;
  bucket: UsageBucket;
  /** ISO times; `to` defaults to now, `from` to a span of DEFAULT_SPAN buckets before it. */
  from?: string;
  to?: string;
  /** Instead of only the series: the tokens or APIs of the period, busiest (or most refused) first. */
  groupBy?: 'token' | 'definition';
  sort?: 'calls' | 'refusals';
}

/** What happened in one bucket, or in a whole period. */
export interface UsageCounts {
  /** Every call counted: ok + clientErrors + serverErrors. */
  calls: number;
  /** Answered below 400. */
  ok: number;
  /** Answered 400-499 (499: the client went away first). */
  clientErrors: number;
  /** Answered 500 and over. */
  serverErrors: number;
  /** The sum of the calls' durations from arrival to the response, in ms. */
  durationMs: number;
  /** The endpoint's refusals and failures by reason (unknown_secret, rate_limited, InvalidInput, ...). */
  refusals: Record<string, number>;
}

export interface UsagePoint extends UsageCounts {
  /** The bucket's start, ISO-8601 UTC. */
  at: string;
}

export interface UsageGroup extends UsageCounts {
  /** The token's or definition's id; '' for calls no token authenticated (or that matched no API). */
  id: string;
  /** The token's name or the API's route as this instance knows them now; null when it has none (deleted). */
  label: string | null;
}

export interface UsageReport {
  bucket: UsageBucket;
  from: string;
  to: string;
  /** Every bucket of the period, oldest first, zeros included. */
  series: UsagePoint[];
  totals: UsageCounts;
  /** With groupBy: at most MAX_GROUPS, sorted by calls (or refusals), most first. */
  groups?: UsageGroup[];
}

export interface UsageReaderDeps {
  model: UsageModel;
  /** The name of a token or the route of a definition, as the in-memory view has it now. */
  labelOf: (kind: 'token' | 'definition', id: string) => string | null;
}

function zero(): UsageCounts {
  return { calls: 0, ok: 0, clientErrors: 0, serverErrors: 0, durationMs: 0, refusals: {} };
}

function add(
  into: UsageCounts,
  doc: Pick<UsageDoc, 'ok' | 'clientErrors' | 'serverErrors' | 'durationMs' | 'refusals'>,
) {
  into.ok += doc.ok;
  into.clientErrors += doc.clientErrors;
  into.serverErrors += doc.serverErrors;
  into.calls += doc.ok + doc.clientErrors + doc.serverErrors;
  into.durationMs += doc.durationMs;
  for (const [reason, count] of Object.entries(doc.refusals ?? {}))
    into.refusals[reason] = (into.refusals[reason] ?? 0) + count;
}

function refusalsOf(counts: UsageCounts): number {
  return Object.values(counts.refusals).reduce((sum, count) => sum + count, 0);
}

function invalid(field: string, message: string): AdminError {
  return AdminError.of('InvalidRequest', message, { field });
}

export class UsageReader {
  constructor(private readonly deps: UsageReaderDeps) {}

  async report(query: UsageQuery, now = Date.now()): Promise<UsageReport> {
    const size = BUCKET_MS[query.bucket];
    const to = alignUp(query.to === undefined ? now : timeOf(query.to, 'to'), size);
    const from =
      query.from === undefined ? to - DEFAULT_SPAN[query.bucket] * size : alignDown(timeOf(query.from, 'from'), size);
    if (from >= to) throw invalid('from', '`from` must be before `to`.');
    if ((to - from) / size > MAX_BUCKETS[query.bucket])
      throw invalid(
        'from',
        `At most ${MAX_BUCKETS[query.bucket]} ${query.bucket} buckets per request; ask for a shorter period or a larger bucket.`,
      );
    const filter: Record<string, unknown> = {
      size: query.bucket === 'minute' ? 'minute' : 'hour',
      at: { $gte: new Date(from), $lt: new Date(to) },
    };
    if (query.tokenId !== undefined) filter.tokenId = query.tokenId;
    if (query.definitionId !== undefined) filter.definitionId = query.definitionId;

    const buckets = new Map<number, UsageCounts>();
    const groups = new Map<string, UsageCounts>();
    const totals = zero();
    const cursor = this.deps.model
      .find(filter, {
        _id: 0,
        at: 1,
        tokenId: 1,
        definitionId: 1,
        ok: 1,
        clientErrors: 1,
        serverErrors: 1,
        durationMs: 1,
        refusals: 1,
      })
      .lean<UsageDoc>()
      .cursor();
    for await (const doc of cursor) {
      const at = alignDown(doc.at.getTime(), size);
      let bucket = buckets.get(at);
      if (!bucket) buckets.set(at, (bucket = zero()));
      add(bucket, doc);
      add(totals, doc);
      if (query.groupBy) {
        const id = query.groupBy === 'token' ? doc.tokenId : doc.definitionId;
        let group = groups.get(id);
        if (!group) groups.set(id, (group = zero()));
        add(group, doc);
      }
    }
    const series: UsagePoint[] = [];
    for (let at = from; at < to; at += size)
      series.push({ at: new Date(at).toISOString(), ...(buckets.get(at) ?? zero()) });
    const report: UsageReport = {
      bucket: query.bucket,
      from: new Date(from).toISOString(),
      to: new Date(to).toISOString(),
      series,
      totals,
    };
    if (query.groupBy) {
      const kind = query.groupBy;
      const score = query.sort === 'refusals' ? refusalsOf : (counts: UsageCounts) => counts.calls;
      report.groups = [...groups]
        .map(([id, counts]) => ({ id, label: id === '' ? null : this.deps.labelOf(kind, id), ...counts }))
        .sort((a, b) => score(b) - score(a) || a.id.localeCompare(b.id))
        .slice(0, MAX_GROUPS);
    }
    return report;
  }
}

function timeOf(text: string, field: string): number {
  const time = Date.parse(text);
  if (Number.isNaN(time)) throw invalid(field, `\`${field}\` must be an ISO-8601 date and time.`);
  return time;
}

function alignDown(time: number, size: number): number {
  return time - (((time % size) + size) % size);
}

function alignUp(time: number, size: number): number {
  const down = alignDown(time, size);
  return down === time ? time : down + size;
}
