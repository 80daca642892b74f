// The one catalogue of admin error reasons and endpoint error codes, and the error classes the package throws.

/** Admin REST API error reasons, with the HTTP status each is answered with. */
export const ErrorReasons = {
  InvalidName: {
    status: 400,
    description:
      "A token's name is missing, empty or whitespace-only, or a definition's is whitespace-only (an empty one, like null, means none); or a name is too long (over 200 characters), not a string, or holds a control character (C0, C1), a line or paragraph separator, or a bidi embedding, override or isolate.",
  },
  InvalidSecret: {
    status: 400,
    description:
      'The secret is under 32 or over 512 characters, has a character outside A-Z a-z 0-9 _ - . = + /, is not a string, or another token uses it (also as a previous secret in its grace period).',
  },
  InvalidRateLimit: {
    status: 400,
    description: 'The rate limit is not null nor { limit: 1-100, windowSeconds: 1-86400 } in whole numbers.',
  },
  InvalidScopes: {
    status: 400,
    description:
      "A token's scopes or a definition's securitySettings.requiredScopes is not a list of at most 50 different scopes of 1-64 characters of a-z 0-9 : . _ - (a scope listed twice is refused, not dropped).",
  },
  InvalidMetadata: {
    status: 400,
    description:
      "A token's metadata is not a JSON object or null, is over 4096 bytes as JSON, or has a key (at any depth) that starts with $, contains . or NUL, or is __proto__.",
  },
  InvalidRoute: {
    status: 400,
    description: 'The route breaks the route grammar; `route` names it and the message says which rule.',
  },
  InvalidExpiresAt: {
    status: 400,
    description:
      'expiresAt is not null nor an ISO-8601 date and time, or has the shape of one but names none (such as month 13).',
  },
  InvalidPreviousSecretExpiresAt: {
    status: 400,
    description:
      "A rotation's previousSecretExpiresAt names no date, is not in the future, or is more than 90 days ahead.",
  },
  InvalidActionMeta: {
    status: 400,
    description:
      'actionType/actionMeta is missing or malformed, names no registered action of that type, or gives inputType to a procedure.',
  },
  InvalidAllowedTokens: {
    status: 400,
    description:
      'securitySettings.allowedTokens is malformed, has over 1000 ids, or names tokens that do not exist (`unknownTokenIds`).',
  },
  InvalidId: { status: 400, description: 'A supplied id is not a UUID.' },
  InvalidRequest: {
    status: 400,
    description:
      'Not JSON, not an object, an unknown or read-only field, a wrong type, a bad or repeated query parameter, a forged cursor, a description with a control character other than line feed and tab, or a path that is not valid percent-encoding.',
  },
  InvalidInputSchema: {
    status: 400,
    description:
      "A definition's input is not an object of body, query and route JSON Schemas (draft 2020-12) that ajv's strict mode accepts, is over 64 KB as JSON or nests over 32 deep, has a $ref outside itself, a $id, a pattern or format without maxLength, a pattern that could backtrack exponentially, uniqueItems without maxItems, or a route schema naming a parameter the route lacks; `field` says where, such as input.body/properties/name/pattern.",
  },
  InvalidBackup: {
    status: 400,
    description:
      'POST /import got no backup of this package and version, one made under another pepper, or an object that is malformed or breaks a rule (a bcrypt hash not of cost 4-15, a grace period over 90 days, a time in the future); `field` says where, such as tokens[3].secretHash.',
  },
  IdInUse: { status: 409, description: 'A create or import supplied an id that another object already has.' },
  RouteInUse: {
    status: 409,
    description: "The route conflicts with another definition's (`conflictingDefinitionId`, `route`).",
  },
  TokenInUse: {
    status: 409,
    description:
      'A delete of a token that API definitions allow (`apiDefinitionIdLinks`); disable it instead to cut access at once.',
  },
  NotFound: { status: 404, description: 'No object has this id, or no admin route matches the method and path.' },
  Unauthenticated: {
    status: 401,
    description: 'authenticateAdmin returned no admin user for this request, or threw an error with status 401.',
  },
  MissingPermission: {
    status: 403,
    description:
      'The admin user lacks the permission named in `permission`; or authenticateAdmin threw an error with status 403 (then no `permission`).',
  },
  CrossSiteRequest: {
    status: 403,
    description:
      "A browser sent a change (POST, PATCH, DELETE) from another site; changes must come from the admin API's own origin.",
  },
  PayloadTooLarge: {
    status: 413,
    description: 'The body is larger than adminBodyLimitBytes (importBodyLimitBytes for POST /import).',
  },
  UnsupportedMediaType: {
    status: 415,
    description: 'A body that is not application/json, or a change sent with a form content type.',
  },
  ServiceUnavailable: {
    status: 503,
    description:
      'The database cannot be reached, too much bcrypt work is queued, or a token being deleted did not settle in 10 s; retry after Retry-After.',
  },
  InternalError: { status: 500, description: 'Anything unexpected; the details are only in the manager log.' },
} as const satisfies Record<string, { status: number; description: string }>;

