// Watches the database with a short ping so the endpoint can answer 503/7 within a second of an outage, and recovers.
import type { Connection } from 'mongoose';
import type { Catalog } from './catalog/catalog';
import { errorSummary } from './logging';
import type { Logger } from './types';

export class HealthMonitor {
  private timer: NodeJS.Timeout | undefined;
  private checking = false;
  private reachable = false;

  constructor(
    private readonly connection: Connection,
    private readonly catalog: Catalog,
    /** Reloads the whole in-memory view (the change feed's reload, which also repositions it). */
    private readonly reload: () => Promise<void>,
    private readonly intervalMs: number,
    private readonly log: Logger,
  ) {}

  /** Ready: the database answered the last ping and the catalog holds a complete view. */
  get ready(): boolean {
    return this.reachable && this.catalog.loaded && !this.catalog.stale;
  }

  /** Runs one check now (ready() awaits the first), then keeps checking in the background. */
  async start(): Promise<void> {
    await this.check();
    this.timer ??= setInterval(() => void this.check(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  private async ping(): Promise<void> {
    const db = this.connection.db;
    if (!db) throw new Error('The connection is not open');
    const timeoutMs = Math.max(200, this.intervalMs * 2);
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        db.command({ ping: 1 }, { timeoutMS: timeoutMs }),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error(`The database did not answer a ping within ${timeoutMs} ms`)), timeoutMs);
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
  }

  private async check(): Promise<void> {
    if (this.checking) return;
    this.checking = true;
    try {
      await this.ping();
      // After an outage, changes may have been missed: reload the whole view before serving again.
      if (!this.reachable || !this.catalog.loaded || this.catalog.stale) {
        await this.reload();
        if (!this.reachable) this.log.info({}, 'Database reachable: serving user-defined APIs');
      }
      this.reachable = true;
    } catch (error) {
      if (this.reachable) this.log.error({ err: errorSummary(error) }, 'Database unreachable: the endpoint answers 503 until it recovers');
      this.reachable = false;
    } finally {
      this.checking = false;
    }
  }
}
