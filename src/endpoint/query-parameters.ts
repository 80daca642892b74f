// The multi-valued, case-sensitive query parameters handed to handlers.
import type { QueryParameters } from '../actions/types';

export function queryParametersOf(rawQuery: string): QueryParameters {
  const params = new URLSearchParams(rawQuery);
  return Object.freeze({
    get: (key: string) => params.get(key) ?? undefined,
    getAll: (key: string) => params.getAll(key),
    has: (key: string) => params.has(key),
    keys: () => [...new Set(params.keys())],
    toJSON: () => Object.fromEntries([...new Set(params.keys())].map((key) => [key, params.getAll(key)])),
  });
}
