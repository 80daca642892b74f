// Runs bcrypt on the libuv thread pool with bounded concurrency and a bounded queue, and counts what it ran.
import { BcryptOverloadedError } from '../errors';
import bcrypt from 'bcrypt';

export class BcryptPool {
  private running = 0;
  private readonly waiting: (() => void)[] = [];
  /** How many hashes and comparisons ran; the tests and the benchmark read these. */
  readonly stats = { hashes: 0, compares: 0 };

  constructor(
    private readonly rounds: number,
    private readonly concurrency: number,
    private readonly queueLimit: number,
  ) {}

  /** Operations waiting for a slot (the metrics' bcrypt queue depth). */
  get queued(): number {
    return this.waiting.length;
  }

  async hash(secret: string): Promise<string> {
    return this.run(() => {
      this.stats.hashes += 1;
      return bcrypt.hash(secret, this.rounds);
    });
  }

  async compare(secret: string, hash: string): Promise<boolean> {
    return this.run(() => {
      this.stats.compares += 1;
      return bcrypt.compare(secret, hash);
    });
  }

  private async run<T>(work: () => Promise<T>): Promise<T> {
    if (this.running >= this.concurrency) {
      if (this.waiting.length >= this.queueLimit) throw new BcryptOverloadedError();
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    } else {
      this.running += 1;
    }
    try {
      return await work();
    } finally {
      // Hand the slot straight to the next waiter so `running` never over-counts.
      const next = this.waiting.shift();
      if (next) next();
      else this.running -= 1;
    }
  }
}
