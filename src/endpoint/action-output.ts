// Validates what a handler returned and turns it into status, headers and body bytes (codes 13, 1002, 17, 1012, 1013).
import { endpointError } from './endpoint-error';

/** Headers an action may not set: CORS is never allowed, and the rest belong to the server or the transport. */
const FORBIDDEN_HEADERS = new Set([
  'vary',
  'content-length',
  'set-cookie',
  'www-authenticate',
  'proxy-authenticate',
  'transfer-encoding',
  'connection',
  'upgrade',
  'trailer',
  'te',
  'via',
  'server',
  'date',
  'strict-transport-security',
]);
const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
// Tab is the only control character a field value may hold (RFC 9110); CR and LF would split the header.
// eslint-disable-next-line no-control-regex
const BAD_HEADER_VALUE = /[\u0000-\u0008\u000a-\u001f\u007f]/;

export interface PreparedResponse {
  status: number;
  headers: [string, string | string[]][];
  /** Text stays text: Node then writes head and body in one go. */
  body: Buffer | string;
  bodyBytes: number;
}

export function isForbiddenHeader(name: string): boolean {
  const lower = name.toLowerCase();
  return lower.startsWith('access-control-') || FORBIDDEN_HEADERS.has(lower);
}

function bodyOf(output: Record<string, unknown>): { body: Buffer | string; defaultType: string | null } {
  const bytes = output.responseBodyBytes;
  if (bytes !== undefined && bytes !== null) {
    if (!(bytes instanceof Uint8Array)) throw endpointError('InvalidActionResult');
    return {
      body: Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength),
      defaultType: 'application/octet-stream',
    };
  }
  const value = output.responseBody;
  if (value === undefined || value === null) return { body: '', defaultType: null };
  if (typeof value === 'string') return { body: value, defaultType: 'application/json' };
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch {
    throw endpointError('InvalidActionResult'); // cycles, BigInt
  }
  if (text === undefined) throw endpointError('InvalidActionResult'); // a function or symbol
  return { body: text, defaultType: 'application/json' };
}

function headersOf(raw: unknown): [string, string | string[]][] {
  if (raw === undefined || raw === null) return [];
  if (typeof raw !== 'object' || Array.isArray(raw)) throw endpointError('ResponseHeadersInvalid');
  const headers: [string, string | string[]][] = [];
  for (const [name, value] of Object.entries(raw as Record<string, unknown>)) {
    if (!HEADER_NAME.test(name)) throw endpointError('ResponseHeadersInvalid');
    if (isForbiddenHeader(name)) throw endpointError('ResponseHeadersNotAllowed');
    const values = Array.isArray(value) ? value : [value];
    if (
      values.length === 0 ||
      !values.every((item): item is string => typeof item === 'string' && !BAD_HEADER_VALUE.test(item))
    ) {
      throw endpointError('ResponseHeadersInvalid');
    }
    headers.push([name, Array.isArray(value) ? values : (value as string)]);
  }
  return headers;
}

/**
 * Checks an action's output in the order of docs/endpoint.md (the last step of its order of checks). Informational
 * statuses (1xx) are refused with 1002 too: they cannot be a final response in HTTP/1.1.
 */
export function prepareOutput(output: unknown, maxBodyBytes: number): PreparedResponse {
  if (typeof output !== 'object' || output === null || Array.isArray(output))
    throw endpointError('InvalidActionResult');
  const record = output as Record<string, unknown>;
  const status = record.responseCode;
  if (typeof status !== 'number' || !Number.isInteger(status) || status < 200 || status > 599)
    throw endpointError('UnknownStatusCode');
  const { body, defaultType } = bodyOf(record);
  const bodyBytes = typeof body === 'string' ? Buffer.byteLength(body, 'utf8') : body.length;
  if (bodyBytes > maxBodyBytes) throw endpointError('ResponseBodyTooLarge');
  const headers = headersOf(record.headers);
  if (defaultType && !headers.some(([name]) => name.toLowerCase() === 'content-type'))
    headers.unshift(['Content-Type', defaultType]);
  return { status, headers, body, bodyBytes };
}
