// Classifies driver errors portably between MongoDB and FerretDB v1.
import { isError } from '../shared/is-error';

/**
 * A unique-index violation. MongoDB reports 11000 everywhere; FerretDB v1 reports 11000 on insert but code 1
 * (InternalError) on update, so on updates the caller must confirm the clash with a read before trusting it.
 */
export function isDuplicateKeyError(error: unknown, onUpdate = false): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === 11000 || (onUpdate && code === 1);
}

/** Driver error names (mongodb 6) that mean the server could not be reached or the connection went away. */
const UNAVAILABLE_ERRORS = new Set([
  'MongoNetworkError',
  'MongoNetworkTimeoutError',
  'MongoServerSelectionError',
  'MongooseServerSelectionError',
  'MongoNotConnectedError',
  'MongoTopologyClosedError',
  'MongoServerClosedError',
  'MongoClientClosedError',
  // An operation queued on a pool that a network error cleared (a database restart): not the operation's fault.
  'MongoPoolClearedError',
  'PoolClearedOnNetworkError',
  'MongoPoolClosedError',
  'MongoWaitQueueTimeoutError',
]);

/**
 * Node's own socket errors. The driver wraps most in a MongoNetworkError, but not all: a command whose write waits
 * for the socket to drain rethrows the socket's 'error' as it came (mongodb 7, cmap/connection.js writeCommand),
 * such as the EPIPE of a socket the database closed while the command was being written.
 */
const SOCKET_ERROR_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTCONN',
  'ERR_SOCKET_CLOSED',
  'ERR_STREAM_DESTROYED',
  'ERR_STREAM_WRITE_AFTER_END',
]);

/** The database could not be reached (as opposed to rejecting the operation). */
export function isUnavailableError(error: unknown): boolean {
  if (!isError(error)) return false;
  if (UNAVAILABLE_ERRORS.has(error.name)) return true;
  if (SOCKET_ERROR_CODES.has(String((error as { code?: unknown }).code))) return true;
  // mongoose with bufferCommands:false before the connection opens.
  return error.name === 'MongooseError' && /initial connection|not connected|buffering timed out/i.test(error.message);
}
