// Whether a thrown value is an Error, whichever JavaScript realm made it.
import { types } from 'node:util';

/**
 * `instanceof Error` is false for an Error made in another realm: a vm context, or (as under jest, whose modules
 * run in a context of their own) every error Node's core makes, such as a socket's EPIPE. The driver can pass such
 * a socket error through unwrapped, and it must still be recognised as one.
 */
export function isError(value: unknown): value is Error {
  return value instanceof Error || types.isNativeError(value);
}
