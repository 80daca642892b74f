// Coalesces token last-use times: remembered in memory per call, written once per interval, read back from others.
import { randomUUID } from 'node:crypto';
import type { mongo } from 'mongoose';
import type { ApiTokenModel } from '../models/api-token';
import { LAST_USE_RECORD_SIZE, type LastUseDoc, type LastUseModel } from '../models/last-use';
import { errorSummary } from '../logging';
import { settledWithin } from '../shared/settled-within';
import { batchesOf } from '../database/batches';
import type { WriteGate } from '../database/write-gate';
import type { Logger } from '../types';
import type { Catalog } from './catalog';

/** At most this many tokens wait for their write; more distinct tokens in one interval are dropped (and logged). */
const MAX_PENDING = 100_000;
/**
 * Updates per bulk request, so one flush never sends an unbounded command. Well under 100: FerretDB v1.24
 * (SQLite) hung on a single update command of 100 or more statements in our tests, and never answered.
 */
const WRITE_BATCH = 50;
/**
 * How long close() waits for the last write. It may first wait for a write under way (never for a read-back: when
 * it read every token, it took more than 10 s at 100,000 tokens on FerretDB under load and close() lost its write).
 */
export const LAST_USE_STOP_WAIT_MS = 10_000;
/**
 * Intervals a use record is kept. A reader takes the records written since two intervals before its previous read;
 * a reader later than this (a stalled process) misses some, which its next full reload of the view brings back.
 */
const RECORD_KEPT_INTERVALS = 10;

/*
 * How it stays cheap and right. A call only sets one map entry (no I/O on the request's path). Every interval
 * the instance writes each used token's newest time with $max (null and a missing field count as older), so a
 * slower instance never moves a time backwards, and touches nothing else (no lastModified, no change record, no
 * event: a use is not an admin change). It also adds the same uses to the use records (a small collection of its
 * own), and then reads back the records written since two intervals before its previous read, which covers every
 * other instance's write of the interval, and puts them in its in-memory view, so lists served from memory show
 * uses made on any instance, at most about two intervals late. Reading records rather than the tokens' times is
 * what keeps the read-back small: on FerretDB a query on `lastUsedAt` read every token (100,000 on the bench,
 * about a core for seconds every interval on each instance), where the records are a few documents an interval.
 */
export class LastUseRecorder {
  private pending = new Map<string, number>();
  private dropped = 0;
  private timer: NodeJS.Timeout | undefined;
  private chain: Promise<void> = Promise.resolve();
  /** Set by stop(): a last write, no more read-backs. */
  private stopping = false;
  private busy = false;
  private lastReadAt: number | null = null;
  /** The write under way (settled, never rejected), which the last write at close() waits for. */
  private writing: Promise<void> = Promise.resolve();

  private readonly intervalMs: number;
  private readonly instanceId: string;

  constructor(
    private readonly models: { tokens: ApiTokenModel; lastUses: LastUseModel },
    private readonly catalog: Catalog,
    settings: { lastUsedIntervalMs: number; instanceId: string },
    private readonly log: Logger,
    /** Shared with the token service: updates of token documents never overlap (see database/write-gate.ts). */
    private readonly writeGate: WriteGate,
  ) {
    this.intervalMs = settings.lastUsedIntervalMs;
    this.instanceId = settings.instanceId;
  }

  /** Notes a successful call of a token. O(1), synchronous. */
  record(tokenId: string, at = Date.now()): void {
    if (this.pending.size >= MAX_PENDING && !this.pending.has(tokenId)) {
      this.dropped++;
      return;
    }
    this.pending.set(tokenId, at);
  }

  /** Call after the view's full load: uses written from now on are read back (earlier ones came with the load). */
  start(): void {
    this.stopping = false;
    this.lastReadAt ??= Date.now();
    // A tick while a run is still under way (a slow database) is skipped rather than queued.
    this.timer ??= setInterval(() => {
      if (!this.busy) void this.flush();
    }, this.intervalMs);
    this.timer.unref();
  }

