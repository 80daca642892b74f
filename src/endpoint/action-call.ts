// What an action is called with: its input, and a context (who called, which API, the request id, a lazy signal).
import type { Request } from 'express';
import type { ActionContext, HandlerInput, RequestMethod } from '../actions/types';
import type { RequestPath } from '../domain/request-path';
import type { AllowedAccess } from '../services/access-decision';
import type { ActionInput } from './action-input';
import type { Invoke } from './action-runner';
import type { CallTrace } from './call-trace';
import type { InFlight } from './in-flight';
import { queryParametersOf } from './query-parameters';

const NO_QUERY_PARAMETERS = queryParametersOf('');

/**
 * A class, so that the lazy `signal` is one getter on the prototype instead of a closure and an accessor made for
 * every call; the other fields are plain own properties.
 */
class RequestContext implements ActionContext {
  // A true private field: never copied by a spread, never serialised, never reachable by the action.
  readonly #entry: InFlight;

  constructor(
    readonly tokenId: string,
    readonly tokenName: string,
    readonly definitionId: string,
    readonly requestId: string,
    entry: InFlight,
  ) {
    this.#entry = entry;
  }

  get signal(): AbortSignal {
    return this.#entry.signal;
  }
}

/** Calls the action with its input: a handler gets the request's parts, a procedure its parameters. */
export function actionCall(
  req: Request,
  path: RequestPath,
  trace: CallTrace,
  { token, definition, routeParameters, action }: AllowedAccess,
  { rawBody, parameters }: ActionInput,
): Invoke {
  return (entry) => {
    // The AbortSignal is made only if the action reads it.
    const context = new RequestContext(token.id, token.name, definition.id, trace.requestId, entry);
    if (action.kind === 'procedure') return action.run(parameters, context);
    const input = {
      requestMethod: req.method as RequestMethod,
      route: path.route,
      routeTemplate: definition.route,
      rawBody,
      parameters,
      // Parsed up front only when there is a query: an object literal with a lazy getter costs more.
      queryParameters: path.rawQuery === '' ? NO_QUERY_PARAMETERS : queryParametersOf(path.rawQuery),
      routeParameters,
      context,
    } satisfies HandlerInput;
    return action.run(input);
  };
}
