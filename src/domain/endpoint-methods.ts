// The request methods the endpoint hands to an action: the endpoint, the explain call and the APIs' OpenAPI document share them.

/** The methods that reach an action; any other answers 405, code 3. */
export const ENDPOINT_METHODS: ReadonlySet<string> = new Set<string>(['GET', 'PUT', 'POST', 'DELETE', 'PATCH']);