  /** Stops the timer and writes what is pending: best effort, waiting at most LAST_USE_STOP_WAIT_MS (logged). */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.stopping = true;
    // After the write under way, not after the whole run: its read-back may take long, and the last write needs
    // none of it. A read-back still under way fails when the connection closes, which loses nothing.
    const lastWrite = this.writing.then(() => this.writeAndReadBack());
    if (!(await settledWithin(lastWrite, LAST_USE_STOP_WAIT_MS)))
      this.log.warn(
        { waitedMs: LAST_USE_STOP_WAIT_MS },
        'close() stopped waiting for the last token last-use times to be written; if the connection closes now, they are lost',
      );
  }

  /** Writes the uses noted so far and reads back everyone's recent ones; runs one at a time, in order. */
  flush(): Promise<void> {
    this.chain = this.chain.then(() => this.run());
    return this.chain;
  }

  private async run(): Promise<void> {
    this.busy = true;
    try {
      await this.writeAndReadBack();
    } finally {
      this.busy = false;
    }
  }

  private async writeAndReadBack(): Promise<void> {
    const uses = this.pending;
    this.pending = new Map();
    if (this.dropped > 0) {
      this.log.warn(
        { dropped: this.dropped },
        `Dropped ${this.dropped} last-use update(s): more than ${MAX_PENDING} tokens were used in one interval`,
      );
      this.dropped = 0;
    }
    const written = this.write(uses);
    this.writing = written.then(
      () => undefined,
      () => undefined,
    );
    try {
      await written;
    } catch (error) {
      // Keep the newest time of each token for the next run, unless newer uses replaced it meanwhile.
      for (const [id, at] of uses)
        if ((this.pending.get(id) ?? 0) < at && this.pending.size < MAX_PENDING) this.pending.set(id, at);
      this.log.warn(
        { err: errorSummary(error), tokens: uses.size },
        this.stopping
          ? 'Could not write token last-use times before close; those uses are not stored'
          : 'Could not write token last-use times; retrying next interval',
      );
      return;
    }
    // Closing: the others' uses are of no more use here, and reading them back would only hold the close up.
    if (this.stopping) return;
    try {
      await this.readBack();
    } catch (error) {
      // A read-back under way when close() stopped waiting fails as the connection closes: nothing is lost.
      if (this.stopping) return;
      this.log.warn({ err: errorSummary(error) }, 'Could not read token last-use times; retrying next interval');
    }
  }

  private async write(uses: Map<string, number>): Promise<void> {
    const operations: mongo.AnyBulkWriteOperation[] = [];
    for (const [id, at] of uses) {
      // $max, not a filter on the stored time: a filter of `_id` alone is one that FerretDB hands to its store's
      // index, where `_id` with a condition on another field reads the whole collection for every update.
      // Our ids are strings, not the driver's default ObjectId.
      const filter = { _id: id } as unknown as mongo.Filter<mongo.Document>;
      operations.push({ updateOne: { filter, update: { $max: { lastUsedAt: new Date(at) } } } });
      this.catalog.noteUse(id, at);
    }
    for (const batch of batchesOf(operations, WRITE_BATCH))
      await this.writeGate.run(() => this.models.tokens.collection.bulkWrite(batch, { ordered: false }));
    // After the tokens, which stay the source of truth: a record no token write backs is never read.
    if (uses.size > 0) await this.writeRecords(uses);
  }

  /** The uses for the other instances, then the records no reader needs any more (anyone's). */
  private async writeRecords(uses: Map<string, number>): Promise<void> {
    const at = new Date();
    const records: LastUseDoc[] = [];
    for (const part of batchesOf([...uses], LAST_USE_RECORD_SIZE))
      records.push({
        _id: randomUUID(),
        instanceId: this.instanceId,
        at,
        tokenIds: part.map(([id]) => id),
        usedAt: part.map(([, usedAt]) => usedAt),
      });
    await this.models.lastUses.collection.insertMany(records as unknown as mongo.OptionalId<mongo.Document>[], {
      ordered: false,
    });
    // Best effort: a record left over is read once more at most, and the next run tries again.
    const expired = new Date(at.getTime() - RECORD_KEPT_INTERVALS * this.intervalMs);
    await this.models.lastUses.collection.deleteMany({ at: { $lt: expired } }).catch((error: unknown) => {
      this.log.warn(
        { err: errorSummary(error) },
        'Could not remove old token last-use records; retrying next interval',
      );
    });
  }

  private async readBack(): Promise<void> {
    const readAt = Date.now();
    const since = new Date((this.lastReadAt ?? readAt) - 2 * this.intervalMs);
    const records = await this.models.lastUses
      .find({ at: { $gte: since } }, { tokenIds: 1, usedAt: 1 })
      .lean<Pick<LastUseDoc, 'tokenIds' | 'usedAt'>[]>()
      .exec();
    for (const { tokenIds, usedAt } of records)
      tokenIds.forEach((id, i) => {
        const at = usedAt[i];
        if (at !== undefined && Number.isFinite(at)) this.catalog.noteUse(id, at);
      });
    this.lastReadAt = readAt;
  }
}
