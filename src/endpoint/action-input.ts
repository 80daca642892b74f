// Step 8 of a call: the action's input (the body within its limits, parameters, a procedure's required names).
import type { Request, Response } from 'express';
import type { AllowedAccess } from '../services/access-decision';
import type { Logger } from '../types';
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
import { InputChecker } from '../services/input-check';
import { parametersOf } from '../domain/parameters';
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

/**
 * Reads bodies against one shared memory budget, then checks the input against what the API declares; synchronous
 * for a request without a body.
 */
export class ActionInputReader {
  private readonly bodyBudget: BodyBudget;
  private readonly checker: InputChecker;

  constructor(
    private readonly limits: ActionInputLimits,
    log: Logger,
    definitionExists: (id: string) => boolean,
  ) {
    this.bodyBudget = new BodyBudget(limits.maxBufferedBodyBytes);
    this.checker = new InputChecker(log, definitionExists);
  }

  read(req: Request, res: Response, access: AllowedAccess, rawQuery: string): MaybePromise<ActionInput> {
    if (!hasBody(req)) return this.inputOf(req.method, access, rawQuery, '');
    // The body's bytes count against the shared budget until the response is done with them.
    const hold = this.bodyBudget.hold();
    res.once('close', () => hold.release());
    const { maxBodyBytes, bodyIdleTimeoutMs } = this.limits;
    return readBody(req, { maxBytes: maxBodyBytes, hold, idleTimeoutMs: bodyIdleTimeoutMs }).then(
      (body) => this.inputOf(req.method, access, rawQuery, body.toString('utf8')),
      (error: unknown) => {
        if (error instanceof BodyTooLargeError) throw endpointError('BodyTooLarge');
        if (error instanceof BodyBudgetExceededError) throw retryAfterError('Overloaded', 1000);
        if (error instanceof BodyIdleError) throw endpointError('BodyTimeout');
        if (error instanceof BodyReadError) throw new ClientGoneError();
        throw error;
      },
    );
  }

  /** The original's checks first (codes 10 and 16), then the definition's input schemas (code 18). */
  private inputOf(method: string, access: AllowedAccess, rawQuery: string, rawBody: string): ActionInput {
    const { action, definition, routeParameters } = access;
    const bodyAsParameters = action.kind === 'procedure' || definition.actionMeta.inputType === 'parameters';
    const parameters = bodyAsParameters ? parametersOf(rawBody) : {};
    if (!parameters) throw endpointError('BodyToParametersConversionFailed');
    if (action.kind === 'procedure') {
      const missing = action.parameters.filter((name) => !Object.prototype.hasOwnProperty.call(parameters, name));
      if (missing.length > 0) throw new EndpointError('MissingScriptParameters', { missingScriptParameters: missing });
    }
    this.checker.check(definition, { method, routeParameters, rawQuery, rawBody, bodyAsParameters });
    return { rawBody, parameters };
  }
}
