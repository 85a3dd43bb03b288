import { isInfrastructureError, type ListedObject, type ListOptions } from '@voelgoed/contracts';
import { errorCodeOf } from './error-code.js';
import { validateLimit, validatePrefix } from './key.js';
import { type EventSource, publish, telemetryEnabled } from './telemetry.js';

/**
 * The part of `list` every driver shares: arguments checked when iteration starts (so bad
 * input rejects the first `next()`, as in the memory driver), `limit` applied, one storage event
 * when the iteration ends, and errors that are not yet typed wrapped by the driver's `wrapError`.
 * `items(prefix, limit)` yields the driver's objects in key order.
 */
export function listObjects(
  source: EventSource,
  prefixArg: string | undefined,
  readOptions: () => ListOptions,
  items: (prefix: string, limit: number) => AsyncIterable<ListedObject>,
  wrapError: (error: unknown) => unknown = (error) => error,
): AsyncIterable<ListedObject> {
  async function* run(): AsyncGenerator<ListedObject> {
    const started = telemetryEnabled() ? performance.now() : 0;
    let outcome: 'ok' | 'error' = 'ok';
    let errorCode: string | undefined;
    try {
      const prefix = validatePrefix(prefixArg);
      const limit = validateLimit(readOptions().limit);
      let count = 0;
      for await (const item of items(prefix, limit)) {
        yield item;
        if (++count >= limit) return;
      }
    } catch (error) {
      outcome = 'error';
      errorCode = errorCodeOf(error);
      throw isInfrastructureError(error) ? error : wrapError(error);
    } finally {
      if (started) publish(source, 'list', started, outcome, undefined, errorCode);
    }
  }
  return { [Symbol.asyncIterator]: run };
}
