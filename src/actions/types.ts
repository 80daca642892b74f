// The contract between the endpoint and the actions developers register: what they receive and return.

/** Query parameters: several values per key, case-sensitive keys. */
export interface QueryParameters {
  /** The first value of `key`, or undefined. */
  get(key: string): string | undefined;
  /** Every value of `key`, in order (empty when absent). */
  getAll(key: string): string[];
  has(key: string): boolean;
  keys(): string[];
}

/** Facts about the call, for handlers and procedures. */
export interface ActionContext {
  tokenId: string;
  tokenName: string;
  definitionId: string;
  requestId: string;
  /** Fires when the action times out or the client goes away: stop work and return. */
  signal: AbortSignal;
}

export type RequestMethod = 'GET' | 'PUT' | 'POST' | 'DELETE' | 'PATCH';

/** What a handler receives. */
export interface HandlerInput {
  requestMethod: RequestMethod;
  /** The concrete request path after the base path (normalised, casing as received). */
  route: string;
  /** The matched definition's route, e.g. `tickets/{id}`. */
  routeTemplate: string;
  /** The request body as text; '' when there is none. */
  rawBody: string;
  /** The body parsed as a flat JSON object of strings when the definition's inputType is `parameters`; else {}. */
  parameters: Record<string, string>;
  queryParameters: QueryParameters;
  /** Values of the `{name}` segments, percent-decoded once; {} for static routes. */
  routeParameters: Record<string, string>;
  context: ActionContext;
}

/** What a handler returns. `responseBodyBytes` wins over `responseBody`. */
export interface HandlerOutput {
  responseCode: number;
  /** A string is sent as is; any other JSON value is serialised. Default Content-Type: application/json. */
  responseBody?: unknown;
  /** Default Content-Type: application/octet-stream. */
  responseBodyBytes?: Buffer | Uint8Array;
  /** Extra response headers; some (CORS, cookies, framing) are refused. A Content-Type here wins. */
  headers?: Record<string, string | string[]>;
}

/** A handler: `actionType: "handler"` definitions run it with the whole request. */
export type ActionHandler = (input: HandlerInput) => HandlerOutput | Promise<HandlerOutput>;

/** A procedure: `actionType: "procedure"` definitions run it with the body's parameters; success is 200, empty. */
export type ProcedureHandler = (parameters: Record<string, string>, context: ActionContext) => void | Promise<void>;

/** The declaration of a procedure: the body parameters it requires. */
export interface ProcedureOptions {
  parameters: readonly string[];
}

/** One entry of GET /actions. */
export interface ActionInfo {
  name: string;
  kind: 'handler' | 'procedure';
  /** Procedures only. */
  parameters?: string[];
}
