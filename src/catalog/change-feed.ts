// Keeps every instance's in-memory view coherent without change streams: a revision log that each instance polls.
import { performance } from 'node:perf_hooks';
import {
  EVERYTHING,
  revisionKey,
  revisionOf,
  type ChangeDoc,
  type ChangedObjectType,
  type ChangeModel,
} from '../models/change';
import { errorSummary } from '../logging';
import { isDuplicateKeyError } from '../database/mongo-errors';
import type { LoopMark, LoopWatch } from '../shared/loop-watch';
import type { Logger } from '../types';
import { settledWithin } from '../shared/settled-within';
import type { Catalog, TokenRow } from './catalog';
import type { ApiDefinitionDoc } from '../models/api-definition';

/** What a writer knows of its change: the stored state (null: deleted) and its view's fingerprint from before. */
export interface RecordedState {
  state: TokenRow | ApiDefinitionDoc | null;
  before: string | null;
}

const MAX_ALLOCATION_ATTEMPTS = 50;
/** After this many taken revisions in a row, ask the database for the newest instead of probing one by one. */
const PROBES_BEFORE_RESYNC = 8;
const BATCH = 1000;
/** The log keeps this many newest records; an instance further behind than that reloads everything instead. */
const RETAINED_RECORDS = 1000;
/** Prune after every this many revisions this instance allocates (and on the full-reload timer). */
const PRUNE_EVERY = 100;
/**
 * An idle poll looks up only the next revision. If that one was pruned (this instance fell further behind than the
 * log keeps), only a range read sees the newer ones: every this many idle polls, one is done anyway.
 */
const IDLE_POLLS_PER_RANGE_READ = 8;
/**
 * A poll reads up to this many new records one by one, by key, before it turns to a range read: a point lookup
 * takes about a millisecond where `_id` is indexed, a range read of the log is a scan of it on FerretDB (~23 ms
 * idle, and hundreds under load), and most polls that find anything find one or two records (a hinted one, one).
 */
const POINT_READS_PER_POLL = 8;
/** How long close() waits for a poll under way. */
const STOP_WAIT_MS = 2000;

/*
 * How it stays right. Every write stores the object, then appends {revision, objectType, objectId} to the
 * change log. Revisions are inserted under the unique _id, always at the slot just above one known to exist
 * (checked by an indexed point lookup, or just found taken), so the stored revisions are always one unbroken
 * range: revision N + 1 can only exist once N does, and no gap ever appears behind a reader. Pruning removes
 * only the oldest end of that range, so a slot above an existing record was never used before. Appends from
 * one instance are serialised, so its own writers never race each other for a slot; instances racing for one
 * slot are settled by the unique index, and the loser moves up. (No counter document with $inc: FerretDB can
 * lose concurrent $inc updates.)
 *
 * Each instance polls for revisions above the last one it applied and re-reads those objects, so it converges
 * on the stored state whatever order the changes came in (re-reading is idempotent). A full reload takes the
 * current revision first and then reads everything, so no change made during the load is lost. It runs at
 * start, when the log was pruned past this instance's position (the poll after an outage finds that too), after
 * a failed refresh, and on a timer (fullReloadIntervalMs): the last one heals the one case the log cannot see,
 * a writer that died between storing an object and logging the change.
 */
export class ChangeFeed {
  private lastRevision = 0;
  private lastAllocated = 0;
  private allocatedSincePrune = 0;
  private appends: Promise<unknown> = Promise.resolve();
  private pollTimer: NodeJS.Timeout | undefined;
  private reloadTimer: NodeJS.Timeout | undefined;
  /** The poll under way (applied and marked synced when it settles), and when it started. */
  private inFlightPoll: Promise<void> | undefined;
  private inFlightSince: LoopMark = { at: 0, held: 0 };
  private idlePolls = 0;
  /** A hint came while a poll ran (it may have read the log before the hinted change): poll once more after it. */
  private pollAgain = false;
  /** The poll that starts when the one under way ends (recentPoll), while one is awaited. */
  private pollAfter: Promise<void> | undefined;
  /** Set by hintedBy(): called after each change this instance logs. */
  private announce: (() => void) | undefined;
  /**
   * performance.now() at the start of the newest poll or reload that succeeded: every change logged before
   * that moment is applied to this view. Null until the first one.
   */
  private syncedFrom: number | null = null;

