// Turns a request body into the flat string map that `parameters` handlers and procedures receive.

/** The body as a flat map of strings, or null when it is not a flat JSON object (error code 10). */
export function parametersOf(rawBody: string): Record<string, string> | null {
  const parameters: Record<string, string> = {};
  if (rawBody.trim() === '') return parameters;
  let parsed: unknown;
  try {
    parsed = JSON.parse(rawBody);
  } catch {
    return null;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return null;
  for (const [key, value] of Object.entries(parsed)) {
    let text: string;
    if (typeof value === 'string') text = value;
    else if (typeof value === 'number' || typeof value === 'boolean') text = JSON.stringify(value);
    else return null;
    // defineProperty keeps a `__proto__` key an ordinary own property instead of changing the prototype.
    Object.defineProperty(parameters, key, { value: text, enumerable: true, writable: true, configurable: true });
  }
  return parameters;
}
