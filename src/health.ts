// Watches the database with a short ping and the view's lag, so the endpoint fails closed (503/7) within a second of an outage, and recovers.
import { performance } from 'node:perf_hooks';
import type { Connection } from 'mongoose';
import type { Catalog } from './catalog/catalog';
import { PingTimeout } from './errors';
import { errorSummary } from './logging';
import type { LoopWatch } from './shared/loop-watch';
import type { ServerPresence } from './database/server-presence';
import type { Logger } from './types';

/**
 * When the view's lag alone stands in the way of serving a call, the call waits for a poll until that poll is this
 * old: a poll answers in milliseconds when the database does, and one that takes longer is not waited for.
 */
const CATCH_UP_WAIT_MS = 1000;
/** The driver's timeout of a ping, as a multiple of the health check's own. */
const DRIVER_PING_TIMEOUT_FACTOR = 10;
/**
 * How many ping timeouts a ping that is late may take, while the driver still sees the server, before the database
 * counts as unreachable (a ping that fails, or a server the driver's monitor has lost, counts at once). One slow
 * answer is not an outage: FerretDB's ping lists every database's collections under the lock that any collection
 * or index creation, or a database's drop, holds meanwhile (seen as a burst of 503s in a soak that shared its
 * FerretDB with the test suite).
 */
const LATE_PING_TIMEOUTS = 2;

export class HealthMonitor {
  private timer: NodeJS.Timeout | undefined;
  /**
   * Set by stop(): a check still awaiting its ping then fails when the host closes its connection, which is no
   * outage to report (the bench's servers logged "Database unreachable" on every clean shutdown that caught one).
   */
  private stopped = false;
  private checking = false;
  private reachable = false;
  private lagging = false;
  private notingLag = false;
  /** The wait for a poll that callers share (one timer per poll, not one per call). */
  private catchingUp: { poll: Promise<void>; ready: Promise<boolean> } | undefined;

  constructor(
    private readonly connection: Connection,
    private readonly catalog: Catalog,
    /** Reloads the whole in-memory view (the change feed's reload, which also repositions it). */
    private readonly reload: () => Promise<void>,
    /** Applies every change logged so far (the change feed's catchUp). */
    private readonly catchUpView: () => Promise<void>,
    private readonly intervalMs: number,
    private readonly log: Logger,
    /**
     * How far behind the change log the view is, in ms, how far it may be, a poll that brings it up to date (the
     * change feed's recentPoll), and how long the poll under way has waited (null: none is).
     */
    private readonly lag: {
      current: () => number;
      maxMs: number;
      recentPoll: (maxAgeMs: number, startedAfter: number) => { done: Promise<void>; waitMs: number } | null;
      pollUnderWayMs: () => number | null;
    },
    /** Waits count only time the loop was free to run: an answer that came while the host held it is not late. */
    private readonly loop: LoopWatch,
    /** Whether the driver's monitor sees the server: a late ping to a server it has lost is an outage at once. */
    private readonly presence: ServerPresence,
  ) {}

  /**
   * Ready: the database answered the last ping, the catalog holds a complete view, and the view has applied the
   * change log up to at most maxViewLagMs ago (a hung poll or a partition must not keep a revoked token working).
   */
  get ready(): boolean {
    return this.reachable && this.catalog.loaded && !this.catalog.stale && this.lag.current() <= this.lag.maxMs;
  }

  /**
   * When the view's lag is all that keeps the endpoint from serving, waits for a poll (until it is CATCH_UP_WAIT_MS
   * old) and resolves to whether it is ready then. The lag may only mean this process was too busy to poll (a long
   * GC, synchronous work of the host) while the database answers: a call then waits milliseconds instead of
   * getting a 503, and is still decided on a view at most maxViewLagMs old. Null when waiting cannot help: the
   * database is unreachable, the view is not loaded or stale, or a poll has hung for CATCH_UP_WAIT_MS already.
   */
  catchUp(): Promise<boolean> | null {
    if (!this.reachable || !this.catalog.loaded || this.catalog.stale) return null;
    // A poll that started within half the bound leaves room for its own duration.
    const poll = this.lag.recentPoll(CATCH_UP_WAIT_MS, performance.now() - this.lag.maxMs / 2);
    if (!poll) return null;
    if (this.catchingUp?.poll !== poll.done)
      this.catchingUp = { poll: poll.done, ready: this.readyAfter(poll.done, poll.waitMs) };
    return this.catchingUp.ready;
  }