  constructor(
    private readonly model: ChangeModel,
    private readonly catalog: Catalog,
    private readonly log: Logger,
    /** Tells how long a poll under way has really waited for the database (time the loop was held aside). */
    private readonly loop: LoopWatch,
  ) {}

  get revision(): number {
    return this.lastRevision;
  }

  /** Whether the poll timer runs (between ready() and close()): only then does the view's lag say anything. */
  get polling(): boolean {
    return this.pollTimer !== undefined;
  }

  /**
   * An upper bound on how far this view is behind the log, in seconds: the time since the start of the newest
   * successful poll or reload. About the poll interval while all is well; it grows while polls fail. Infinity
   * before the first load.
   */
  lagSeconds(now = performance.now()): number {
    return this.syncedFrom === null ? Infinity : Math.max(0, now - this.syncedFrom) / 1000;
  }

  private markSynced(from: number): void {
    // A reload and a poll can overlap (the health check reloads): keep the later start.
    if (this.syncedFrom === null || from > this.syncedFrom) this.syncedFrom = from;
  }

  /** Appends a change record (with the stored state when the writer knows it); returns its revision. */
  record(objectType: ChangedObjectType, objectId: string, known?: RecordedState): Promise<number> {
    const appended = this.appends.then(() => this.append(objectType, objectId, known));
    this.appends = appended.catch(() => undefined);
    return this.announce ? appended.then((revision) => (this.announce?.(), revision)) : appended;
  }

  private async append(objectType: ChangedObjectType, objectId: string, known?: RecordedState): Promise<number> {
    let candidate = await this.firstFreeCandidate();
    for (let attempt = 1; attempt <= MAX_ALLOCATION_ATTEMPTS; attempt += 1) {
      try {
        await this.model.collection.insertOne({
          _id: revisionKey(candidate),
          objectType,
          objectId,
          at: new Date(),
          ...(known && { state: known.state, before: known.before }),
        } as Record<string, unknown>);
        this.lastAllocated = candidate;
        this.afterAllocation();
        return candidate;
      } catch (error) {
        if (!isDuplicateKeyError(error)) throw error;
        // Another instance took this slot, so it exists and the one above is the next candidate.
        candidate = attempt % PROBES_BEFORE_RESYNC === 0 ? (await this.latest()) + 1 : candidate + 1;
      }
    }
    throw new Error('Could not allocate a change revision: too much contention');
  }

  /** The slot above the newest revision this instance knows of, if that record still exists; else above the newest stored. */
  private async firstFreeCandidate(): Promise<number> {
    const known = Math.max(this.lastAllocated, this.lastRevision);
    if (known > 0 && (await this.model.exists({ _id: revisionKey(known) }))) return known + 1;
    return (await this.latest()) + 1;
  }

  private afterAllocation(): void {
    this.allocatedSincePrune += 1;
    if (this.allocatedSincePrune < PRUNE_EVERY) return;
    this.allocatedSincePrune = 0;
    this.prune().catch((error: unknown) =>
      this.log.warn({ err: errorSummary(error) }, 'Pruning the change log failed'),
    );
  }

  /** Reads everything, positioned at the revision taken before the read. */
  async reload(): Promise<void> {
    const started = performance.now();
    const revision = await this.latest();
    await this.catalog.load();
    this.lastRevision = Math.max(this.lastRevision, revision);
    this.markSynced(started);
  }

  /**
   * Applies every change recorded before this call: waits out a poll already under way (it may have read the
   * log before the caller's moment) and runs one more. What an admin read needs to show other instances' writes.
   */
  async catchUp(): Promise<void> {
    while (this.inFlightPoll) await this.inFlightPoll.catch(() => undefined);
    await this.poll();
  }

