// Steps 1-3 of a call: the request itself (method, query size, media type, declared size, route), before anything is looked up.
import type { Request } from 'express';
import { ENDPOINT_METHODS } from '../domain/endpoint-methods';
import { endpointError } from './endpoint-error';
import { announcesBody } from '../shared/read-body';
import type { RequestPath } from '../domain/request-path';

const CONTENT_TYPES = new Set(['application/json', 'application/xml', 'text/xml', 'text/plain']);
const MAX_QUERY_STRING_BYTES = 2048;

/** The media type of a Content-Type header, without parameters, lower case. */
function mediaType(header: string): string {
  const semicolon = header.indexOf(';');
  return (semicolon >= 0 ? header.slice(0, semicolon) : header).trim().toLowerCase();
}

/** Throws the shared EndpointError of the first check the request fails. */
export function checkRequest(req: Request, path: RequestPath, maxBodyBytes: number): void {
  if (!ENDPOINT_METHODS.has(req.method)) throw endpointError('InvalidRequestMethod');
  if (Buffer.byteLength(path.rawQuery) > MAX_QUERY_STRING_BYTES) throw endpointError('QueryStringTooLarge');
  const contentType = req.headers['content-type'];
  if (contentType === undefined) {
    if (announcesBody(req)) throw endpointError('InvalidContentType');
  } else if (!CONTENT_TYPES.has(mediaType(contentType))) {
    throw endpointError('InvalidContentType');
  }
  // A compressed body would reach the action as bytes it cannot read (and a decompression bomb if it could).
  const encoding = req.headers['content-encoding'];
  if (encoding !== undefined && encoding.trim().toLowerCase() !== 'identity') throw endpointError('InvalidContentType');
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > maxBodyBytes) throw endpointError('BodyTooLarge');
  if (path.segments.length === 0) throw endpointError('EmptyRoute');
}
