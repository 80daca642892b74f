// The silent default logger and the two named log streams (manager, endpoint) derived from the host's logger.
import type { Logger } from './types';
import { isError } from './shared/is-error';

const noop = (): void => {};

/** Used when the host passes no logger. */
export const NOOP_LOGGER: Logger = Object.freeze({
  debug: noop,
  info: noop,
  warn: noop,
  error: noop,
  child: () => NOOP_LOGGER,
});

/** The logger of one stream: every line carries `stream` so hosts can route or filter it. */
export function streamLogger(logger: Logger, stream: 'manager' | 'endpoint', instanceId: string): Logger {
  return logger.child({ stream, instanceId });
}

/**
 * A log-safe summary of an error: name, code and message, never the objects a driver error carries. A MongoDB
 * duplicate-key message quotes the clashing key, which may be a secret digest, so that part is cut off.
 */
export function errorSummary(error: unknown): { name: string; message: string; code?: unknown } {
  if (!isError(error))
    return { name: 'NonError', message: `A value that is not an Error was thrown (${kindOf(error)})` };
  const message = error.message.replace(/dup key:[\s\S]*$/, 'dup key: [redacted]');
  const code = (error as { code?: unknown }).code;
  return code === undefined ? { name: error.name, message } : { name: error.name, message, code };
}

/** The type of a thrown non-Error, never its content (which may hold anything, a secret included). */
function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value !== 'object') return typeof value;
  const constructorName = (value as { constructor?: { name?: unknown } }).constructor?.name;
  return typeof constructorName === 'string' && /^\w{1,64}$/.test(constructorName) ? constructorName : 'object';
}

/**
 * The cause to hand to the host with a failure (passErrorsToHost): the error itself, unless it comes from the
 * database driver, whose errors carry the documents and keys involved (a secret digest among them): then a plain
 * Error with the summary's name, code and message only.
 */
export function passableCause(error: unknown): unknown {
  if (!isError(error) || !error.name.startsWith('Mongo')) return error;
  const { name, message, code } = errorSummary(error);
  return Object.assign(new Error(message), { name, ...(code === undefined ? {} : { code }) });
}