/** One of the admin error reasons in {@link ErrorReasons}. */
export type ErrorReason = keyof typeof ErrorReasons;

/** Extra fields an admin error may carry besides reason, id and message. */
export interface AdminErrorExtra {
  /** `InvalidRoute`, `RouteInUse`: the route in question. */
  route?: string;
  /** `RouteInUse`: the definition whose route conflicts. */
  conflictingDefinitionId?: string;
  /** `TokenInUse`: the definitions that still allow the token. */
  apiDefinitionIdLinks?: string[];
  /** `InvalidAllowedTokens`: the allowed token ids that name no token. */
  unknownTokenIds?: string[];
  /** `MissingPermission`: the permission the admin user lacks. */
  permission?: string;
  /** The field of the body, query or backup object that was refused, when one is to blame. */
  field?: string;
}

/** One entry of the admin error body `{ errors: [...] }`. */
export interface AdminErrorItem extends AdminErrorExtra {
  /** What went wrong, from {@link ErrorReasons}: branch on it, not on the message. */
  reason: ErrorReason;
  /** The id of the object concerned, when there is one. */
  id?: string;
  /** A sentence for people that says what to fix. */
  message: string;
}

/** Thrown inside the package for any admin failure a client should see; the admin router renders it. */
export class AdminError extends Error {
  readonly status: number;
  readonly items: AdminErrorItem[];

  constructor(items: AdminErrorItem | AdminErrorItem[]) {
    const list = Array.isArray(items) ? items : [items];
    if (list.length === 0) throw new TypeError('AdminError needs at least one item');
    super(list.map((item) => `${item.reason}: ${item.message}`).join('; '));
    this.name = 'AdminError';
    this.items = list;
    // Several errors share one response; the first one decides its status.
    this.status = ErrorReasons[list[0]!.reason].status;
  }

  /** The first item's reason, which decides the status; each item carries its own. */
  get code(): ErrorReason {
    return this.items[0]!.reason;
  }

  /** Shorthand for a single-item error. */
  static of(reason: ErrorReason, message: string, extra: AdminErrorExtra & { id?: string } = {}): AdminError {
    return new AdminError({ reason, message, ...extra });
  }
}

/** Raised for a bad option; the message says how to fix it. */
export class OptionsError extends TypeError {
  /** Stable across releases, unlike the message: branch on it. */
  readonly code = 'InvalidOptions';

  constructor(message: string) {
    super(`createUserDefinedApis: ${message}`);
    this.name = 'OptionsError';
  }
}

/** Thrown at registration for a bad name, a duplicate or a bad declaration; the message says how to fix it. */
export class RegistrationError extends TypeError {
  /** Stable across releases, unlike the message: branch on it. */
  readonly code = 'InvalidRegistration';

  constructor(message: string) {
    super(message);
    this.name = 'RegistrationError';
  }
}

/**
 * `ready()` found that the pepper is not the one the store's tokens were made with (its check value, kept in the
 * metadata collection, does not match): with it, no stored secret would work and new ones would work nowhere else.
 * The message names the fix; see "Rotating the pepper" in SECURITY.md for a deliberate change.
 */
export class PepperMismatchError extends Error {
  /** Stable across releases, unlike the message: branch on it. */
  readonly code = 'PepperMismatch';

  /** The metadata collection that holds the check (its `pepperCheck` document). */
  readonly collection: string;

  constructor(collection: string) {
    super(
      `The pepper is not the one this database's tokens were made with (the check in collection ${collection}, ` +
        `document "pepperCheck", does not match). Start with the same pepper as the other instances (UDAPI_PEPPER ` +
        `for the udapi command). To change the pepper on purpose, follow "Rotating the pepper" in SECURITY.md: ` +
        `it deletes that document, and every existing secret stops working.`,
    );
    this.name = 'PepperMismatchError';
    this.collection = collection;
  }
}

