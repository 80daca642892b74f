// Counts endpoint calls per token, definition and minute in memory, and writes them in batches off the request path.
import type { AnyBulkWriteOperation } from 'mongoose';
import { batchesOf } from '../database/batches';
import { errorSummary } from '../logging';
import { settledWithin } from '../shared/settled-within';
import type { UsageBucketSize, UsageDoc, UsageModel } from '../models/usage';
import type { Logger } from '../types';

const MINUTE_MS = 60_000;
const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;
/** Token × definition pairs counted per interval; more are dropped (and logged), so memory stays bounded. */
export const MAX_USAGE_KEYS = 100_000;
/** Upserts per bulk request (FerretDB v1.24 hung on one update command of 100 or more statements). */
const WRITE_BATCH = 50;
const PRUNE_INTERVAL_MS = HOUR_MS;
/** How long close() waits for the last write: a loaded FerretDB took over 2 s for one batch at the soak's end. */
export const USAGE_STOP_WAIT_MS = 10_000;

/** What one token × definition pair did in one minute. */
interface Counts {
  ok: number;
  clientErrors: number;
  serverErrors: number;
  durationMs: number;
  /** Made at the first refusal of the minute: most pairs never have one. */
  refusals: Map<string, number> | null;
}

/** minute start (ms) → token id → definition id → counts. */
type Minutes = Map<number, Map<string, Map<string, Counts>>>;

export interface UsageCounterOptions {
  intervalMs: number;
  minuteRetentionDays: number;
  hourRetentionDays: number;
  instanceId: string;
}

/*
 * A call costs a few map lookups: the counts of a pair are made at its first call of a minute and then only added
 * to. Each interval the pending minutes are swapped out and written as upserts with $inc, into one document per
 * minute and one per hour (rolled up as they are written, so no job has to roll them up later), each holding only
 * this instance's counts: instances never $inc the same document, which FerretDB would not do atomically. Retention
 * is a prune on a timer (FerretDB has no TTL index). A failed write keeps its counts for the next interval.
 */
export class UsageCounter {
  private pending: Minutes = new Map();
  private keys = 0;
  private dropped = 0;
  private timer: NodeJS.Timeout | undefined;
  private pruneTimer: NodeJS.Timeout | undefined;
  private running: Promise<void> | null = null;
  /** Bucket writes that failed, tried again first at the next interval (at most MAX_USAGE_KEYS). */
  private retry: BucketWrite[] = [];

  constructor(
    private readonly model: UsageModel,
    private readonly options: UsageCounterOptions,
    private readonly log: Logger,
  ) {}

  /** One finished call. `refusal`: why the endpoint refused or failed it (null: the action answered). */
  record(tokenId: string, definitionId: string, status: number, durationMs: number, refusal: string | null): void {
    const now = Date.now();
    const minute = now - (now % MINUTE_MS);
    let tokens = this.pending.get(minute);
    if (tokens === undefined) {
      tokens = new Map();
      this.pending.set(minute, tokens);
    }
    let definitions = tokens.get(tokenId);
    if (definitions === undefined) {
      definitions = new Map();
      tokens.set(tokenId, definitions);
    }
    let counts = definitions.get(definitionId);
    if (counts === undefined) {
      if (this.keys >= MAX_USAGE_KEYS) {
        this.dropped++;
        return;
      }
      this.keys++;
      counts = { ok: 0, clientErrors: 0, serverErrors: 0, durationMs: 0, refusals: null };
      definitions.set(definitionId, counts);
    }
    if (status < 400) counts.ok++;
    else if (status < 500) counts.clientErrors++;
    else counts.serverErrors++;
    counts.durationMs += durationMs;
    if (refusal !== null) {
      counts.refusals ??= new Map();
      counts.refusals.set(refusal, (counts.refusals.get(refusal) ?? 0) + 1);
    }
  }

  start(): void {
    this.timer ??= setInterval(() => {
      if (this.running === null) void this.flush();
    }, this.options.intervalMs);
    this.timer.unref();
    if (this.pruneTimer === undefined) {
      const prune = (): void =>
        void this.prune().catch((error: unknown) =>
          this.log.warn({ err: errorSummary(error) }, 'Could not prune expired usage counts'),
        );
      this.pruneTimer = setInterval(prune, PRUNE_INTERVAL_MS);
      this.pruneTimer.unref();
      prune();
    }
  }

