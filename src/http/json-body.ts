// Parses an admin operation's JSON body within the limit the operation declares, once its caller is authenticated and authorised.
import express, { type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import { AdminError, type ErrorReason } from '../errors';
import { alreadyRead } from '../shared/read-body';

/** Which of the configured limits an operation's body is held to. */
export type BodyLimitName = 'admin' | 'import';

/** The byte limits behind the names, set by the admin router for the requests it serves. */
export type BodyLimits = Readonly<Record<BodyLimitName, number>>;

const LIMITS = Symbol('udapi.bodyLimits');
type WithLimits = Request & { [LIMITS]?: { limits: BodyLimits; parsers: Map<BodyLimitName, RequestHandler> } };

/** Router-level: makes the configured limits known to every operation's body parser. Reads nothing. */
export function bodyLimits(limits: BodyLimits): RequestHandler {
  const parsers = new Map<BodyLimitName, RequestHandler>();
  for (const name of Object.keys(limits) as BodyLimitName[]) {
    // No inflate: a compressed body is refused below, before any parser sees it.
    parsers.set(name, express.json({ limit: limits[name], strict: true, type: () => true, inflate: false }));
  }
  const state = { limits, parsers };
  return (req: Request, _res: Response, next: NextFunction) => {
    (req as WithLimits)[LIMITS] = state;
    next();
  };
}

/**
 * The reasons of an operation's body parser, whatever the method (a GET may carry a body too): too large, not JSON in
 * UTF-8 or compressed, and not parseable (the router's error renderer maps the parser's errors to these).
 */
export const JSON_BODY_REASONS: readonly ErrorReason[] = ['PayloadTooLarge', 'UnsupportedMediaType', 'InvalidRequest'];

/**
 * Operation-level, after authentication and the permission check: a caller who may not use the operation never
 * makes the server read its body (an import body may be 64 MiB). A body the host's own parser read is accepted
 * as far as its size can be known.
 */
export function jsonBody(limitName: BodyLimitName): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    const state = (req as WithLimits)[LIMITS];
    if (!state) {
      next(new Error('jsonBody() used outside the admin router'));
      return;
    }
    const hasBody = req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;
    if (!hasBody) {
      req.body ??= {};
      next();
      return;
    }
    if (!req.is('application/json')) {
      next(AdminError.of('UnsupportedMediaType', 'Send the body as Content-Type: application/json.'));
      return;
    }
    const encoding = req.headers['content-encoding'];
    if (encoding !== undefined && encoding.trim().toLowerCase() !== 'identity') {
      next(
        AdminError.of(
          'UnsupportedMediaType',
          'Send the body without Content-Encoding (compressed bodies are not accepted).',
        ),
      );
      return;
    }
    const limit = state.limits[limitName];
    if (Number(req.headers['content-length']) > limit) {
      // Refused from the declared length, unread: the parser would drain the whole body before answering.
      res.setHeader('Connection', 'close');
      next(AdminError.of('PayloadTooLarge', 'The body is too large.'));
      return;
    }
    if (alreadyRead(req)) {
      // The host's parser read it under the host's limit; ours still holds, as far as the size can be known now.
      const declared = Number(req.headers['content-length'] ?? NaN);
      const size = Number.isFinite(declared) ? declared : Buffer.byteLength(JSON.stringify(req.body) ?? '');
      if (size > limit) next(AdminError.of('PayloadTooLarge', 'The body is too large.'));
      else next();
      return;
    }
    state.parsers.get(limitName)!(req, res, next);
  };
}