/** A command line that the `udapi` command cannot run (exit code 2); the message says how to call it. */
export class UsageError extends Error {
  /** Stable across releases, unlike the message: branch on it. */
  readonly code = 'InvalidUsage';

  /** @param usage - The usage to print after the message (the command's own, its group's, or all of it). */
  constructor(
    message: string,
    readonly usage?: string,
  ) {
    super(message);
    this.name = 'UsageError';
  }
}

/**
 * Failures inside the endpoint's work that the endpoint (or the admin router) turns into an answer; never shown to a
 * client as they are. Each has a `code` to branch on, stable unlike the message.
 */
abstract class InternalFailure extends Error {
  abstract readonly code: string;
}

/** The action ran past actionTimeoutMs (504, code 2001). */
export class TimeoutError extends InternalFailure {
  readonly code = 'ActionTimeout';
  constructor() {
    super('The action timed out');
    this.name = 'TimeoutError';
  }
}

/** The client closed the connection before the answer (logged as 499, nothing is sent). */
export class ClientGoneError extends InternalFailure {
  readonly code = 'ClientGone';
  constructor() {
    super('The client closed the connection');
    this.name = 'ClientGoneError';
  }
}

/** The queue of actions waiting for a slot is full (503, code 2000). */
export class QueueFullError extends InternalFailure {
  readonly code = 'QueueFull';
  constructor() {
    super('The action queue is full');
    this.name = 'QueueFullError';
  }
}

/** The request body is over maxBodyBytes (413, code 1009). */
export class BodyTooLargeError extends InternalFailure {
  readonly code = 'BodyTooLarge';
  constructor() {
    super('The request body is too large');
    this.name = 'BodyTooLargeError';
  }
}

/** The bodies being read would hold more than the shared budget, maxBufferedBodyBytes (503, code 2000). */
export class BodyBudgetExceededError extends InternalFailure {
  readonly code = 'BodyBudgetExceeded';
  constructor() {
    super('The request bodies being read would exceed the memory budget');
    this.name = 'BodyBudgetExceededError';
  }
}

/** The sender sent no body bytes for bodyIdleTimeoutMs (408, code 2004). */
export class BodyIdleError extends InternalFailure {
  readonly code = 'BodyIdle';
  constructor() {
    super('The request body stalled');
    this.name = 'BodyIdleError';
  }
}

/** The request body could not be read (the connection broke): the client is gone. */
export class BodyReadError extends InternalFailure {
  readonly code = 'BodyRead';
  constructor(message: string) {
    super(message);
    this.name = 'BodyReadError';
  }
}

/** Thrown when the bcrypt queue is full: the caller answers 503 instead of piling up work. */
export class BcryptOverloadedError extends InternalFailure {
  readonly code = 'BcryptOverloaded';
  constructor() {
    super('Too many secret hashing operations are waiting');
    this.name = 'BcryptOverloadedError';
  }
}

/** The rate-limit store could not count or read a token's calls: the endpoint fails closed (503, code 7). */
export class RateLimitStoreError extends InternalFailure {
  readonly code = 'RateLimitStoreFailed';
  constructor(cause: unknown) {
    super('The rate-limit store failed', { cause });
    this.name = 'RateLimitStoreError';
  }
}

/** The health check's ping was not answered in time: one is not an outage, two in a row are (503, code 7). */
export class PingTimeout extends InternalFailure {
  readonly code = 'PingTimeout';
  constructor(message: string) {
    super(message);
    this.name = 'PingTimeout';
  }
}

/**
 * Endpoint error codes (documented in docs/endpoint.md). Codes below 1000 and 1001-1014 keep the original's numbering.
 * `detail` is what the consumer reads in the error body; `when` says, for the operator, what causes it.
 */
