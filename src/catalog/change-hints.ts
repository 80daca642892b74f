// Tells the other instances through Redis to poll the change log now, so a change reaches them within a round trip.
import { errorSummary } from '../logging';
import type { ChangeHintClient, ChangeHintSubscriber, Logger } from '../types';

/**
 * Only a nudge: the message carries nothing (the change log is the truth, and what a hint says is never trusted),
 * so a lost, late or forged hint costs at most one extra poll.
 */
export class ChangeHints {
  private subscriber: ChangeHintSubscriber | undefined;
  private warned = false;

  constructor(
    private readonly client: ChangeHintClient,
    private readonly channel: string,
    private readonly log: Logger,
  ) {}

  /**
   * Subscribes on a duplicate connection; `onHint` runs for every hint (this instance's own ones too). Called again
   * before stop() (a retried subscription), it subscribes again but adds no second listener.
   */
  async start(onHint: () => void): Promise<void> {
    if (!this.subscriber) {
      this.subscriber = this.client.duplicate();
      this.subscriber.on('message', (channel) => {
        if (channel === this.channel) onHint();
      });
    }
    await this.subscriber.subscribe(this.channel);
  }

  /** Fire and forget: a change is stored and logged whether or not Redis takes the hint. */
  publish(): void {
    this.client.publish(this.channel, '').then(
      () => (this.warned = false),
      (error: unknown) => {
        if (this.warned) return;
        this.warned = true;
        this.log.warn(
          { err: errorSummary(error) },
          'Could not publish a change hint; other instances apply the change at their next poll',
        );
      },
    );
  }

  stop(): void {
    this.subscriber?.disconnect();
    this.subscriber = undefined;
  }
}