  /** How long the poll under way has waited for the database (loop-free time, ms); null when none is. */
  pollUnderWayMs(): number | null {
    return this.inFlightPoll ? this.loop.freeSince(this.inFlightSince) : null;
  }

  /** Applies the changes recorded since the last applied revision. */
  async poll(): Promise<void> {
    if (this.inFlightPoll || !this.catalog.loaded) return;
    const started = performance.now();
    this.inFlightSince = this.loop.mark(started);
    this.inFlightPoll = this.applyNewChanges().then(() => this.markSynced(started));
    try {
      await this.inFlightPoll;
    } finally {
      this.inFlightPoll = undefined;
    }
  }

  /**
   * A poll whose end brings the view up to date, and how long it is worth waiting for. The one under way, if it
   * started at or after `startedAfter` (performance.now()); the one that starts when it ends, if it started before
   * (its end proves only what the log held then); else a new one. Null once the one under way is maxAgeMs old: the
   * database is not answering it, and a new poll would queue behind it. Age counts only time the loop was free to
   * run: an answer that came while this process was held has not been read yet.
   */
  recentPoll(maxAgeMs: number, startedAfter: number): { done: Promise<void>; waitMs: number } | null {
    const underWay = this.inFlightPoll;
    if (!underWay) return { done: this.poll(), waitMs: maxAgeMs };
    const waitMs = maxAgeMs - this.loop.freeSince(this.inFlightSince);
    if (waitMs <= 0) return null;
    if (this.inFlightSince.at >= startedAfter) return { done: underWay, waitMs };
    // Shared by every caller, so that a crowd of calls costs one more poll, not one each.
    this.pollAfter ??= underWay
      .catch(() => undefined)
      .then(() => {
        this.pollAfter = undefined;
        return this.inFlightPoll ?? this.poll();
      });
    return { done: this.pollAfter, waitMs: maxAgeMs };
  }

  /**
   * Polls at every hint (change-hints.ts) besides the timer, and announces each change this instance logs.
   * A hint during a poll gets one more poll after it, since that one may have read the log too early.
   */
  hintedBy(hints: { publish(): void; start(onHint: () => void): Promise<void> }): Promise<void> {
    this.announce = () => hints.publish();
    return hints.start(() => this.pollForHint());
  }

  /** A poll whose failure is logged, not thrown: for the timer, hints and the first poll, where none awaits it. */
  pollOrWarn(): Promise<void> {
    return this.poll().catch((error: unknown) =>
      this.log.warn({ err: errorSummary(error) }, 'Polling the change log failed'),
    );
  }

  private pollForHint(): void {
    if (this.inFlightPoll) {
      if (this.pollAgain) return;
      this.pollAgain = true;
      void this.inFlightPoll
        .catch(() => undefined)
        .then(() => {
          this.pollAgain = false;
          return this.pollOrWarn();
        });
      return;
    }
    void this.pollOrWarn();
  }

  private async applyNewChanges(): Promise<void> {
    // Most polls: point lookups of the next revisions instead of a range read of the log.
    if (this.lastRevision > 0 && (this.idlePolls += 1) % IDLE_POLLS_PER_RANGE_READ !== 0) {
      for (let read = 0; read < POINT_READS_PER_POLL; read += 1) {
        const row = await this.model
          .findOne({ _id: revisionKey(this.lastRevision + 1) })
          .lean<ChangeDoc>()
          .exec();
        if (!row) return;
        if (row.objectType === EVERYTHING) {
          // An import: one full reload, which moves past this record and everything before the reload began.
          await this.reload();
          return;
        }
        await this.applyRows([row]);
        this.lastRevision = Math.max(this.lastRevision, revisionOf(row._id));
      }
    }
    for (;;) {
      const rows = await this.model
        .find({ _id: { $gt: revisionKey(this.lastRevision) } })
        .sort({ _id: 1 })
        .limit(BATCH)
        .lean<ChangeDoc[]>()
        .exec();
      if (rows.length === 0) return;
      const next = revisionOf(rows[0]!._id);
      if (next !== this.lastRevision + 1 && this.lastRevision > 0) {
        // Records this instance never saw were pruned: the log cannot bring it up to date.
        this.log.warn(
          { from: this.lastRevision, next },
          'Missed changes were pruned from the change log; reloading everything',
        );
        await this.reload();
        return;
      }
      if (rows.some((row) => row.objectType === EVERYTHING)) {
        // An import changed many objects at once: one full reload (which moves past these rows) instead of one read each.
        await this.reload();
        continue;
      }
      await this.applyRows(rows);
      this.lastRevision = Math.max(this.lastRevision, revisionOf(rows[rows.length - 1]!._id));
      if (rows.length < BATCH) return;
    }
  }

