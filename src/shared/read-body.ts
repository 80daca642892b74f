// Reads a request body into memory within its size limit, the shared memory budget and an idle timeout.
import { BodyBudgetExceededError, BodyIdleError, BodyReadError, BodyTooLargeError } from '../errors';
import type { Request } from 'express';

/**
 * The bytes all request bodies being read or used hold, against one limit: without it, N slow uploads could each
 * hold up to maxBodyBytes (16 such held 450 MiB until Node's request timeout).
 */
export class BodyBudget {
  private used = 0;

  constructor(readonly maxBytes: number) {}

  /** A request's share, released once whatever happens. */
  hold(): BodyHold {
    return new BodyHold(this);
  }

  /** @internal */
  take(bytes: number): boolean {
    if (this.used + bytes > this.maxBytes) return false;
    this.used += bytes;
    return true;
  }

  /** @internal */
  give(bytes: number): void {
    this.used -= bytes;
  }
}

/** One request's bytes in the budget; `release` is idempotent, so every path may call it. */
export class BodyHold {
  private held = 0;

  constructor(private readonly budget: BodyBudget) {}

  add(bytes: number): boolean {
    if (!this.budget.take(bytes)) return false;
    this.held += bytes;
    return true;
  }

  release(): void {
    this.budget.give(this.held);
    this.held = 0;
  }
}

export interface BodyLimits {
  /** The largest body, in bytes. */
  maxBytes: number;
  /** The share of the shared budget this request holds; released by readBody only when reading fails. */
  hold: BodyHold;
  /** How long the sender may send nothing, in ms. */
  idleTimeoutMs: number;
}

/** Whether the request announces a body (a non-zero Content-Length or any Transfer-Encoding). */
export function announcesBody(req: Request): boolean {
  return (
    req.headers['transfer-encoding'] !== undefined ||
    (req.headers['content-length'] !== undefined && req.headers['content-length'] !== '0')
  );
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
export async function readBody(req: Request, limits: BodyLimits): Promise<Buffer> {
  const { maxBytes, hold, idleTimeoutMs } = limits;
  if (alreadyRead(req)) {
    // Listening to an ended stream would wait forever; what the host's parser made of the body is all there is.
    const parsed: unknown = req.body;
    const body = Buffer.isBuffer(parsed)
      ? parsed
      : Buffer.from(typeof parsed === 'string' ? parsed : (JSON.stringify(parsed) ?? ''), 'utf8');
    // The host's parser had its own limit; a chunked body's size is known only now.
    if (body.length > maxBytes) throw new BodyTooLargeError();
    return body;
  }
  if (!announcesBody(req)) return Buffer.alloc(0);
  // A declared length is held up front, so a body that cannot fit is refused before a byte of it is read.
  const declared = Number(req.headers['content-length']);
  const heldUpFront = Number.isSafeInteger(declared) && declared > 0 ? declared : 0;
  if (heldUpFront > 0 && !hold.add(heldUpFront)) throw new BodyBudgetExceededError();
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const idle = setTimeout(() => stop(new BodyIdleError()), idleTimeoutMs);
    const cleanup = (): void => {
      clearTimeout(idle);
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('aborted', onAborted);
    };
    /** Stops reading and fails; the answer closes the connection instead of draining the rest. */
    const stop = (error: Error): void => {
      cleanup();
      req.pause();
      hold.release();
      reject(error);
    };
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > maxBytes) return stop(new BodyTooLargeError());
      if (size > heldUpFront && !hold.add(Math.min(chunk.length, size - heldUpFront)))
        return stop(new BodyBudgetExceededError());
      idle.refresh();
      chunks.push(chunk);
    };
    const onEnd = (): void => {
      cleanup();
      resolve(Buffer.concat(chunks, size));
    };
    const onError = (error: Error): void => {
      cleanup();
      hold.release();
      reject(new BodyReadError(error.message));
    };
    const onAborted = (): void => {
      cleanup();
      hold.release();
      reject(new BodyReadError('The client aborted the request'));
    };
    req.on('data', onData);
    req.once('end', onEnd);
    req.once('error', onError);
    req.once('aborted', onAborted);
  });
}
