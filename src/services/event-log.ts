// Writes information events (persisted and emitted in-process) and prunes them past their retention.
import { randomUUID } from 'node:crypto';
import type { ChangeAction, ChangeEvent, Logger, ObjectType, Page } from '../types';
import { toChangeEvent, type EventDoc, type EventModel } from '../models/event';
import { afterCursor, pageOf } from './pagination';
import { errorSummary } from '../logging';

const VERB: Record<ChangeAction, string> = { created: 'added', updated: 'updated', deleted: 'deleted' };
const PRUNE_INTERVAL_MS = 60 * 60 * 1000;

/** What a service reports; the log adds id, time and message. */
export type EventInput = Pick<ChangeEvent, 'objectType' | 'action' | 'objectId' | 'tokenName' | 'route' | 'user'>;

export interface EventFilter {
  objectTypes: ObjectType[];
  objectId?: string;
  action?: ChangeAction;
  /** The admin user who made the change. */
  user?: string;
  /** At or after; before. */
  from?: Date;
  to?: Date;
}

function messageOf(input: EventInput): string {
  const subject =
    input.objectType === 'ApiToken'
      ? `ApiToken '${input.tokenName ?? ''}'`
      : `ApiDefinition with route '${input.route ?? ''}'`;
  return `${subject} (${input.objectId}) was ${VERB[input.action]} by ${input.user}`;
}

/** What an EventLog works with; plugin.ts builds it. */
export interface EventLogDeps {
  model: EventModel;
  /** Events older than this many days are pruned. */
  retentionDays: number;
  /** Hands each recorded event to the host's `change` listeners. */
  emit: (event: ChangeEvent) => void;
  /** The manager log. */
  logger: Logger;
}

export class EventLog {
  private pruneTimer: NodeJS.Timeout | undefined;

  constructor(private readonly deps: EventLogDeps) {}

  /**
   * Persists the event, then emits it. The change it describes is already stored, so a failure to persist the
   * event is logged rather than turned into a failed request (there are no transactions to undo the change).
   */
  async record(input: EventInput): Promise<ChangeEvent> {
    const doc: EventDoc = { _id: randomUUID(), ...input, at: new Date(), message: messageOf(input) };
    const event = toChangeEvent(doc);
    try {
      await this.deps.model.create(doc);
    } catch (error) {
      this.deps.logger.error(
        { err: errorSummary(error), eventId: doc._id, objectId: input.objectId },
        'Could not persist an information event',
      );
    }
    try {
      this.deps.emit(event);
    } catch (error) {
      // A listener's bug must not fail the admin request that caused the event.
      this.deps.logger.error({ err: errorSummary(error), eventId: doc._id }, "A 'change' listener threw");
    }
    return event;
  }

  async list(filter: EventFilter, limit: number, cursor?: string): Promise<Page<ChangeEvent>> {
    const query: Record<string, unknown> = { objectType: { $in: filter.objectTypes }, ...afterCursor('at', cursor) };
    if (filter.objectId !== undefined) query.objectId = filter.objectId;
    if (filter.action !== undefined) query.action = filter.action;
    if (filter.user !== undefined) query.user = filter.user;
    if (filter.from !== undefined || filter.to !== undefined) {
      // The cursor's condition on `at` stays: the period narrows it.
      const at: Record<string, unknown> = { ...(query.at as Record<string, unknown> | undefined) };
      if (filter.from !== undefined) at.$gte = filter.from;
      if (filter.to !== undefined) at.$lt = filter.to;
      query.at = at;
    }
    return pageOf(
      (n) => this.deps.model.find(query).sort({ at: -1, _id: -1 }).limit(n).lean<EventDoc[]>().exec(),
      limit,
      (doc) => doc.at,
      toChangeEvent,
    );
  }

  /** Deletes events older than the retention; TTL indexes are not portable to FerretDB, so this runs on a timer. */
  async prune(now = new Date()): Promise<number> {
    const cutoff = new Date(now.getTime() - this.deps.retentionDays * 24 * 60 * 60 * 1000);
    const result = await this.deps.model.deleteMany({ at: { $lt: cutoff } }).exec();
    return result.deletedCount;
  }

  startPruning(): void {
    const run = (): void => {
      this.prune().catch((error: unknown) =>
        this.deps.logger.warn({ err: errorSummary(error) }, 'Pruning old information events failed'),
      );
    };
    run();
    this.pruneTimer = setInterval(run, PRUNE_INTERVAL_MS);
    this.pruneTimer.unref();
  }

  stopPruning(): void {
    if (this.pruneTimer) clearInterval(this.pruneTimer);
    this.pruneTimer = undefined;
  }
}
