// The one catalogue of admin error reasons and endpoint error codes, and the error class that carries them.

/** Admin REST API error reasons, with the HTTP status each is answered with. */
export const ErrorReasons = {
  InvalidName: { status: 400, description: 'The name is missing, empty or whitespace-only, or too long.' },
  InvalidSecret: {
    status: 400,
    description: 'The secret is shorter than 32 characters, longer than 512, has a character outside A-Z a-z 0-9 _ - . = + /, or is used by another token.',
  },
  InvalidRateLimit: { status: 400, description: 'The rate limit is not null nor { limit: 1-100, windowSeconds: 1-86400 }.' },
  InvalidRoute: { status: 400, description: 'The route breaks the route grammar (see route); the message says which rule.' },
  InvalidExpiresAt: { status: 400, description: 'expiresAt is not null nor an ISO-8601 date and time.' },
  InvalidPreviousSecretExpiresAt: {
    status: 400,
    description: 'A rotation\'s previousSecretExpiresAt is not an ISO-8601 date and time in the future, at most 90 days away.',
  },
  InvalidActionMeta: {
    status: 400,
    description: 'actionType/actionMeta is missing or malformed, names no registered action of that type, or gives inputType to a procedure.',
  },
  InvalidAllowedTokens: { status: 400, description: 'securitySettings.allowedTokens names tokens that do not exist (see unknownTokenIds), or is malformed.' },
  InvalidId: { status: 400, description: 'A supplied id is not a UUID.' },
  InvalidRequest: {
    status: 400,
    description: 'The body or query is malformed: not JSON, a field of the wrong type, an unknown or read-only field, a bad filter or cursor.',
  },
  InvalidBackup: {
    status: 400,
    description: 'POST /import got something other than a backup of this package (format, version), one made under another pepper, or a malformed object (see field).',
  },
  IdInUse: { status: 409, description: 'A create supplied an id that another object already has.' },
  RouteInUse: { status: 409, description: 'Another definition has a conflicting route (see conflictingDefinitionId and route).' },
  TokenInUse: { status: 409, description: 'The token cannot be deleted while API definitions allow it (see apiDefinitionIdLinks).' },
  NotFound: { status: 404, description: 'No object has this id.' },
  Unauthenticated: { status: 401, description: 'authenticateAdmin returned no admin user for this request.' },
  MissingPermission: { status: 403, description: 'The admin user lacks the permission named in the permission field.' },
  CrossSiteRequest: {
    status: 403,
    description: 'A browser sent a change (POST, PATCH, DELETE) from another site; changes must come from the admin API\'s own origin.',
  },
  PayloadTooLarge: { status: 413, description: 'The request body is larger than the admin body limit.' },
  UnsupportedMediaType: { status: 415, description: 'A request with a body must send Content-Type: application/json.' },
  ServiceUnavailable: { status: 503, description: 'The database cannot be reached; retry later.' },
  InternalError: { status: 500, description: 'An unexpected server-side failure; details are in the manager log.' },
} as const satisfies Record<string, { status: number; description: string }>;

/** One of the admin error reasons in {@link ErrorReasons}. */
export type ErrorReason = keyof typeof ErrorReasons;

/** Extra fields an admin error may carry besides reason, id and message. */
export interface AdminErrorExtra {
  route?: string;
  conflictingDefinitionId?: string;
  apiDefinitionIdLinks?: string[];
  unknownTokenIds?: string[];
  permission?: string;
  field?: string;
}

/** One entry of the admin error body `{ errors: [...] }`. */
export interface AdminErrorItem extends AdminErrorExtra {
  reason: ErrorReason;
  id?: string;
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

/** Endpoint error codes (SPEC section 6.1). Codes below 1000 and 1001-1014 keep the original's numbering. */
export const ErrorCodes = {
  EmptyRoute: { code: 1, status: 400, detail: 'The request route is empty.' },
  InvalidRequestMethod: { code: 3, status: 405, detail: 'The request method is not supported.' },
  DefinitionNotFound: { code: 5, status: 404, detail: 'No API is defined for this route.' },
  NotReady: { code: 7, status: 503, detail: 'The service is not ready; retry later.' },
  UnexpectedException: { code: 8, status: 500, detail: 'Something went wrong, contact the system administrator.' },
  BodyToParametersConversionFailed: { code: 10, status: 400, detail: 'Invalid json body received.' },
  ActionError: { code: 12, status: 500, detail: 'The action failed.' },
  InvalidActionResult: { code: 13, status: 500, detail: 'The action returned no valid result.' },
  ActionNotFound: { code: 15, status: 500, detail: 'The action of this API is not available.' },
  MissingScriptParameters: { code: 16, status: 400, detail: 'The request body is missing script parameters.' },
  ResponseBodyTooLarge: { code: 17, status: 500, detail: 'The response body is too large.' },
  UnknownStatusCode: { code: 1002, status: 500, detail: 'The action returned an invalid status code.' },
  InvalidContentType: { code: 1003, status: 415, detail: 'The Content-Type is not supported.' },
  AuthenticationHeaderInvalid: { code: 1008, status: 401, detail: 'The Authorization header is missing or not a Bearer token.' },
  BodyTooLarge: { code: 1009, status: 413, detail: 'The request body is too large.' },
  AuthenticationFailed: { code: 1010, status: 401, detail: 'Authentication failed.' },
  QueryStringTooLarge: { code: 1011, status: 414, detail: 'The query string is too large.' },
  ResponseHeadersNotAllowed: { code: 1012, status: 500, detail: 'The action set a response header that is not allowed.' },
  ResponseHeadersInvalid: { code: 1013, status: 500, detail: 'The action set an invalid response header.' },
  RateLimitExceeded: { code: 1014, status: 429, detail: 'The rate limit of this token is exceeded.' },
  ActionTimeout: { code: 2001, status: 504, detail: 'The action did not finish in time.' },
  Overloaded: { code: 2002, status: 503, detail: 'Too many requests are waiting; retry later.' },
  TooManyFailedAuthentications: { code: 2003, status: 429, detail: 'Too many failed authentications from this address; retry later.' },
} as const satisfies Record<string, { code: number; status: number; detail: string }>;

/** One of the endpoint error names in {@link ErrorCodes}. */
export type ErrorCodeName = keyof typeof ErrorCodes;

/** The fixed title of every endpoint error body. */
export const ENDPOINT_ERROR_TITLE =
  'Error occurred while handling the request, contact your admin with the provided errorCode and faultingNode ID.';
