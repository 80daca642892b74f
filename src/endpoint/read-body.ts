// Reads a request body into memory while enforcing the size limit, so an oversized body is refused, not buffered.
import type { Request } from 'express';

export class BodyTooLargeError extends Error {
  constructor() {
    super('The request body is too large');
    this.name = 'BodyTooLargeError';
  }
}

export class BodyReadError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BodyReadError';
  }
}

/** Whether the request announces a body (a non-zero Content-Length or any Transfer-Encoding). */
export function announcesBody(req: Request): boolean {
  return req.headers['transfer-encoding'] !== undefined || (req.headers['content-length'] !== undefined && req.headers['content-length'] !== '0');
}

/**
 * Whether a parser of the host (its own `express.json()` and friends) has read the body already: Express 5's
 * parsers leave the stream ended, Express 4's also set `_body`. Not `req.body !== undefined`: Express 4's
 * parsers set `req.body = {}` on requests they do not parse, whose body is still unread.
 */
export function alreadyRead(req: Request): boolean {
  return req.readableEnded || (req as { _body?: boolean })._body === true;
}

/** Whether readBody has anything to read (or re-serialise); when not, the body is empty. */
export function hasBody(req: Request): boolean {
  return announcesBody(req) || alreadyRead(req);
}

/**
 * The body as a Buffer. A body that a host-level parser already consumed (express.json() and friends set
 * req.body) is re-serialised, since its stream is gone; mount the endpoint before such parsers to get it verbatim.
 */
export async function readBody(req: Request, limitBytes: number): Promise<Buffer> {
  if (alreadyRead(req)) {
    // Listening to an ended stream would wait forever; what the host's parser made of the body is all there is.
    const parsed: unknown = req.body;
    const body = Buffer.isBuffer(parsed) ? parsed
      : Buffer.from(typeof parsed === 'string' ? parsed : (JSON.stringify(parsed) ?? ''), 'utf8');
    // The host's parser had its own limit; a chunked body's size is known only now.
    if (body.length > limitBytes) throw new BodyTooLargeError();
    return body;
  }
  if (!announcesBody(req)) return Buffer.alloc(0);
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const cleanup = (): void => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('aborted', onAborted);
    };
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > limitBytes) {
        cleanup();
        // Stop reading; the 413 answer closes the connection instead of draining the rest.
        req.pause();
        reject(new BodyTooLargeError());
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = (): void => {
      cleanup();
      resolve(Buffer.concat(chunks, size));
    };
    const onError = (error: Error): void => {
      cleanup();
      reject(new BodyReadError(error.message));
    };
    const onAborted = (): void => {
      cleanup();
      reject(new BodyReadError('The client aborted the request'));
    };
    req.on('data', onData);
    req.once('end', onEnd);
    req.once('error', onError);
    req.once('aborted', onAborted);
  });
}
