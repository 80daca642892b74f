// The route grammar of API definitions (docs/admin-api.md) and the normalised key that defines route conflicts.

export const MAX_URL_PATH_LENGTH = 260;

export type RouteSegment = { kind: 'literal'; value: string; lower: string } | { kind: 'param'; name: string };

export interface ParsedRoute {
  segments: RouteSegment[];
  /**
   * Two routes conflict exactly when their keys are equal: same segment count, and at each position both are
   * parameters (`{}`) or both are literals equal ignoring case. A unique index on this key makes it atomic.
   */
  key: string;
}

const FORBIDDEN_IN_SEGMENT = /[:<>*?]/;
const FORBIDDEN_IN_PARAMETER_NAME = /[/{}?*:=]/;
// Control characters can never be sent in a request line (and FerretDB cannot store NUL).
// eslint-disable-next-line no-control-regex
const CONTROL_CHARACTER = /[\u0000-\u001f\u007f]/;

/** Literals compare ignoring case; one function so that saving and matching can never disagree. */
export function foldCase(text: string): string {
  return text.toLowerCase();
}

/** Parses a route, or returns why it breaks the grammar. `basePath` counts towards the length limit. */
export function parseRoute(route: unknown, basePath: string): ParsedRoute | { problem: string } {
  if (typeof route !== 'string' || route.trim() === '')
    return { problem: 'The route must not be empty or whitespace-only.' };
  if (route.startsWith('/') || route.endsWith('/')) return { problem: 'The route must not start or end with /.' };
  const fullLength = `${basePath.replace(/\/+$/, '')}/${route}`.length;
  if (fullLength > MAX_URL_PATH_LENGTH) {
    return {
      problem: `The whole URL path (${basePath} plus the route) must be at most ${MAX_URL_PATH_LENGTH} characters; it would be ${fullLength}.`,
    };
  }
  if (CONTROL_CHARACTER.test(route)) return { problem: 'The route must not contain control characters.' };

  const segments: RouteSegment[] = [];
  const names = new Set<string>();
  for (const segment of route.split('/')) {
    if (segment === '') return { problem: 'The route must not contain an empty segment (//).' };
    if (segment === '.' || segment === '..')
      return { problem: `A segment may not be '${segment}': clients resolve it away, so it could never be called.` };
    if (segment.startsWith('{') && segment.endsWith('}') && segment.length >= 2) {
      const name = segment.slice(1, -1);
      if (name === '' || name.trim() === '') return { problem: `The parameter '${segment}' needs a name.` };
      if (FORBIDDEN_IN_PARAMETER_NAME.test(name))
        return { problem: `The parameter name '${name}' must not contain / { } ? * : =.` };
      if (names.has(name)) return { problem: `The parameter '{${name}}' appears more than once.` };
      names.add(name);
      segments.push({ kind: 'param', name });
      continue;
    }
    if (segment.includes('{') || segment.includes('}')) {
      return { problem: `The segment '${segment}' is invalid: a parameter must fill the whole segment, as in {id}.` };
    }
    if (FORBIDDEN_IN_SEGMENT.test(segment))
      return { problem: `The segment '${segment}' must not contain : < > * or ?.` };
    segments.push({ kind: 'literal', value: segment, lower: foldCase(segment) });
  }
  return { segments, key: segments.map((segment) => (segment.kind === 'param' ? '{}' : segment.lower)).join('/') };
}
