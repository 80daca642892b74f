// The route grammar (docs/admin-api.md), as the UI checks it while typing; it mirrors src/domain/route-grammar.ts,
// and the browser test compares the two on many routes, so a rule changed on one side only fails CI.

const FORBIDDEN_IN_SEGMENT = /[:<>*?]/;
const FORBIDDEN_IN_PARAMETER_NAME = /[/{}?*:=]/;
// eslint-disable-next-line no-control-regex
const CONTROL_CHARACTER = /[\u0000-\u001f\u007f]/;

/** Why a route breaks the grammar, or null when it is valid. */
export function routeProblem(route, basePath, maxUrlPathLength) {
  if (typeof route !== 'string' || route.trim() === '') return 'The route must not be empty or whitespace-only.';
  if (route.startsWith('/') || route.endsWith('/')) return 'The route must not start or end with /.';
  const fullLength = `${basePath.replace(/\/+$/, '')}/${route}`.length;
  if (fullLength > maxUrlPathLength) {
    return `The whole URL path (${basePath} plus the route) must be at most ${maxUrlPathLength} characters; it would be ${fullLength}.`;
  }
  if (CONTROL_CHARACTER.test(route)) return 'The route must not contain control characters.';
  const names = new Set();
  for (const segment of route.split('/')) {
    if (segment === '') return 'The route must not contain an empty segment (//).';
    if (segment === '.' || segment === '..')
      return `A segment may not be '${segment}': clients resolve it away, so it could never be called.`;
    if (segment.startsWith('{') && segment.endsWith('}') && segment.length >= 2) {
      const name = segment.slice(1, -1);
      if (name === '' || name.trim() === '') return `The parameter '${segment}' needs a name.`;
      if (FORBIDDEN_IN_PARAMETER_NAME.test(name)) return `The parameter name '${name}' must not contain / { } ? * : =.`;
      if (names.has(name)) return `The parameter '{${name}}' appears more than once.`;
      names.add(name);
      continue;
    }
    if (segment.includes('{') || segment.includes('}')) {
      return `The segment '${segment}' is invalid: a parameter must fill the whole segment, as in {id}.`;
    }
    if (FORBIDDEN_IN_SEGMENT.test(segment)) return `The segment '${segment}' must not contain : < > * or ?.`;
  }
  return null;
}
