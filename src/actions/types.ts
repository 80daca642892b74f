// The contract between the endpoint and the actions developers register: what they receive and return.

/** Query parameters: several values per key, case-sensitive keys. */
export interface QueryParameters {
  /** The first value of `key`, or undefined. */
  get(key: string): string | undefined;
  /** Every value of `key`, in order (empty when absent). */
  getAll(key: string): string[];
  /** Whether `key` is present (even with an empty value). */
  has(key: string): boolean;
  /** The distinct keys, in order of first appearance. */
  keys(): string[];
}

/** Facts about the call, for handlers and procedures. */
export interface ActionContext {
  /** Id of the token whose secret authenticated the call: who is calling. */
  tokenId: string;
  /** That token's name, as it was when the call arrived (for logs and messages). */
  tokenName: string;
  /** Id of the API definition the request matched. */
  definitionId: string;
  /** This call's id, also in the endpoint log: quote it in your own logs to tie them together. */
  requestId: string;
  /** Fires when the action times out or the client goes away: stop work and return. */
  signal: AbortSignal;
}

/** The methods the endpoint serves; any other is answered 405, code 3. */
export type RequestMethod = 'GET' | 'PUT' | 'POST' | 'DELETE' | 'PATCH';

/** What a handler receives. */
export interface HandlerInput {
  /** The HTTP method of the call; one definition serves every method, so a handler may branch on it. */
  requestMethod: RequestMethod;
  /** The concrete request path after the base path (normalised, casing as received). */
  route: string;
  /** The matched definition's route, e.g. `tickets/{id}`. */
  routeTemplate: string;
  /** The request body as text; '' when there is none. */
  rawBody: string;
  /** The body parsed as a flat JSON object of strings when the definition's inputType is `parameters`; else {}. */
  parameters: Record<string, string>;
  /** The query string, decoded; a key may repeat. */
  queryParameters: QueryParameters;
  /** Values of the `{name}` segments, percent-decoded once; {} for static routes. */
  routeParameters: Record<string, string>;
  /** Who is calling through which definition, and the abort signal. */
  context: ActionContext;
}

/** What a handler returns. `responseBodyBytes` wins over `responseBody`. */
export interface HandlerOutput {
  /** The HTTP status to answer with, an integer from 200 to 599 (else 500, code 1002). */
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
  /** Names of the body parameters the procedure requires; a call missing one is refused (400, code 16). */
  parameters: readonly string[];
}

/** One entry of GET /actions. */
export interface ActionInfo {
  /** The name the action was registered under: what `actionMeta.name` refers to. */
  name: string;
  /** Whether it was registered with `registerHandler` or `registerProcedure`. */
  kind: 'handler' | 'procedure';
  /** Procedures only. */
  parameters?: string[];
}
