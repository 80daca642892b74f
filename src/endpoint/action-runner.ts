// Step 9 of a call: runs the action under the concurrency cap and the timeout; the signal fires on timeout or disconnect.
import type { Response } from 'express';
import { isThenable } from '../shared/maybe-promise';
import { isError } from '../shared/is-error';
import { ClientGoneError, EndpointError, QueueFullError, TimeoutError } from '../errors';
import { errorSummary } from '../logging';
import type { Logger } from '../types';
import { ConcurrencyLimiter } from './concurrency';
import { endpointError, retryAfterError } from './endpoint-error';
import { InFlightRegistry, type InFlight } from './in-flight';

export interface ActionRunnerConfig {
  maxConcurrentActions: number;
  maxQueuedActions: number;
  actionTimeoutMs: number;
  /** Anything but 'none': an action's failure keeps what it threw as its cause, for the host's error handler. */
  passErrorsToHost: 'none' | 'unexpected' | 'all';
}

/** Runs the action with the in-flight entry that carries its deadline and signal. */
export type Invoke = (entry: InFlight) => unknown;

/**
 * An action that answers synchronously with a free slot is used at once; only a promise or a queued call is watched.
 * Whatever fails comes out as an EndpointError or a ClientGoneError.
 */
export class ActionRunner {
  readonly limiter: ConcurrencyLimiter;
  private readonly inFlight: InFlightRegistry;
  private readonly keepCauses: boolean;

  constructor(
    config: ActionRunnerConfig,
    private readonly log: Logger,
  ) {
    this.limiter = new ConcurrencyLimiter(config.maxConcurrentActions, config.maxQueuedActions);
    this.inFlight = new InFlightRegistry(config.actionTimeoutMs);
    this.keepCauses = config.passErrorsToHost !== 'none';
  }

  run(res: Response, invoke: Invoke, requestId: string, definitionId: string): unknown {
    const release = this.limiter.tryAcquire();
    if (!release) return this.runQueued(res, invoke, requestId, definitionId);
    const entry = this.inFlight.create(res);
    let work: unknown;
    try {
      work = invoke(entry);
    } catch (error) {
      this.inFlight.finish(entry);
      release();
      throw this.failure(error, entry, undefined, requestId, definitionId);
    }
    if (!isThenable(work)) {
      this.inFlight.finish(entry);
      release();
      return work;
    }
    return this.watch(entry, work, release, requestId, definitionId);
  }

  private async watch(
    entry: InFlight,
    work: PromiseLike<unknown>,
    release: () => void,
    requestId: string,
    definitionId: string,
  ): Promise<unknown> {
    this.inFlight.track(entry);
    try {
      return await entry.wait(Promise.resolve(work));
    } catch (error) {
      throw this.failure(error, entry, work, requestId, definitionId);
    } finally {
      this.inFlight.finish(entry);
      release();
    }
  }

  private async runQueued(res: Response, invoke: Invoke, requestId: string, definitionId: string): Promise<unknown> {
    const entry = this.inFlight.track(this.inFlight.create(res));
    let release: (() => void) | undefined;
    let work: unknown;
    try {
      try {
        release = await this.limiter.acquire(entry.signal);
      } catch (error) {
        if (error instanceof QueueFullError) throw retryAfterError('Overloaded', 1000);
        throw error;
      }
      work = invoke(entry);
      return isThenable(work) ? await entry.wait(Promise.resolve(work)) : work;
    } catch (error) {
      throw this.failure(error, entry, work, requestId, definitionId);
    } finally {
      this.inFlight.finish(entry);
      release?.();
    }
  }

  /** What a failure while waiting for or running an action becomes. */
  private failure(error: unknown, entry: InFlight, work: unknown, requestId: string, definitionId: string): Error {
    if (entry.failed && isThenable(work)) {
      // The action may go on after its signal fired; its result is ignored and a late failure only logged.
      Promise.resolve(work).catch((late: unknown) =>
        this.log.warn({ requestId, err: errorSummary(late) }, 'An action failed after it was abandoned'),
      );
    }
    if (error instanceof TimeoutError) return endpointError('ActionTimeout');
    if (error instanceof EndpointError || error instanceof ClientGoneError) return error;
    this.log.error(
      { requestId, definitionId, err: errorSummary(error), stack: isError(error) ? error.stack : undefined },
      'The action threw',
    );
    // The shared error otherwise: a failing action then costs no new Error.
    return this.keepCauses ? new EndpointError('ActionError', {}, { cause: error }) : endpointError('ActionError');
  }
}
