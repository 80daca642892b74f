// Splits the request URL into the normalised route, its decoded segments, and the raw query string, in time linear in the URL.

export interface RequestPath {
  /** The path after the base, repeated slashes collapsed, one trailing slash dropped, as received (not decoded). */
  route: string;
  /** The route's segments, each percent-decoded once (kept as received when the encoding is malformed). */
  segments: string[];
  rawQuery: string;
}

const PERCENT = 0x25;

/** The value of one hex digit's character code, or -1. */
function hexValue(code: number): number {
  if (code >= 0x30 && code <= 0x39) return code - 0x30;
  const lower = code | 0x20;
  return lower >= 0x61 && lower <= 0x66 ? lower - 0x61 + 10 : -1;
}

/** The byte of the escape at `i` ('%' and two hex digits), or -1 when there is none there. */
function escapedByte(segment: string, i: number): number {
  if (i + 2 >= segment.length || segment.charCodeAt(i) !== PERCENT) return -1;
  const high = hexValue(segment.charCodeAt(i + 1));
  const low = high < 0 ? -1 : hexValue(segment.charCodeAt(i + 2));
  return low < 0 ? -1 : high * 16 + low;
}

/**
 * A segment percent-decoded once, exactly as decodeURIComponent decodes it, or kept as received when its encoding
 * is malformed (a bad escape, or escaped bytes that are not UTF-8: overlong, a surrogate, past U+10FFFF). One pass,
 * nothing allocated but the result, no exception: decodeURIComponent throws on malformed input, and a path of
 * 8,000 malformed segments once cost ~60 ms of thrown errors before any check ran.
 */
function decodeOnce(segment: string): string {
  let i = segment.indexOf('%');
  if (i < 0) return segment;
  let decoded = segment.slice(0, i);
  while (i < segment.length) {
    if (segment.charCodeAt(i) !== PERCENT) {
      const next = segment.indexOf('%', i);
      const end = next < 0 ? segment.length : next;
      decoded += segment.slice(i, end);
      i = end;
      continue;
    }
    const lead = escapedByte(segment, i);
    if (lead < 0) return segment;
    i += 3;
    if (lead < 0x80) {
      decoded += String.fromCharCode(lead);
      continue;
    }
    // A UTF-8 sequence: the lead byte says how many continuation bytes follow and the least code point it may hold.
    let following: number;
    let codePoint: number;
    let least: number;
    if ((lead & 0xe0) === 0xc0) [following, codePoint, least] = [1, lead & 0x1f, 0x80];
    else if ((lead & 0xf0) === 0xe0) [following, codePoint, least] = [2, lead & 0x0f, 0x800];
    else if ((lead & 0xf8) === 0xf0) [following, codePoint, least] = [3, lead & 0x07, 0x10000];
    else return segment;
    for (; following > 0; following -= 1, i += 3) {
      const byte = escapedByte(segment, i);
      if (byte < 0 || (byte & 0xc0) !== 0x80) return segment;
      codePoint = (codePoint << 6) | (byte & 0x3f);
    }
    if (codePoint < least || codePoint > 0x10ffff || (codePoint >= 0xd800 && codePoint <= 0xdfff)) return segment;
    decoded += String.fromCodePoint(codePoint);
  }
  return decoded;
}

/** `url` is req.url inside the router, i.e. relative to the mount path. */
export function parseRequestPath(url: string): RequestPath {
  const questionMark = url.indexOf('?');
  const rawPath = questionMark >= 0 ? url.slice(0, questionMark) : url;
  const rawQuery = questionMark >= 0 ? url.slice(questionMark + 1) : '';
  let route = rawPath.includes('//') ? rawPath.replace(/\/{2,}/g, '/') : rawPath;
  if (route.startsWith('/')) route = route.slice(1);
  if (route.endsWith('/')) route = route.slice(0, -1);
  const segments = route === '' ? [] : route.split('/');
  for (let i = 0; i < segments.length; i += 1) segments[i] = decodeOnce(segments[i]!);
  return { route, segments, rawQuery };
}
