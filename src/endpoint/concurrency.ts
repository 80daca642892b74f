// Caps how many actions run at once, with a bounded queue of waiting ones.
import { QueueFullError } from '../errors';

export class ConcurrencyLimiter {
  private running = 0;
  private readonly waiting: { grant: () => void; abort: () => void }[] = [];

  constructor(
    readonly maxRunning: number,
    readonly maxWaiting: number,
  ) {}

  get active(): number {
    return this.running;
  }

  get queued(): number {
    return this.waiting.length;
  }

  /** A release function if a slot is free right now, else null (no promise: the common case stays cheap). */
  tryAcquire(): (() => void) | null {
    if (this.running >= this.maxRunning) return null;
    this.running += 1;
    return this.releaser();
  }

  /**
   * Resolves with a release function once a slot is free. Throws QueueFullError when the queue is full; rejects
   * with the signal's reason if the signal fires while waiting (the waiter then leaves the queue).
   */
  async acquire(signal: AbortSignal): Promise<() => void> {
    if (this.running < this.maxRunning) {
      this.running += 1;
      return this.releaser();
    }
    if (this.waiting.length >= this.maxWaiting) throw new QueueFullError();
    signal.throwIfAborted();
    await new Promise<void>((resolve, reject) => {
      const entry = {
        grant: () => {
          signal.removeEventListener('abort', entry.abort);
          resolve();
        },
        abort: () => {
          const index = this.waiting.indexOf(entry);
          if (index >= 0) this.waiting.splice(index, 1);
          reject(signal.reason as Error);
        },
      };
      this.waiting.push(entry);
      signal.addEventListener('abort', entry.abort, { once: true });
    });
    return this.releaser();
  }

  private releaser(): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      // Hand the slot straight to the next waiter so that `running` never over-counts.
      const next = this.waiting.shift();
      if (next) next.grant();
      else this.running -= 1;
    };
  }
}
