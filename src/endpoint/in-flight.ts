// Tracks running actions: their deadline, their client, and the AbortSignal they get, without a timer per request.
import { ClientGoneError, TimeoutError } from '../errors';
import type { Response } from 'express';

/** One running action. `fail` settles the caller's wait; the signal is made only if the action asks for it. */
export class InFlight {
  private controller: AbortController | undefined;
  private failure: Error | undefined;
  private onFail: ((error: Error) => void) | undefined;

  constructor(
    readonly deadline: number,
    readonly res: Response,
  ) {}

  get signal(): AbortSignal {
    if (!this.controller) {
      this.controller = new AbortController();
      if (this.failure) this.controller.abort(this.failure);
    }
    return this.controller.signal;
  }

  get failed(): Error | undefined {
    return this.failure;
  }

  /** Waits for `work`, unless the action times out or its client leaves first. */
  wait<T>(work: Promise<T>): Promise<T> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise<T>((resolve, reject) => {
      this.onFail = reject;
      work.then(resolve, reject);
    });
  }

  fail(error: Error): void {
    if (this.failure) return;
    this.failure = error;
    this.controller?.abort(error);
    this.onFail?.(error);
  }
}

/**
 * One sweeper instead of a timer and a listener per request: every `tickMs` it fails the actions past their
 * deadline and those whose client disconnected. It only runs while something is in flight.
 */
export class InFlightRegistry {
  private readonly entries = new Set<InFlight>();
  private timer: NodeJS.Timeout | undefined;
  private readonly tickMs: number;

  constructor(private readonly timeoutMs: number) {
    this.tickMs = Math.min(100, Math.max(5, Math.floor(timeoutMs / 10)));
  }

  get size(): number {
    return this.entries.size;
  }

  /** A new entry, not yet watched: a synchronous action never needs watching. */
  create(res: Response): InFlight {
    return new InFlight(Date.now() + this.timeoutMs, res);
  }

  /** Watches an entry for its deadline and its client. */
  track(entry: InFlight): InFlight {
    this.entries.add(entry);
    if (!this.timer) {
      this.timer = setInterval(() => this.sweep(), this.tickMs);
      this.timer.unref();
    }
    return entry;
  }

  finish(entry: InFlight): void {
    this.entries.delete(entry);
  }

  private sweep(): void {
    // Stopped here rather than in finish(): under load the set empties between most requests, and re-arming a
    // timer per request would cost more than the sweep.
    if (this.entries.size === 0 && this.timer) {
      clearInterval(this.timer);
      this.timer = undefined;
      return;
    }
    const now = Date.now();
    for (const entry of this.entries) {
      if (now >= entry.deadline) entry.fail(new TimeoutError());
      else if (entry.res.destroyed || entry.res.socket?.destroyed) entry.fail(new ClientGoneError());
    }
  }
}
