// Adapts the host's logger to the package's pino-style calls: pino as it is; winston, bunyan and console by their own conventions.
import type { ConsoleLikeLogger, Logger, LoggerStyle } from '../types';

const LEVELS = ['debug', 'info', 'warn', 'error'] as const;
type Level = (typeof LEVELS)[number];

function hasMethods(value: object, names: readonly string[]): boolean {
  const record = value as Record<string, unknown>;
  return names.every((name) => typeof record[name] === 'function');
}

/**
 * The style a logger object most likely has, from the methods only each library has: winston's `add`/`configure`,
 * bunyan's `addStream`/`addSerializers`; no `child` means console-shaped; anything else with a `child` is taken as
 * pino. Null when it lacks a level method.
 */
export function detectLoggerStyle(logger: object): LoggerStyle | null {
  if (hasMethods(logger, ['add', 'remove', 'configure', 'log', 'child'])) return 'winston';
  if (hasMethods(logger, ['addStream', 'addSerializers', 'child', ...LEVELS])) return 'bunyan';
  if (!hasMethods(logger, LEVELS)) return null;
  return hasMethods(logger, ['child']) ? 'pino' : 'console';
}

/** The methods each style needs, for the option check's message. */
export const STYLE_METHODS: Record<LoggerStyle, readonly string[]> = {
  pino: [...LEVELS, 'child'],
  bunyan: [...LEVELS, 'child'],
  winston: ['log', 'child'],
  console: LEVELS,
};

/** bunyan: `child(fields, true)`, else bunyan reads a binding named `stream` (ours) as an output stream and throws. */
function bunyanLogger(bunyan: Logger & { child(bindings: object, simple: boolean): Logger }): Logger {
  return {
    debug: (obj, msg) => bunyan.debug(obj, msg),
    info: (obj, msg) => bunyan.info(obj, msg),
    warn: (obj, msg) => bunyan.warn(obj, msg),
    error: (obj, msg) => bunyan.error(obj, msg),
    child: (bindings) => bunyanLogger(bunyan.child(bindings, true)),
  };
}

interface WinstonLike {
  log(entry: { level: string; message: string }): unknown;
  child(bindings: Record<string, unknown>): WinstonLike;
}

/**
 * winston: one info object `{ level, message, ...fields }` through `log()`. Its level methods take the message first
 * and read `%` sequences in it as format tokens (dropping the fields), so `info(fields, message)` lost the message.
 */
function winstonLogger(winston: WinstonLike): Logger {
  const at =
    (level: Level) =>
    (obj: object, msg?: string): void => {
      winston.log({ ...obj, level, message: msg ?? '' });
    };
  return {
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    child: (bindings) => winstonLogger(winston.child(bindings)),
  };
}

/** console (or anything with the four level methods and no child): the message first, the bindings in the fields. */
function consoleLogger(target: ConsoleLikeLogger, bindings: Record<string, unknown>): Logger {
  const at =
    (level: Level) =>
    (obj: object, msg?: string): void => {
      target[level](msg ?? '', { ...bindings, ...obj });
    };
  return {
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    child: (more) => consoleLogger(target, { ...bindings, ...more }),
  };
}

/** The host's logger as the package calls it; a pino logger is used as it is. */
export function adaptLogger(logger: Logger | ConsoleLikeLogger, style: LoggerStyle): Logger {
  switch (style) {
    case 'pino':
      return logger as Logger;
    case 'bunyan':
      return bunyanLogger(logger as Parameters<typeof bunyanLogger>[0]);
    case 'winston':
      return winstonLogger(logger as unknown as WinstonLike);
    case 'console':
      return consoleLogger(logger, {});
  }
}

/** The winston levels the package logs at, which a winston logger with other levels (syslog) lacks. */
export function missingWinstonLevels(logger: object): string[] {
  const levels = (logger as { levels?: unknown }).levels;
  if (typeof levels !== 'object' || levels === null) return [];
  return LEVELS.filter((level) => !(level in levels));
}