export const ErrorCodes = {
  EmptyRoute: { code: 1, status: 400, detail: 'The request route is empty.', when: 'Nothing after the base path.' },
  InvalidRequestMethod: {
    code: 3,
    status: 405,
    detail: 'The request method is not supported.',
    when: 'A method other than GET, PUT, POST, DELETE, PATCH (HEAD and OPTIONS included).',
  },
  DefinitionNotFound: {
    code: 5,
    status: 404,
    detail: 'No API is defined for this route.',
    when: 'No definition matches the route.',
  },
  NotReady: {
    code: 7,
    status: 503,
    detail: 'The service is not ready; retry later.',
    when: 'The database is unreachable, the in-memory view is not loaded yet or is behind the change log by more than maxViewLagMs, or the shared rate-limit store failed (Retry-After).',
  },
  UnexpectedException: {
    code: 8,
    status: 500,
    detail: 'Something went wrong, contact the system administrator.',
    when: 'A failure inside the package.',
  },
  BodyToParametersConversionFailed: {
    code: 10,
    status: 400,
    detail: 'Invalid json body received.',
    when: '`parameters` input that is not a flat JSON object.',
  },
  ActionError: { code: 12, status: 500, detail: 'The action failed.', when: 'The handler or procedure threw.' },
  InvalidActionResult: {
    code: 13,
    status: 500,
    detail: 'The action returned no valid result.',
    when: 'No output, or an output of the wrong shape.',
  },
  ActionNotFound: {
    code: 15,
    status: 500,
    detail: 'The action of this API is not available.',
    when: "The definition's action is not registered (any more) on this instance.",
  },
  MissingScriptParameters: {
    code: 16,
    status: 400,
    detail: 'The request body is missing script parameters.',
    when: "A procedure's declared parameters are missing from the body (`missingScriptParameters`).",
  },
  InvalidInput: {
    code: 18,
    status: 400,
    detail: 'The request does not match the input this API describes.',
    when: "The route parameters, query or body break the definition's input schemas (`inputErrors` lists each problem).",
  },
  ResponseBodyTooLarge: {
    code: 17,
    status: 500,
    detail: 'The response body is too large.',
    when: "The action's body is over maxResponseBodyBytes.",
  },
  UnknownStatusCode: {
    code: 1002,
    status: 500,
    detail: 'The action returned an invalid status code.',
    when: '`responseCode` is not an integer from 200 to 599.',
  },
  InvalidContentType: {
    code: 1003,
    status: 415,
    detail: 'The Content-Type is not supported.',
    when: 'An unsupported Content-Type, a body without one, or a Content-Encoding other than identity.',
  },
  AuthenticationHeaderInvalid: {
    code: 1008,
    status: 401,
    detail: 'The Authorization header is missing or not a Bearer token.',
    when: 'No `Authorization: Bearer …` header.',
  },
  BodyTooLarge: {
    code: 1009,
    status: 413,
    detail: 'The request body is too large.',
    when: 'The body is over maxBodyBytes.',
  },
  AuthenticationFailed: {
    code: 1010,
    status: 401,
    detail: 'Authentication failed.',
    when: "The secret is empty or unknown, or its token is disabled, expired, not allowed by the API, or lacks one of the API's required scopes: one answer for all.",
  },
  QueryStringTooLarge: {
    code: 1011,
    status: 414,
    detail: 'The query string is too large.',
    when: 'The query string is over 2 KB.',
  },
  ResponseHeadersNotAllowed: {
    code: 1012,
    status: 500,
    detail: 'The action set a response header that is not allowed.',
    when: 'The action set a forbidden header.',
  },
  ResponseHeadersInvalid: {
    code: 1013,
    status: 500,
    detail: 'The action set an invalid response header.',
    when: 'The action set a malformed header.',
  },
  RateLimitExceeded: {
    code: 1014,
    status: 429,
    detail: 'The rate limit of this token is exceeded.',
    when: "The token's rate limit is reached (Retry-After).",
  },
  ActionTimeout: {
    code: 2001,
    status: 504,
    detail: 'The action did not finish in time.',
    when: 'The action did not finish within actionTimeoutMs.',
  },
  Overloaded: {
    code: 2002,
    status: 503,
    detail: 'Too many requests are waiting; retry later.',
    when: 'The action queue is full, the bodies being read would exceed maxBufferedBodyBytes, or too many first calls of new secrets wait for bcrypt (Retry-After).',
  },
  TooManyFailedAuthentications: {
    code: 2003,
    status: 429,
    detail: 'Too many failed authentications from this address; retry later.',
    when: 'A failed authentication from a client address (IPv6: its /64) that had too many of them (Retry-After); a secret that authenticates is never refused.',
  },
  InsufficientScope: {
    code: 2005,
    status: 403,
    detail: 'The token does not grant access to this resource.',
    when: "Host routes only (requireToken): the token lacks a scope the route requires, or the host's `allow` predicate refused it.",
  },
  InputSchemaUnusable: {
    code: 2006,
    status: 500,
    detail: 'The input description of this API cannot be used.',
    when: "The definition's stored input schema does not compile on this instance (the manager log says why); save the definition again.",
  },
  BodyTimeout: {
    code: 2004,
    status: 408,
    detail: 'The request body did not arrive in time.',
    when: 'The sender sent no body bytes for bodyIdleTimeoutMs; the connection is closed.',
  },
} as const satisfies Record<string, { code: number; status: number; detail: string; when: string }>;

