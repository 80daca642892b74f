// Refuses state-changing admin requests that a browser sent on behalf of another site (cross-site request forgery).
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { AdminError, type ErrorReason } from '../errors';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** The reasons the guard answers; only to requests that may change something (see {@link isGuarded}). */
export const CROSS_SITE_REASONS: readonly ErrorReason[] = ['CrossSiteRequest', 'UnsupportedMediaType'];

/** Whether the guard checks requests of this method. */
export function isGuarded(method: string): boolean {
  return !SAFE_METHODS.has(method.toUpperCase());
}
/** What a browser's form (the one cross-site write that needs no CORS preflight) may send as its body type. */
const FORM_TYPES = ['application/x-www-form-urlencoded', 'multipart/form-data', 'text/plain'];

/**
 * Browsers attach cookies and cached HTTP Basic credentials to cross-site requests, so with such host
 * authentication a forged form post would act as the admin. Browsers say where a request comes from
 * (`Sec-Fetch-Site`, or `Origin` in older ones): only same-origin requests, or requests the user typed,
 * may change anything. Clients that are not browsers send neither header and are not affected.
 */
export function crossSiteGuard(): RequestHandler {
  return (req: Request, _res: Response, next: NextFunction) => {
    if (!isGuarded(req.method)) {
      next();
      return;
    }
    const site = req.headers['sec-fetch-site'];
    if (site !== undefined ? site !== 'same-origin' && site !== 'none' : !sameOriginHeader(req)) {
      throw AdminError.of(
        'CrossSiteRequest',
        'Changes must come from the same origin as the admin API; this request came from another site.',
      );
    }
    const type = req.headers['content-type']?.split(';')[0]?.trim().toLowerCase();
    if (type !== undefined && FORM_TYPES.includes(type)) {
      throw AdminError.of('UnsupportedMediaType', 'Send the body as Content-Type: application/json.');
    }
    next();
  };
}

function sameOriginHeader(req: Request): boolean {
  const origin = req.headers.origin;
  if (origin === undefined) return true;
  try {
    return new URL(origin).host === requestHost(req);
  } catch {
    return false; // "null" (a sandboxed or privacy-sensitive context) or garbage
  }
}

type TrustProxy = (address: string | undefined, hop: number) => boolean;

/**
 * Host and port the client addressed, as Express 5's `req.host` computes them (X-Forwarded-Host only from a proxy
 * the app's `trust proxy` trusts). Not `req.host` itself: in an Express 4 app it is the host name without the port.
 * Lower case, as `URL` gives the origin's.
 */
function requestHost(req: Request): string | undefined {
  const trust = (req.app as { get?: (name: string) => unknown } | undefined)?.get?.('trust proxy fn') as
    TrustProxy | undefined;
  const forwarded = req.headers['x-forwarded-host'];
  const host =
    typeof forwarded === 'string' && forwarded !== '' && trust?.(req.socket.remoteAddress, 0) === true
      ? forwarded.split(',')[0]!.trim()
      : req.headers.host;
  return host?.toLowerCase();
}
