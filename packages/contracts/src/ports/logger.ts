import { InvalidArgumentError } from '../errors.js';

/**
 * Where an adapter reports the few things an operator needs to know (a lost connection, a
 * circuit breaker opening, a lost lock, a dead-lettered job). The shape is `(obj, msg)`, the
 * one pino uses, and `console` satisfies it too. Adapters log a structured object and a short
 * message, never a secret, and never per command or per request.
 */
export interface Logger {
  debug(obj: Record<string, unknown>, msg?: string): void;
  info(obj: Record<string, unknown>, msg?: string): void;
  warn(obj: Record<string, unknown>, msg?: string): void;
  error(obj: Record<string, unknown>, msg?: string): void;
}

/** The level names of a {@link Logger}. */
export type LogLevel = keyof Logger;

const LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error'];

const nothing = (): void => {};

/** Logs nothing: what every adapter uses when it is given no `logger`. */
export const silentLogger: Logger = Object.freeze({
  debug: nothing,
  info: nothing,
  warn: nothing,
  error: nothing,
});

/** What `logger` options accept: a {@link Logger}, or `undefined` for {@link silentLogger}. */
export interface LoggerOption {
  /**
   * Where to log reconnects, breaker transitions, lost locks and leases, dead letters (default:
   * {@link silentLogger}, nothing is logged). pino and `console` both fit.
   */
  logger?: Logger | undefined;
}

/**
 * Checks a caller's `logger` option and returns a logger safe to call from an adapter: `undefined`
 * gives {@link silentLogger}; a logger that throws (or returns a rejected promise) is ignored, so
 * a broken logger never breaks the adapter. Anything that is not an object with the four level
 * methods is an `InvalidArgumentError`.
 */
export function readLogger(logger: unknown, prefix: string): Logger {
  if (logger === undefined) return silentLogger;
  if ((typeof logger !== 'object' && typeof logger !== 'function') || logger === null) {
    throw new InvalidArgumentError(
      `${prefix} logger must be an object with debug, info, warn and error methods`,
    );
  }
  for (const level of LEVELS) {
    let method: unknown;
    try {
      method = (logger as Record<string, unknown>)[level];
    } catch (error) {
      throw new InvalidArgumentError(`${prefix} logger.${level} could not be read`, { cause: error });
    }
    if (typeof method !== 'function') {
      throw new InvalidArgumentError(`${prefix} logger.${level} must be a function`);
    }
  }
  const target = logger as Logger;
  const call = (level: LogLevel, obj: Record<string, unknown>, msg?: string): void => {
    try {
      const result: unknown = msg === undefined ? target[level](obj) : target[level](obj, msg);
      if (typeof (result as PromiseLike<unknown> | undefined)?.then === 'function') {
        (result as PromiseLike<unknown>).then(undefined, nothing);
      }
    } catch {
      // A logger must never break the adapter that calls it.
    }
  };
  return Object.freeze({
    debug: (obj: Record<string, unknown>, msg?: string) => call('debug', obj, msg),
    info: (obj: Record<string, unknown>, msg?: string) => call('info', obj, msg),
    warn: (obj: Record<string, unknown>, msg?: string) => call('warn', obj, msg),
    error: (obj: Record<string, unknown>, msg?: string) => call('error', obj, msg),
  });
}
