// The one catalogue of admin error reasons and endpoint error codes, and the error class that carries them.

/** Admin REST API error reasons, with the HTTP status each is answered with. */
export const ErrorReasons = {
  InvalidName: {
    status: 400,
    description: 'The name is missing, empty or whitespace-only, too long (over 200 characters), not a string, or holds a control character (C0, C1), a line or paragraph separator, or a bidi embedding, override or isolate.',
  },
  InvalidSecret: {
    status: 400,
    description: 'The secret is under 32 or over 512 characters, has a character outside A-Z a-z 0-9 _ - . = + /, is not a string, or another token uses it (also as a previous secret in its grace period).',
  },
  InvalidRateLimit: { status: 400, description: 'The rate limit is not null nor { limit: 1-100, windowSeconds: 1-86400 } in whole numbers.' },
  InvalidRoute: { status: 400, description: 'The route breaks the route grammar; `route` names it and the message says which rule.' },
  InvalidExpiresAt: {
    status: 400,
    description: 'expiresAt is not null nor an ISO-8601 date and time, or has the shape of one but names none (such as month 13).',
  },
  InvalidPreviousSecretExpiresAt: {
    status: 400,
    description: 'A rotation\'s previousSecretExpiresAt names no date, is not in the future, or is more than 90 days ahead.',
  },
  InvalidActionMeta: {
    status: 400,
    description: 'actionType/actionMeta is missing or malformed, names no registered action of that type, or gives inputType to a procedure.',
  },
  InvalidAllowedTokens: {
    status: 400,
    description: 'securitySettings.allowedTokens is malformed, has over 1000 ids, or names tokens that do not exist (`unknownTokenIds`).',
  },
  InvalidId: { status: 400, description: 'A supplied id is not a UUID.' },
  InvalidRequest: {
    status: 400,
    description: 'Not JSON, not an object, an unknown or read-only field, a wrong type, a bad or repeated query parameter, a forged cursor, a description with a control character other than line feed and tab, or a path that is not valid percent-encoding.',
  },
  InvalidBackup: {
    status: 400,
    description: 'POST /import got no backup of this package and version, one made under another pepper, or an object that is malformed or breaks a rule (a bcrypt hash not of cost 4-15, a grace period over 90 days, a time in the future); `field` says where, such as tokens[3].secretHash.',
  },
  IdInUse: { status: 409, description: 'A create or import supplied an id that another object already has.' },
  RouteInUse: { status: 409, description: 'The route conflicts with another definition\'s (`conflictingDefinitionId`, `route`).' },
  TokenInUse: {
    status: 409,
    description: 'A delete of a token that API definitions allow (`apiDefinitionIdLinks`); disable it instead to cut access at once.',
  },
  NotFound: { status: 404, description: 'No object has this id, or no admin route matches the method and path.' },
  Unauthenticated: { status: 401, description: 'authenticateAdmin returned no admin user for this request.' },
  MissingPermission: { status: 403, description: 'The admin user lacks the permission named in `permission`.' },
  CrossSiteRequest: {
    status: 403,
    description: 'A browser sent a change (POST, PATCH, DELETE) from another site; changes must come from the admin API\'s own origin.',
  },
  PayloadTooLarge: { status: 413, description: 'The body is larger than adminBodyLimitBytes (importBodyLimitBytes for POST /import).' },
  UnsupportedMediaType: { status: 415, description: 'A body that is not application/json, or a change sent with a form content type.' },
  ServiceUnavailable: {
    status: 503,
    description: 'The database cannot be reached, too much bcrypt work is queued, or a token being deleted did not settle in 10 s; retry after Retry-After.',
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

  /** Shorthand for a single-item error. */
  static of(reason: ErrorReason, message: string, extra: AdminErrorExtra & { id?: string } = {}): AdminError {
    return new AdminError({ reason, message, ...extra });
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
  DefinitionNotFound: { code: 5, status: 404, detail: 'No API is defined for this route.', when: 'No definition matches the route.' },
  NotReady: {
    code: 7,
    status: 503,
    detail: 'The service is not ready; retry later.',
    when: 'The database is unreachable, the in-memory view is not loaded yet, or the shared rate-limit store failed (Retry-After).',
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
  InvalidActionResult: { code: 13, status: 500, detail: 'The action returned no valid result.', when: 'No output, or an output of the wrong shape.' },
  ActionNotFound: {
    code: 15,
    status: 500,
    detail: 'The action of this API is not available.',
    when: 'The definition\'s action is not registered (any more) on this instance.',
  },
  MissingScriptParameters: {
    code: 16,
    status: 400,
    detail: 'The request body is missing script parameters.',
    when: 'A procedure\'s declared parameters are missing from the body (`missingScriptParameters`).',
  },
  ResponseBodyTooLarge: {
    code: 17,
    status: 500,
    detail: 'The response body is too large.',
    when: 'The action\'s body is over maxResponseBodyBytes.',
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
  BodyTooLarge: { code: 1009, status: 413, detail: 'The request body is too large.', when: 'The body is over maxBodyBytes.' },
  AuthenticationFailed: {
    code: 1010,
    status: 401,
    detail: 'Authentication failed.',
    when: 'The secret is empty or unknown, or its token is disabled, expired, or not allowed by the API: one answer for all.',
  },
  QueryStringTooLarge: { code: 1011, status: 414, detail: 'The query string is too large.', when: 'The query string is over 2 KB.' },
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
    when: 'The token\'s rate limit is reached (Retry-After).',
  },
  ActionTimeout: { code: 2001, status: 504, detail: 'The action did not finish in time.', when: 'The action did not finish within actionTimeoutMs.' },
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