/** One of the endpoint error names in {@link ErrorCodes}. */
export type ErrorCodeName = keyof typeof ErrorCodes;

/** The fixed title of every endpoint error body. */
export const ENDPOINT_ERROR_TITLE =
  'Error occurred while handling the request, contact your admin with the provided errorCode and faultingNode ID.';

/** One problem of a call's input (code 18): which part, where in it (a JSON Pointer), and what is wrong. */
export interface InputProblem {
  in: 'body' | 'query' | 'route';
  instancePath: string;
  message: string;
}

/** Extra fields of one endpoint error body, and the Retry-After of 429 and 503 answers. */
export interface EndpointErrorExtra {
  missingScriptParameters?: string[];
  /** Code 18: the problems of the call's input, at most 20. */
  inputErrors?: InputProblem[];
  /** Seconds, for 429 and 503 answers. */
  retryAfterSeconds?: number;
  /** For 403 InsufficientScope: the scopes the route requires, space-separated (WWW-Authenticate's `scope`). */
  scope?: string;
}

/** Raised inside the endpoint pipeline; the endpoint turns it into the response. */
export class EndpointError extends Error {
  constructor(
    readonly errorName: ErrorCodeName,
    readonly extra: EndpointErrorExtra = {},
    options?: { cause?: unknown },
  ) {
    super(ErrorCodes[errorName].detail, options);
    this.name = 'EndpointError';
  }

  /** The endpoint error code the body carries (1010 and so on). */
  get code(): number {
    return ErrorCodes[this.errorName].code;
  }

  get status(): number {
    return ErrorCodes[this.errorName].status;
  }
}

/** The JSON body of an admin or endpoint failure, as the package sends it. */
export interface FailureBody {
  /** Admin failures: {@link AdminErrorItem}s; endpoint failures: `{ title, detail, errorCode, faultingNode }`. */
  errors: readonly object[];
}

/**
 * An admin or endpoint failure handed to the host's Express error handler (the `passErrorsToHost` option), shaped
 * like an http-errors error, so a handler written for those renders it as it is.
 */
export class UserDefinedApisError extends Error {
  /** The HTTP status the package would have answered with. */
  readonly status: number;
  /** The same as `status` (the other name Express and http-errors use). */
  readonly statusCode: number;
  /** True below 500: the message is fit for the client (the http-errors convention). */
  readonly expose: boolean;
  /**
   * What failed, stable across releases: an admin error reason (`MissingPermission`, see `ErrorReasons`) or an
   * endpoint error name (`AuthenticationFailed`, see `ErrorCodes`).
   */
  readonly code: string;
  /** Which router failed: `admin` or `endpoint`. */
  readonly source: 'admin' | 'endpoint';
  /** Endpoint failures: the numeric `errorCode` of the body (1010 and so on); undefined for admin failures. */
  readonly errorCode: number | undefined;
  /** Headers the package would have sent with it (`Retry-After`, `WWW-Authenticate`, `Connection`). */
  readonly headers: Readonly<Record<string, string>>;
  /** The body the package would have sent. */
  readonly body: FailureBody;

  constructor(init: {
    source: 'admin' | 'endpoint';
    status: number;
    code: string;
    message: string;
    errorCode?: number;
    headers?: Record<string, string>;
    body: FailureBody;
    cause?: unknown;
  }) {
    super(init.message, init.cause === undefined ? undefined : { cause: init.cause });
    this.name = 'UserDefinedApisError';
    this.status = init.status;
    this.statusCode = init.status;
    this.expose = init.status < 500;
    this.code = init.code;
    this.source = init.source;
    this.errorCode = init.errorCode;
    this.headers = Object.freeze({ ...init.headers });
    this.body = init.body;
  }
}
