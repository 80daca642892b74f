// Step 8 of a call: the action's input (the body within its limits, parameters, a procedure's required names).
import type { Request, Response } from 'express';
import type { RegisteredAction } from '../actions/registry';
import type { CachedDefinition } from '../catalog/catalog';
import type { MaybePromise } from '../shared/maybe-promise';
import {
  BodyBudgetExceededError,
  BodyIdleError,
  BodyReadError,
  BodyTooLargeError,
  ClientGoneError,
  EndpointError,
} from '../errors';
import { endpointError, retryAfterError } from './endpoint-error';
import { parametersOf } from './parameters';
import { BodyBudget, hasBody, readBody } from '../shared/read-body';

export interface ActionInput {
  rawBody: string;
  parameters: Record<string, string>;
}

export interface ActionInputLimits {
  maxBodyBytes: number;
  /** The bytes all bodies being read or used may hold together. */
  maxBufferedBodyBytes: number;
  bodyIdleTimeoutMs: number;
}

/** Reads bodies against one shared memory budget; synchronous for a request without a body. */
export class ActionInputReader {
  private readonly bodyBudget: BodyBudget;

  constructor(private readonly limits: ActionInputLimits) {
    this.bodyBudget = new BodyBudget(limits.maxBufferedBodyBytes);
  }

  read(req: Request, res: Response, action: RegisteredAction, definition: CachedDefinition): MaybePromise<ActionInput> {
    if (!hasBody(req)) return inputOf(action, definition, '');
    // The body's bytes count against the shared budget until the response is done with them.
    const hold = this.bodyBudget.hold();
    res.once('close', () => hold.release());
    const { maxBodyBytes, bodyIdleTimeoutMs } = this.limits;
    return readBody(req, { maxBytes: maxBodyBytes, hold, idleTimeoutMs: bodyIdleTimeoutMs }).then(
      (body) => inputOf(action, definition, body.toString('utf8')),
      (error: unknown) => {
        if (error instanceof BodyTooLargeError) throw endpointError('BodyTooLarge');
        if (error instanceof BodyBudgetExceededError) throw retryAfterError('Overloaded', 1000);
        if (error instanceof BodyIdleError) throw endpointError('BodyTimeout');
        if (error instanceof BodyReadError) throw new ClientGoneError();
        throw error;
      },
    );
  }
}

function inputOf(action: RegisteredAction, definition: CachedDefinition, rawBody: string): ActionInput {
  const wantsParameters = action.kind === 'procedure' || definition.actionMeta.inputType === 'parameters';
  const parameters = wantsParameters ? parametersOf(rawBody) : {};
  if (!parameters) throw endpointError('BodyToParametersConversionFailed');
  if (action.kind === 'procedure') {
    const missing = action.parameters.filter((name) => !Object.prototype.hasOwnProperty.call(parameters, name));
    if (missing.length > 0) throw new EndpointError('MissingScriptParameters', { missingScriptParameters: missing });
  }
  return { rawBody, parameters };
}