  private async readyAfter(poll: Promise<void>, waitMs: number): Promise<boolean> {
    try {
      await this.loop.settlesWithin(poll, waitMs);
    } catch {
      // A failed poll leaves the lag as it was: ready says so below.
    }
    return this.ready;
  }

  /** Runs one check now (ready() awaits the first), then keeps checking in the background. */
  async start(): Promise<void> {
    this.stopped = false;
    this.loop.start();
    this.presence.start();
    await this.check();
    this.timer ??= setInterval(() => void this.check(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.loop.stop();
    this.presence.stop();
  }

  private get pingTimeoutMs(): number {
    return Math.max(200, this.intervalMs * 2);
  }

  /**
   * Resolves when the database answers a ping. Rejects when the ping fails, when it is late and the driver has lost
   * the server (or the database was not reachable before), or when it is LATE_PING_TIMEOUTS timeouts late.
   */
  private async ping(): Promise<void> {
    const db = this.connection.db;
    if (!db) throw new Error('The connection is not open');
    const timeoutMs = this.pingTimeoutMs;
    // The driver's own timeout only frees the connection of a ping that hangs: its timer cannot tell a held loop
    // from a silent database (loop-watch.ts), so it is far longer than the one that decides.
    const ping = db.command({ ping: 1 }, { timeoutMS: timeoutMs * DRIVER_PING_TIMEOUT_FACTOR });
    // Rejects as soon as the driver's monitor has lost the server: a stopped database, not a slow one.
    const answer = this.presence.whileSeen(
      ping,
      () => new PingTimeout('The database did not answer a ping, and the driver no longer sees its server'),
    );
    for (let late = 0; !(await this.loop.settlesWithin(answer, timeoutMs));) {
      late += 1;
      if (!this.reachable || late >= LATE_PING_TIMEOUTS)
        throw new PingTimeout(`The database did not answer a ping within ${late * timeoutMs} ms`);
      this.log.debug({ timeoutMs }, 'A ping is late; one late answer is not an outage');
    }
  }

  /**
   * Logs when the view starts and stops lagging beyond the bound (checked with every ping, not every request),
   * after a chance to catch up: a process that was too busy to poll is not a view the database left behind.
   */
  private async noteLag(): Promise<void> {
    if (this.notingLag) return;
    this.notingLag = true;
    try {
      if (this.catalog.loaded && this.lag.current() > this.lag.maxMs) await this.catchUp();
    } finally {
      this.notingLag = false;
    }
    const lagMs = this.lag.current();
    const lagging = this.catalog.loaded && lagMs > this.lag.maxMs;
    if (lagging && !this.lagging) {
      // Tells a database that has not answered the poll under way (pollUnderWayMs near lagMs) from polls that fail
      // or never start (null, or far below it).
      const pollUnderWayMs = this.lag.pollUnderWayMs();
      this.log.error(
        {
          lagMs: Number.isFinite(lagMs) ? Math.round(lagMs) : null,
          maxViewLagMs: this.lag.maxMs,
          pollUnderWayMs: pollUnderWayMs === null ? null : Math.round(pollUnderWayMs),
        },
        'The in-memory view is behind the change log by more than maxViewLagMs: the endpoint answers 503 until a poll succeeds',
      );
    } else if (!lagging && this.lagging) this.log.info({}, 'The in-memory view caught up with the change log');
    this.lagging = lagging;
  }

  private async check(): Promise<void> {
    void this.noteLag();
    if (this.checking) return;
    this.checking = true;
    try {
      await this.ping();
      if (!this.catalog.loaded || this.catalog.stale) await this.reload();
      // After an outage the change log holds what was missed (a poll that finds its position pruned reloads
      // everything): a poll, milliseconds, not a full reload, which takes tens of seconds at 100,000 tokens and
      // answered 503 all that time after a single slow ping.
      else if (!this.reachable && !(await this.loop.settlesWithin(this.catchUpView(), this.pingTimeoutMs)))
        throw new Error(`The change log could not be read within ${this.pingTimeoutMs} ms`);
      if (!this.reachable) this.log.info({}, 'Database reachable: serving user-defined APIs');
      this.reachable = true;
    } catch (error) {
      if (this.stopped) return;
      if (this.reachable)
        this.log.error(
          { err: errorSummary(error) },
          'Database unreachable: the endpoint answers 503 until it recovers',
        );
      this.reachable = false;
    } finally {
      this.checking = false;
    }
  }
}
