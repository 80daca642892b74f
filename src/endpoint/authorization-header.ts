// Reads the secret of an `Authorization: Bearer <secret>` header in one pass, with no pattern that can backtrack.

const SPACE = 0x20;
const SCHEME = 'bearer';
/** Sets the bit that makes an ASCII capital letter small (and leaves small letters as they are). */
const LOWER_CASE_BIT = 0x20;

/** Whether the header starts with `bearer` in any case, read in place (no lower-cased copy per request). */
function startsWithScheme(header: string): boolean {
  for (let i = 0; i < SCHEME.length; i += 1)
    if ((header.charCodeAt(i) | LOWER_CASE_BIT) !== SCHEME.charCodeAt(i)) return false;
  return true;
}

/**
 * The secret of a Bearer header: '' for `Bearer` alone (an empty secret fails authentication, code 1010, as in the
 * original), null when the header is missing or not `Bearer`, spaces, one secret, optional spaces (code 1008). The
 * scheme is case-insensitive. Linear in the header's length: a regex here once took ~220 ms for 16,000 spaces.
 */
export function bearerSecret(header: string | undefined): string | null {
  if (header === undefined || header.length < 6) return null;
  if (!startsWithScheme(header)) return null;
  const end = header.length;
  if (end === 6) return '';
  if (header.charCodeAt(6) !== SPACE) return null;
  let i = 6;
  while (i < end && header.charCodeAt(i) === SPACE) i += 1;
  const start = i;
  while (i < end && header.charCodeAt(i) !== SPACE) i += 1;
  const secret = header.slice(start, i);
  while (i < end && header.charCodeAt(i) === SPACE) i += 1;
  return i === end ? secret : null;
}