  /**
   * In log order, each record's state is applied when this view holds what its writer's view held before the
   * change. Otherwise (a concurrent write from another instance, a record without state) the object is re-read,
   * once: that read happens after every write of this batch was stored, so later records of it add nothing.
   */
  private async applyRows(rows: readonly ChangeDoc[]): Promise<void> {
    const reread = new Set<string>();
    for (const row of rows) {
      // A full reload (an import's, the health check's) that ended while this poll read its rows holds them
      // already, and a record's `before` can match the reloaded view by chance: a token deleted, then imported
      // back as it was, would be deleted again (seen once in a fresh-clone CI run).
      if (revisionOf(row._id) <= this.lastRevision) continue;
      const objectType = row.objectType as Exclude<ChangedObjectType, typeof EVERYTHING>;
      const key = `${objectType}:${row.objectId}`;
      if (reread.has(key)) continue;
      const known = row.state === undefined ? undefined : (row.state as RecordedState['state']);
      if (
        known !== undefined &&
        (await this.catalog.applyRecorded(objectType, row.objectId, known, row.before ?? null))
      )
        continue;
      reread.add(key);
      if (objectType === 'ApiToken') await this.catalog.refreshToken(row.objectId);
      else await this.catalog.refreshDefinition(row.objectId);
    }
  }

  start(pollIntervalMs: number, fullReloadIntervalMs: number): void {
    this.pollTimer ??= setInterval(() => void this.pollOrWarn(), pollIntervalMs);
    this.pollTimer.unref();
    this.reloadTimer ??= setInterval(() => {
      this.reload()
        .then(() => this.prune())
        .catch((error: unknown) => {
          this.catalog.stale = true;
          this.log.warn({ err: errorSummary(error) }, 'The periodic full reload failed; the health check retries it');
        });
    }, fullReloadIntervalMs);
    this.reloadTimer.unref();
  }

  /**
   * Stops the timers and lets a poll that is under way finish, so that its position is final; but no longer
   * than STOP_WAIT_MS, so that a host's shutdown never hangs on an unreachable database.
   */
  async stop(): Promise<void> {
    if (this.pollTimer) clearInterval(this.pollTimer);
    if (this.reloadTimer) clearInterval(this.reloadTimer);
    this.pollTimer = undefined;
    this.reloadTimer = undefined;
    if (!this.inFlightPoll) return;
    await settledWithin(
      this.inFlightPoll.catch(() => undefined),
      STOP_WAIT_MS,
    );
  }

  /** Drops all but the newest RETAINED_RECORDS records: always a prefix of the range, never the newest record. */
  async prune(): Promise<void> {
    const latest = await this.latest();
    if (latest <= RETAINED_RECORDS) return;
    await this.model.deleteMany({ _id: { $lt: revisionKey(latest - RETAINED_RECORDS + 1) } }).exec();
  }

  private async latest(): Promise<number> {
    const row = await this.model.findOne({}, { _id: 1 }).sort({ _id: -1 }).lean<{ _id: string }>().exec();
    return row ? revisionOf(row._id) : 0;
  }
}