  /** Stops the timers and writes what is pending, waiting at most USAGE_STOP_WAIT_MS (a failure is logged). */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    clearInterval(this.pruneTimer);
    this.timer = undefined;
    this.pruneTimer = undefined;
    if (!(await settledWithin(this.flush(), USAGE_STOP_WAIT_MS)))
      this.log.warn(
        { waitedMs: USAGE_STOP_WAIT_MS },
        'close() stopped waiting for the last usage counts to be written; if the connection closes now, they are lost',
      );
  }

  /** Writes every pending count now (after one under way); resolves when written or logged as failed. */
  async flush(): Promise<void> {
    while (this.running !== null) await this.running;
    if (this.pending.size === 0 && this.retry.length === 0 && this.dropped === 0) return;
    this.running = this.write().finally(() => (this.running = null));
    await this.running;
  }

  /** Deletes the documents past their retention; returns how many. */
  async prune(now = new Date()): Promise<number> {
    const result = await this.model.deleteMany({ expiresAt: { $lt: now } }).exec();
    return result.deletedCount;
  }

  private async write(): Promise<void> {
    const minutes = this.pending;
    this.pending = new Map();
    this.keys = 0;
    if (this.dropped > 0) {
      this.log.warn(
        { dropped: this.dropped, maxPairs: MAX_USAGE_KEYS },
        `Usage: ${this.dropped} call(s) of token and API pairs beyond the ${MAX_USAGE_KEYS} counted per interval were not counted`,
      );
      this.dropped = 0;
    }
    const writes = [...this.retry, ...this.operationsOf(minutes)];
    this.retry = [];
    for (const batch of batchesOf(writes, WRITE_BATCH)) {
      try {
        await this.model.bulkWrite(
          batch.map((entry) => entry.operation),
          { ordered: false },
        );
      } catch (error) {
        // Tried again at the next interval; a write the database applied but did not confirm may then count twice.
        const kept = batch.slice(0, Math.max(0, MAX_USAGE_KEYS - this.retry.length));
        this.retry.push(...kept);
        this.log.warn(
          { err: errorSummary(error), buckets: batch.length, kept: kept.length },
          'Could not write usage counts; they are tried again at the next interval',
        );
      }
    }
  }

  private operationsOf(minutes: Minutes): BucketWrite[] {
    const writes: BucketWrite[] = [];
    const hours = new Map<string, BucketWrite>();
    for (const [minute, tokens] of minutes)
      for (const [tokenId, definitions] of tokens)
        for (const [definitionId, counts] of definitions) {
          const key = { tokenId, definitionId };
          writes.push(this.bucketWrite('minute', minute, key, counts));
          const hour = minute - (minute % HOUR_MS);
          const hourKey = `${hour}|${tokenId}|${definitionId}`;
          const known = hours.get(hourKey);
          if (known) addCounts(known.counts, counts);
          else hours.set(hourKey, this.bucketWrite('hour', hour, key, copyCounts(counts)));
        }
    // Hour writes are rebuilt from their (merged) counts now that every minute is in.
    for (const entry of hours.values()) writes.push(this.bucketWrite('hour', entry.at, entry.key, entry.counts));
    return writes;
  }

  private bucketWrite(size: UsageBucketSize, at: number, key: PairKey, counts: Counts): BucketWrite {
    const { instanceId } = this.options;
    const retentionDays = size === 'minute' ? this.options.minuteRetentionDays : this.options.hourRetentionDays;
    const inc: Record<string, number> = {
      ok: counts.ok,
      clientErrors: counts.clientErrors,
      serverErrors: counts.serverErrors,
      durationMs: counts.durationMs,
    };
    for (const [reason, count] of counts.refusals ?? []) inc[`refusals.${reason}`] = count;
    const operation: AnyBulkWriteOperation<UsageDoc> = {
      updateOne: {
        filter: { _id: `${size}|${at}|${instanceId}|${key.tokenId}|${key.definitionId}` },
        update: {
          $inc: inc,
          $setOnInsert: {
            size,
            at: new Date(at),
            instanceId,
            tokenId: key.tokenId,
            definitionId: key.definitionId,
            expiresAt: new Date(at + (size === 'minute' ? MINUTE_MS : HOUR_MS) + retentionDays * DAY_MS),
          },
        },
        upsert: true,
      },
    };
    return { size, at, key, counts, operation };
  }
}

interface PairKey {
  tokenId: string;
  definitionId: string;
}

interface BucketWrite {
  size: UsageBucketSize;
  at: number;
  key: PairKey;
  counts: Counts;
  operation: AnyBulkWriteOperation<UsageDoc>;
}

function copyCounts(counts: Counts): Counts {
  return { ...counts, refusals: counts.refusals && new Map(counts.refusals) };
}

function addCounts(into: Counts, from: Counts): void {
  into.ok += from.ok;
  into.clientErrors += from.clientErrors;
  into.serverErrors += from.serverErrors;
  into.durationMs += from.durationMs;
  for (const [reason, count] of from.refusals ?? []) {
    into.refusals ??= new Map();
    into.refusals.set(reason, (into.refusals.get(reason) ?? 0) + count);
  }
}
