// Request ids: an id the request brings (req.id, a configured header) is used only when short and plain; else a new UUID.
import { randomUUID } from 'node:crypto';
import type { Request } from 'express';

/** The resolved `requestId` option. */
export interface RequestIdConfig {
  /** Use `req.id` set by the host's middleware. */
  readonly fromRequest: boolean;
  /** The lower-case name of the request header to take an id from, or null. */
  readonly header: string | null;
  /** The response header that carries the id used, or null. */
  readonly responseHeader: string | null;
}

/** Bounded, and nothing that could break a log line or a header: no spaces, quotes, commas or control characters. */
const PLAIN_ID = /^[A-Za-z0-9._:/+=@-]{1,128}$/;

function plainId(value: unknown): string | undefined {
  if (typeof value === 'string') return PLAIN_ID.test(value) ? value : undefined;
  // pino-http numbers requests by default.
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) return String(value);
  return undefined;
}

/** The id of one request: a plain one it brings when the option allows, else a new UUID (as without the option). */
export function requestIdOf(req: Request, config: RequestIdConfig | null): string {
  if (config === null) return randomUUID();
  if (config.fromRequest) {
    const id = plainId((req as Request & { id?: unknown }).id);
    if (id !== undefined) return id;
  }
  if (config.header !== null) {
    const id = plainId(req.headers[config.header]);
    if (id !== undefined) return id;
  }
  return randomUUID();
}
