// Whether the driver's own monitor sees a server that holds data: a late ping then is a slow answer, not a stopped database.
import type { Connection } from 'mongoose';

/** The part of the driver's topology event read here (mongodb's TopologyDescriptionChangedEvent). */
interface TopologyChange {
  newDescription: { hasDataBearingServers: boolean };
}

/**
 * Why. A stopped database shows in two ways: the next command fails at once (connection refused), or, when the
 * driver's monitor noticed first, it waits for server selection (serverSelectionTimeoutMS, seconds) and so looks
 * exactly like a database that is slow to answer. The monitor's verdict tells the two apart; a stalled database
 * (a lock held, a partition that keeps the connection open) still has its server known until the monitor's own
 * check fails.
 */
export class ServerPresence {
  private seen = true;
  /** What whileSeen() calls under way do when the server is lost; each removes its own when it settles. */
  private readonly onLoss = new Set<() => void>();
  private client: ReturnType<Connection['getClient']> | undefined;
  private readonly onChange = (event: TopologyChange): void => {
    this.seen = event.newDescription.hasDataBearingServers;
    if (!this.seen) for (const fail of [...this.onLoss]) fail();
  };

  constructor(private readonly connection: Connection) {}

  /** Follows the driver's topology (a connection without a client yet: always "seen", so nothing is decided early). */
  start(): void {
    if (this.client) return;
    this.client = this.connection.getClient?.();
    this.client?.on('topologyDescriptionChanged', this.onChange);
  }

  stop(): void {
    this.client?.off('topologyDescriptionChanged', this.onChange);
    this.client = undefined;
    this.seen = true;
  }

  /** Settles as `work` does, or rejects with `lossError()` as soon as the driver has lost its last data-bearing server. */
  async whileSeen<T>(work: Promise<T>, lossError: () => Error): Promise<T> {
    if (!this.seen) {
      // Nobody waits for `work` now: its own failure, later, must not be an unhandled rejection.
      work.catch(() => undefined);
      throw lossError();
    }
    let fail = (): void => undefined;
    const lost = new Promise<never>((_resolve, reject) => {
      fail = () => reject(lossError());
    });
    this.onLoss.add(fail);
    try {
      return await Promise.race([work, lost]);
    } finally {
      this.onLoss.delete(fail);
    }
  }
}
