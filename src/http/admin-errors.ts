// Renders every admin failure as { errors: [...] } with its status; unexpected failures are logged, not shown.
import type { ErrorRequestHandler } from 'express';
import { AdminError, BcryptOverloadedError, UserDefinedApisError } from '../errors';
import { errorSummary, passableCause } from '../logging';
import { isUnavailableError } from '../database/mongo-errors';
import type { Logger } from '../types';

/** body-parser error types, mapped to admin errors. */
function fromBodyParser(error: { type?: unknown; status?: unknown }): AdminError | null {
  switch (error.type) {
    case 'entity.parse.failed':
      return AdminError.of('InvalidRequest', 'The body is not valid JSON.');
    case 'entity.too.large':
      return AdminError.of('PayloadTooLarge', 'The body is too large.');
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return AdminError.of('UnsupportedMediaType', 'The body must be JSON in UTF-8.');
    case 'request.aborted':
    case 'request.size.invalid':
    case 'stream.encoding.set':
      return AdminError.of('InvalidRequest', 'The body could not be read.');
    default:
      return null;
  }
}

/** The router's error for a path parameter that is not valid percent-encoding (such as `/tokens/%zz`). */
function isBadPathEncoding(error: unknown): boolean {
  return error instanceof URIError && (error as URIError & { status?: unknown }).status === 400;
}

/** What the host's error handler gets instead of the answer (passErrorsToHost): the answer, and the cause of a 500. */
function errorForHost(adminError: AdminError, retryAfter: boolean, error: unknown): UserDefinedApisError {
  return new UserDefinedApisError({
    source: 'admin',
    status: adminError.status,
    code: adminError.code,
    message: adminError.message,
    headers: retryAfter ? { 'Retry-After': '1' } : {},
    body: { errors: adminError.items },
    cause: adminError === error ? undefined : passableCause(error),
  });
}

export function adminErrorHandler(log: Logger, pass: 'none' | 'unexpected' | 'all'): ErrorRequestHandler {
  return (error: unknown, _req, res, next) => {
    if (res.headersSent) {
      next(error);
      return;
    }
    const parserError = typeof error === 'object' && error !== null ? fromBodyParser(error) : null;
    let adminError: AdminError;
    if (error instanceof AdminError) {
      adminError = error;
    } else if (parserError) {
      adminError = parserError;
    } else if (isBadPathEncoding(error)) {
      adminError = AdminError.of('InvalidRequest', 'The path is not valid percent-encoding.');
    } else if (isUnavailableError(error) || error instanceof BcryptOverloadedError) {
      log.warn({ err: errorSummary(error) }, 'Admin request refused: service unavailable');
      adminError = AdminError.of('ServiceUnavailable', 'The service is temporarily unavailable; retry later.');
      res.setHeader('Retry-After', '1');
    } else {
      log.error({ err: errorSummary(error) }, 'Admin request failed unexpectedly');
      adminError = AdminError.of('InternalError', 'An unexpected error occurred; the server log has the details.');
    }
    if (pass === 'all' || (pass === 'unexpected' && adminError.status === 500)) {
      next(errorForHost(adminError, res.getHeader('Retry-After') !== undefined, error));
      return;
    }
    res.status(adminError.status).json({ errors: adminError.items });
  };
}
