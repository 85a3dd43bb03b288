import type { Logger } from '@voelgoed/contracts';

/**
 * A subscriber's handler that cannot break its connection's reading or the process: what it
 * throws, and what an async handler rejects with (an unhandled rejection ends a Node process),
 * is logged as an error (its name only: the message may hold data) and ignored.
 */
export function guardedHandler(
  handler: (message: string, channel: string) => unknown,
  logger: Logger,
): (message: string, channel: string) => void {
  const failed = (error: unknown) => {
    try {
      const name = error instanceof Error ? error.name : typeof error;
      logger.error({ error: name }, 'redis subscribe handler threw (ignored)');
    } catch {
      // A logger that throws changes nothing.
    }
  };
  return (message, channel) => {
    let result: unknown;
    try {
      result = handler(message, channel);
    } catch (error) {
      failed(error);
      return;
    }
    if (result instanceof Promise) result.catch(failed);
  };
}
