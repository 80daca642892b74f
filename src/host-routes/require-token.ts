// requireToken(): Express middleware for the host's own routes, authenticating a bearer secret exactly as the endpoint does.
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { Authorization } from '../endpoint/authorization';
import { bearerSecret } from '../endpoint/authorization-header';
import { newCallTrace, type CallTrace } from '../endpoint/call-trace';
import { errorForHost, sendEndpointError } from '../endpoint/endpoint-error';
import { writeRateLimitHeaders } from '../endpoint/rate-limit-headers';
import type { Config } from '../domain/config';
import { requestIdOf } from '../domain/request-id';
import { EndpointError, OptionsError } from '../errors';
import { checkKeys } from '../shared/option-keys';
import { errorSummary } from '../logging';
import { isThenable } from '../shared/maybe-promise';
import type { Logger, RequireTokenOptions, TokenRefusalHandler, VerifiedToken } from '../types';
import { hostRouteRule } from './host-route-rule';
import { setRequestToken } from './request-token-slot';
import { verifiedToken } from './verified-token';

export interface RequireTokenDeps {
  config: Config;
  /** The host routes' authorization: the endpoint's checks and failed-authentication throttle, without a definition. */
  authorization: Authorization;
  log: Logger;
}

const OPTION_NAMES = ['scopes', 'allow', 'queryParameter', 'onRefusal'] as const;
const QUERY_PARAMETER = /^[A-Za-z0-9_.-]{1,64}$/;

interface ParsedOptions {
  rule: ReturnType<typeof hostRouteRule>;
  allow: RequireTokenOptions['allow'] | null;
  queryParameter: string | null;
  onRefusal: 'respond' | 'next' | TokenRefusalHandler;
}

function parseRequireTokenOptions(options: unknown, config: Config): ParsedOptions {
  if (options === undefined) options = {};
  if (typeof options !== 'object' || options === null)
    throw new OptionsError('requireToken() takes an options object, e.g. requireToken({ scopes: ["reports:read"] }).');
  checkKeys(options, OPTION_NAMES, 'requireToken.');
  const { scopes, allow, queryParameter, onRefusal } = options as Record<string, unknown>;
  if (allow !== undefined && typeof allow !== 'function')
    throw new OptionsError('`requireToken.allow` must be a function (token, req) => boolean | Promise<boolean>.');
  if (queryParameter !== undefined && (typeof queryParameter !== 'string' || !QUERY_PARAMETER.test(queryParameter)))
    throw new OptionsError(
      '`requireToken.queryParameter` must be a query parameter name of 1-64 letters, digits and _ . - (e.g. "access_token").',
    );
  if (onRefusal !== undefined && onRefusal !== 'respond' && onRefusal !== 'next' && typeof onRefusal !== 'function')
    throw new OptionsError(
      "`requireToken.onRefusal` must be 'respond', 'next' or a function (refusal, req, res, next) => void.",
    );
  return {
    rule: hostRouteRule(scopes, 'requireToken.scopes'),
    allow: (allow as RequireTokenOptions['allow']) ?? null,
    queryParameter: queryParameter ?? null,
    onRefusal:
      (onRefusal as ParsedOptions['onRefusal'] | undefined) ?? (config.passErrorsToHost === 'all' ? 'next' : 'respond'),
  };
}

/** The secret of the request: the Bearer header, else (only when enabled) the query parameter; null for none. */
function secretOf(req: Request, queryParameter: string | null): string | null {
  const header = req.headers.authorization;
  if (header !== undefined || queryParameter === null) return bearerSecret(header);
  const value = (req.query as Record<string, unknown> | undefined)?.[queryParameter];
  return typeof value === 'string' ? value : null;
}

export function createRequireToken(deps: RequireTokenDeps, options?: RequireTokenOptions): RequestHandler {
  const { config, authorization, log } = deps;
  const { rule, allow, queryParameter, onRefusal } = parseRequireTokenOptions(options, config);
  const responseHeader = config.requestId?.responseHeader ?? null;

  const refuse = (req: Request, res: Response, next: NextFunction, trace: CallTrace, error: unknown): void => {
    if (!(error instanceof EndpointError)) {
      log.error({ requestId: trace.requestId, err: errorSummary(error) }, 'Unexpected failure checking a token');
      next(error);
      return;
    }
    writeRateLimitHeaders(res, trace);
    const level = config.callLogLevels.end;
    if (level !== null)
      log[level](
        {
          requestId: trace.requestId,
          path: req.baseUrl + req.path,
          status: error.status,
          tokenId: trace.tokenId ?? null,
        },
        `Refused a call to the host route '${req.baseUrl + req.path}': ${error.status} (Token ID: ${trace.tokenId ?? 'none'})`,
      );
    if (onRefusal === 'respond') sendEndpointError(res, error, config.instanceId);
    else {
      const refusal = errorForHost(error, config.instanceId, false, error);
      if (onRefusal === 'next') next(refusal);
      else onRefusal(refusal, req, res, next);
    }
  };

  // req.udapi only on a request that passes: a refusal handed to the host's error handler carries no token.
  const pass = (req: Request, next: NextFunction, trace: CallTrace, token: VerifiedToken): void => {
    setRequestToken(req, { token, requestId: trace.requestId });
    next();
  };

  const forbid = (req: Request, res: Response, next: NextFunction, trace: CallTrace): void => {
    authorization.refusedByHost(trace);
    refuse(req, res, next, trace, rule.refusal);
  };

  const admit = (req: Request, res: Response, next: NextFunction, trace: CallTrace, token: VerifiedToken): void => {
    writeRateLimitHeaders(res, trace);
    if (!allow) return pass(req, next, trace, token);
    let allowed: boolean | Promise<boolean>;
    try {
      allowed = allow(token, req);
    } catch (error) {
      return next(error);
    }
    if (!isThenable(allowed)) return allowed === true ? pass(req, next, trace, token) : forbid(req, res, next, trace);
    allowed
      .then(
        (settled) => (settled === true ? pass(req, next, trace, token) : forbid(req, res, next, trace)),
        (error: unknown) => next(error),
      )
      .catch(next);
  };

  return (req, res, next) => {
    const trace = newCallTrace(requestIdOf(req, config.requestId));
    if (responseHeader !== null) res.setHeader(responseHeader, trace.requestId);
    let access: ReturnType<Authorization['authorizeToken']>;
    try {
      access = authorization.authorizeToken(req, secretOf(req, queryParameter), trace, rule);
    } catch (error) {
      return refuse(req, res, next, trace, error);
    }
    if (!isThenable(access))
      return access instanceof EndpointError
        ? refuse(req, res, next, trace, access)
        : admit(req, res, next, trace, verifiedToken(access.token));
    // A throw from the host's own code (its onRefusal, or a later handler's synchronous throw) reaches next().
    access
      .then(
        (settled) =>
          settled instanceof EndpointError
            ? refuse(req, res, next, trace, settled)
            : admit(req, res, next, trace, verifiedToken(settled.token)),
        (error: unknown) => refuse(req, res, next, trace, error),
      )
      .catch(next);
  };
}
