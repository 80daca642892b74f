// Splits the request URL into the normalised route, its decoded segments, and the raw query string.

export interface RequestPath {
  /** The path after the base, repeated slashes collapsed, one trailing slash dropped, as received (not decoded). */
  route: string;
  /** The route's segments, each percent-decoded once (kept as received when the encoding is malformed). */
  segments: string[];
  rawQuery: string;
}

function decodeOnce(segment: string): string {
  if (!segment.includes('%')) return segment;
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

/** `url` is req.url inside the router, i.e. relative to the mount path. */
export function parseRequestPath(url: string): RequestPath {
  const questionMark = url.indexOf('?');
  const rawPath = questionMark >= 0 ? url.slice(0, questionMark) : url;
  const rawQuery = questionMark >= 0 ? url.slice(questionMark + 1) : '';
  let route = rawPath.replace(/\/{2,}/g, '/');
  if (route.startsWith('/')) route = route.slice(1);
  if (route.endsWith('/')) route = route.slice(0, -1);
  const segments = route === '' ? [] : route.split('/');
  for (let i = 0; i < segments.length; i += 1) segments[i] = decodeOnce(segments[i]!);
  return { route, segments, rawQuery };
}
