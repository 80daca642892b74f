// The IETF RateLimit-Policy and RateLimit response headers (draft-ietf-httpapi-ratelimit-headers), for a token with a rate limit.
import type { ServerResponse } from 'node:http';
import type { CallTrace } from './call-trace';

/** The policy's name in both headers: the token's own rate limit. */
const POLICY = '"token"';

/**
 * Says the token's limit and what is left of it, on every answer after its rate limit was counted (200, 429 and
 * the refusals after it but the 401 of a token the API does not allow, which must look like any other), so that clients can pace themselves before a 429: `RateLimit-Policy: "token";q=100;w=60`
 * and `RateLimit: "token";r=42;t=17` (r: requests left now; t: seconds until the oldest counted request leaves the
 * sliding window, so r grows). A store that does not report `remaining` gets neither header.
 */
export function writeRateLimitHeaders(res: ServerResponse, trace: CallTrace): void {
  const { rateLimit, rateLimitAnswer } = trace;
  if (rateLimit === undefined || rateLimitAnswer?.remaining === undefined || res.headersSent) return;
  // A failed authentication after the count (a token the API does not allow) must look like an unknown secret's.
  if (trace.authFailure !== undefined) return;
  const resetSeconds = Math.max(0, Math.ceil((rateLimitAnswer.resetMs ?? 0) / 1000));
  res.setHeader('RateLimit-Policy', `${POLICY};q=${rateLimit.limit};w=${rateLimit.windowSeconds}`);
  res.setHeader('RateLimit', `${POLICY};r=${Math.max(0, rateLimitAnswer.remaining)};t=${resetSeconds}`);
}
