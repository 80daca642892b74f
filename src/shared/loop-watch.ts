// Tells time the event loop was held (the host's synchronous work, a long GC) from time spent waiting, so a timeout never blames the database for a stall of this process.
import { performance } from 'node:perf_hooks';

const BEAT_MS = 50;
/** A beat this much later than due means the loop was held for that long (less jitter than this is not counted). */
const HELD_AFTER_MS = 100;
/**
 * A wait never lasts longer than this many times its length in real time: in a process whose loop is held most of
 * the time, checks run late again and again, and a silent database must still be noticed.
 */
const MAX_STRETCH = 10;

/** A moment, with the held time counted up to it: what freeSince() measures from. */
export interface LoopMark {
  readonly at: number;
  readonly held: number;
}

/*
 * Why. A timeout timer and the answer it waits for can both become due while the loop is held: once it runs again,
 * the timers phase comes before the I/O that carries the answer, so a plain setTimeout fires first and calls an
 * answer that had arrived in time missing. (Seen in CI: a poll under way when a test held the loop for 1.5 s was
 * taken for a hung one, and the endpoint answered 503 while the database was fine.) A beat every BEAT_MS that comes
 * late measures each hold; a wait counts only the time the loop was free to run.
 */
export class LoopWatch {
  private timer: NodeJS.Timeout | undefined;
  private lastBeat = performance.now();
  /** The held time measured by the beats so far, in ms. */
  private heldTotal = 0;

  start(): void {
    if (this.timer) return;
    this.lastBeat = performance.now();
    this.timer = setInterval(() => this.beat(), BEAT_MS);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  mark(now = performance.now()): LoopMark {
    return { at: now, held: this.heldUntil(now) };
  }

  /** The ms since `mark` during which the loop was free to run (all of them while the watch is stopped). */
  freeSince(mark: LoopMark, now = performance.now()): number {
    return Math.max(0, now - mark.at - (this.heldUntil(now) - mark.held));
  }

  /**
   * Resolves true when `promise` resolves, false once the loop has been free to run for `ms` without that; rejects
   * when `promise` rejects first.
   */
  async settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
    const started = this.mark();
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<false>((resolve) => {
      const check = (dueAt: number): void => {
        const now = performance.now();
        const left = ms - this.freeSince(started, now);
        // A check that runs late runs right after a hold, before the I/O that came meanwhile has been read: never
        // the end (the beats may not have measured that hold in full, up to one beat of it passing for free time).
        if ((left <= 0 && now - dueAt <= HELD_AFTER_MS) || now - started.at >= ms * MAX_STRETCH) resolve(false);
        else {
          const wait = Math.max(left, BEAT_MS);
          timer = setTimeout(() => check(now + wait), wait);
        }
      };
      timer = setTimeout(() => check(started.at + ms), ms);
    });
    try {
      return await Promise.race([promise.then(() => true as const), timedOut]);
    } finally {
      clearTimeout(timer);
    }
  }

  private beat(now = performance.now()): void {
    this.heldTotal = this.heldUntil(now);
    this.lastBeat = now;
  }

  /** heldTotal plus a hold that has just ended and whose late beat has not run yet. */
  private heldUntil(now: number): number {
    const late = now - this.lastBeat - BEAT_MS;
    return this.timer && late > HELD_AFTER_MS ? this.heldTotal + late : this.heldTotal;
  }
}
