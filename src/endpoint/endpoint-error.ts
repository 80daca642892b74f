// Writes the endpoint's fixed error body { errors: [{ title, detail, errorCode, faultingNode }] }, from shared errors.
import type { Response } from 'express';
import { ENDPOINT_ERROR_TITLE, EndpointError, ErrorCodes, UserDefinedApisError, type ErrorCodeName } from '../errors';
import { passableCause } from '../logging';

/*
 * Refusals are the common case under attack (a flood of unknown secrets from one address gets 401, then 429), so a
 * refusal allocates nothing a flood can multiply: the errors are shared instances (building an Error captures a
 * stack trace each time, and these never need one), and each one's body and header values are rendered once.
 */

const SHARED = new Map<ErrorCodeName, EndpointError>();

/** The shared instance of an error without extras. */
export function endpointError(name: ErrorCodeName): EndpointError {
  let error = SHARED.get(name);
  if (!error) {
    error = new EndpointError(name);
    SHARED.set(name, error);
  }
  return error;
}

/**
 * Shared errors with a Retry-After, per whole second up to ten minutes: at most 600 per name, each about a kilobyte
 * with its stack and rendering, so a few megabytes at worst. A longer wait is rare and gets its own instance.
 */
const MAX_SHARED_RETRY_SECONDS = 600;
const SHARED_WITH_RETRY = new Map<ErrorCodeName, Map<number, EndpointError>>();

/** The shared instance of a 429 or 503 whose Retry-After says `retryAfterMs`, in whole seconds (at least 1). */
export function retryAfterError(name: ErrorCodeName, retryAfterMs: number): EndpointError {
  const seconds = Math.max(1, Math.ceil(retryAfterMs / 1000));
  if (seconds > MAX_SHARED_RETRY_SECONDS) return new EndpointError(name, { retryAfterSeconds: seconds });
  let bySeconds = SHARED_WITH_RETRY.get(name);
  if (!bySeconds) {
    bySeconds = new Map();
    SHARED_WITH_RETRY.set(name, bySeconds);
  }
  let error = bySeconds.get(seconds);
  if (!error) {
    error = new EndpointError(name, { retryAfterSeconds: seconds });
    bySeconds.set(seconds, error);
  }
  return error;
}

/** What an error answers with, for one faultingNode. */
interface Rendered {
  readonly faultingNode: string;
  readonly status: number;
  readonly body: string;
  readonly bodyBytes: number;
  readonly retryAfter: string | undefined;
  readonly authenticate: string | undefined;
}

const RENDERED = new WeakMap<EndpointError, Rendered>();

function render(error: EndpointError, faultingNode: string): Rendered {
  const { code, detail, status } = ErrorCodes[error.errorName];
  const item: Record<string, unknown> = { title: ENDPOINT_ERROR_TITLE, detail, errorCode: code, faultingNode };
  if (error.extra.missingScriptParameters) item.missingScriptParameters = error.extra.missingScriptParameters;
  if (error.extra.inputErrors) item.inputErrors = error.extra.inputErrors;
  const body = JSON.stringify({ errors: [item] });
  const { retryAfterSeconds } = error.extra;
  return {
    faultingNode,
    status,
    body,
    bodyBytes: Buffer.byteLength(body),
    retryAfter: retryAfterSeconds === undefined ? undefined : String(Math.max(1, Math.ceil(retryAfterSeconds))),
    authenticate: authenticateHeader(error),
  };
}

/** RFC 6750: every 401 names the scheme, a presented secret that failed is an invalid_token, a 403 an insufficient_scope. */
function authenticateHeader(error: EndpointError): string | undefined {
  if (error.errorName === 'AuthenticationHeaderInvalid') return 'Bearer';
  if (error.errorName === 'AuthenticationFailed') return 'Bearer error="invalid_token"';
  if (error.errorName !== 'InsufficientScope') return undefined;
  return error.extra.scope === undefined
    ? 'Bearer error="insufficient_scope"'
    : `Bearer error="insufficient_scope", scope="${error.extra.scope}"`;
}

/** Rendered once per error and node; an error with per-request extras (missing parameters, input problems) each time. */
function renderedOf(error: EndpointError, faultingNode: string): Rendered {
  const known = RENDERED.get(error);
  if (known && known.faultingNode === faultingNode) return known;
  const rendered = render(error, faultingNode);
  if (!error.extra.missingScriptParameters && !error.extra.inputErrors) RENDERED.set(error, rendered);
  return rendered;
}

export function sendEndpointError(res: Response, error: EndpointError, faultingNode: string): void {
  const rendered = renderedOf(error, faultingNode);
  if (rendered.authenticate !== undefined) res.setHeader('WWW-Authenticate', rendered.authenticate);
  if (rendered.retryAfter !== undefined) res.setHeader('Retry-After', rendered.retryAfter);
  res.statusCode = rendered.status;
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  res.setHeader('Content-Length', rendered.bodyBytes);
  res.setHeader('Cache-Control', 'no-store');
  res.end(rendered.body);
}

/**
 * A failure for the host's error handler (passErrorsToHost): a new error each time, since the shared ones must not
 * be touched by the host, with what the package would have sent. The cause: what an action threw, or the error
 * behind an unexpected failure.
 */
export function errorForHost(
  error: EndpointError,
  faultingNode: string,
  closeConnection: boolean,
  thrown: unknown,
): UserDefinedApisError {
  const rendered = renderedOf(error, faultingNode);
  const headers: Record<string, string> = {};
  if (rendered.authenticate !== undefined) headers['WWW-Authenticate'] = rendered.authenticate;
  if (rendered.retryAfter !== undefined) headers['Retry-After'] = rendered.retryAfter;
  if (closeConnection) headers.Connection = 'close';
  const cause = thrown instanceof EndpointError ? thrown.cause : thrown;
  return new UserDefinedApisError({
    source: 'endpoint',
    status: rendered.status,
    code: error.errorName,
    errorCode: error.code,
    message: error.message,
    headers,
    body: JSON.parse(rendered.body) as { errors: object[] },
    cause: cause === undefined ? undefined : passableCause(cause),
  });
}
