// The admin UI's only way to the server: same-origin JSON calls to the admin REST API, and its errors in words.

/** The admin API is the parent of the UI's own path: /admin/udapi/ui/ calls /admin/udapi/tokens. */
const API_BASE = new URL('../', window.location.href);

export class ApiError extends Error {
  constructor(status, errors) {
    super(errors.map((item) => item.message).join(' '));
    this.status = status;
    this.errors = errors;
  }

  has(reason) {
    return this.errors.some((item) => item.reason === reason);
  }
}

/** A query string of the defined, non-empty values. */
export function query(params) {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(params))
    if (value !== undefined && value !== null && value !== '') search.set(name, String(value));
  const text = search.toString();
  return text ? `?${text}` : '';
}

/** Calls the admin API; resolves with the JSON body (null for 204), rejects with an ApiError. */
export async function api(method, path, body) {
  const init = { method, credentials: 'same-origin', cache: 'no-store', headers: { Accept: 'application/json' } };
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(new URL(path, API_BASE), init);
  } catch {
    throw new ApiError(0, [
      { reason: 'NetworkError', message: 'The server cannot be reached; check the connection and retry.' },
    ]);
  }
  if (response.status === 204) return null;
  const data = await response.json().catch(() => null);
  if (!response.ok) {
    const errors = Array.isArray(data?.errors)
      ? data.errors
      : [{ reason: `HTTP${response.status}`, message: `The server answered ${response.status}.` }];
    throw new ApiError(response.status, errors);
  }
  return data;
}

/** How an API definition is named to a person: its name and route, or its route. */
export function apiLabel(definition) {
  return definition.name ? `"${definition.name}" (${definition.route})` : `"${definition.route}"`;
}

/** The lines that explain an error to the user; RouteInUse and TokenInUse name the APIs involved. */
export async function describeError(error) {
  if (!(error instanceof ApiError)) return [error instanceof Error ? error.message : String(error)];
  return Promise.all(error.errors.map(describeItem));
}

async function describeItem(item) {
  switch (item.reason) {
    case 'RouteInUse': {
      const other = await api('GET', `definitions/${encodeURIComponent(item.conflictingDefinitionId)}`).catch(
        () => null,
      );
      const label = other ? `the API ${apiLabel(other)}` : `another API (${item.conflictingDefinitionId})`;
      return `The route is already used by ${label}. Routes conflict when their segments match, ignoring case and parameter names.`;
    }
    case 'TokenInUse': {
      const ids = item.apiDefinitionIdLinks ?? [];
      const page = await api('GET', `definitions${query({ ids: ids.slice(0, 100).join(','), limit: 100 })}`).catch(
        () => null,
      );
      const labels = page ? page.items.map(apiLabel) : ids;
      return `The token is still allowed by ${ids.length === 1 ? 'the API' : `${ids.length} APIs:`} ${labels.join(', ')}. Remove it from ${ids.length === 1 ? 'that API' : 'them'}, or disable the token instead.`;
    }
    case 'InvalidInputSchema':
      // The field says which schema and where in it (input.body/properties/name/pattern).
      return item.field ? `${item.field}: ${item.message}` : item.message;
    case 'InvalidAllowedTokens':
      return `Some allowed tokens no longer exist (${(item.unknownTokenIds ?? []).join(', ')}); remove them and save again.`;
    case 'MissingPermission':
      return `You do not have the ${item.permission} permission needed for this.`;
    case 'Unauthenticated':
      return 'Your session has ended; reload the page to sign in again.';
    default:
      return item.message;
  }
}
