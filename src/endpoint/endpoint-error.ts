// Writes the endpoint's fixed error body { errors: [{ title, detail, errorCode, faultingNode }] }.
import type { Response } from 'express';
import { ENDPOINT_ERROR_TITLE, ErrorCodes, type ErrorCodeName } from '../errors';

export interface EndpointErrorExtra {
  missingScriptParameters?: string[];
  /** Seconds, for 429 and 503 answers. */
  retryAfterSeconds?: number;
}

/** Raised inside the endpoint pipeline; the router turns it into the response. */
export class EndpointError extends Error {
  constructor(
    readonly errorName: ErrorCodeName,
    readonly extra: EndpointErrorExtra = {},
  ) {
    super(ErrorCodes[errorName].detail);
    this.name = 'EndpointError';
  }

  get status(): number {
    return ErrorCodes[this.errorName].status;
  }
}

const SHARED = new Map<ErrorCodeName, EndpointError>();

/**
 * The shared instance of an error without extras. Refusals are the common case under attack (a flood of
 * unknown secrets), and building an Error captures a stack trace each time; these never need one.
 */
export function endpointError(name: ErrorCodeName): EndpointError {
  let error = SHARED.get(name);
  if (!error) {
    error = new EndpointError(name);
    SHARED.set(name, error);
  }
  return error;
}

const BODIES = new Map<string, string>();

function bodyOf(error: EndpointError, faultingNode: string): string {
  const { code, detail } = ErrorCodes[error.errorName];
  const item: Record<string, unknown> = { title: ENDPOINT_ERROR_TITLE, detail, errorCode: code, faultingNode };
  if (error.extra.missingScriptParameters) {
    item.missingScriptParameters = error.extra.missingScriptParameters;
    return JSON.stringify({ errors: [item] });
  }
  // Without per-request extras the body only depends on the code and the node: serialise it once.
  const key = `${code}\u0000${faultingNode}`;
  let body = BODIES.get(key);
  if (body === undefined) {
    body = JSON.stringify({ errors: [item] });
    if (BODIES.size < 1000) BODIES.set(key, body);
  }
  return body;
}

export function sendEndpointError(res: Response, error: EndpointError, faultingNode: string): void {
  const { status } = ErrorCodes[error.errorName];
  // RFC 6750: every 401 names the scheme; a presented secret that failed is an invalid_token.
  if (error.errorName === 'AuthenticationHeaderInvalid') res.setHeader('WWW-Authenticate', 'Bearer');
  else if (error.errorName === 'AuthenticationFailed') res.setHeader('WWW-Authenticate', 'Bearer error="invalid_token"');
  if (error.extra.retryAfterSeconds !== undefined) res.setHeader('Retry-After', String(Math.max(1, Math.ceil(error.extra.retryAfterSeconds))));
  const body = bodyOf(error, faultingNode);
  res.statusCode = status;
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  res.setHeader('Content-Length', Buffer.byteLength(body));
  res.setHeader('Cache-Control', 'no-store');
  res.end(body);
}
