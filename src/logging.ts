// The silent default logger and the two named log streams (manager, endpoint) derived from the host's logger.
import type { Logger } from './types';

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
  if (!(error instanceof Error)) return { name: 'NonError', message: 'A non-Error value was thrown' };
  const message = error.message.replace(/dup key:[\s\S]*$/, 'dup key: [redacted]');
  const code = (error as { code?: unknown }).code;
  return code === undefined ? { name: error.name, message } : { name: error.name, message, code };
}
