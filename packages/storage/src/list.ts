import { errorCodeOf, isInfrastructureError, type ListedObject, type ListOptions } from '@voelgoed/contracts';
import { validateLimit, validatePrefix } from './key.js';
import { type EventSource, publish, telemetryEnabled, traceList } from './telemetry.js';

/**
 * The part of `list` every driver shares: arguments checked when iteration starts (so bad
 * input rejects the first `next()`, as in the memory driver), `limit` applied, one storage event
 * when the iteration ends, and errors that are not yet typed wrapped by the driver's `wrapError`.
 * `items(prefix, limit)` yields the driver's objects in key order. `assertOpen` throws once the
 * storage is closed: it runs before anything else, and again before each item, so a listing
 * under way stops at its next `next()` (ending the driver's iteration, which releases what it holds).
 */
export function listObjects(
  source: EventSource,
  assertOpen: () => void,
  prefixArg: string | undefined,
  readOptions: () => ListOptions,
  items: (prefix: string, limit: number) => AsyncIterable<ListedObject>,
  wrapError: (error: unknown) => unknown = (error) => error,
): AsyncIterable<ListedObject> {
  async function* run(): AsyncGenerator<ListedObject> {
    const started = telemetryEnabled() ? performance.now() : 0;
    // The span runs from the first next() to the end of the iteration (or its break).
    const trace = traceList(source, prefixArg);
    let outcome: 'ok' | 'error' = 'ok';
    let errorCode: string | undefined;
    let failure: unknown;
    try {
      assertOpen();
      const prefix = validatePrefix(prefixArg);
      const limit = validateLimit(readOptions().limit);
      let count = 0;
      for await (const item of items(prefix, limit)) {
        assertOpen();
        yield item;
        if (++count >= limit) return;
      }
    } catch (error) {
      outcome = 'error';
      failure = isInfrastructureError(error) ? error : wrapError(error);
      // The code the caller receives (FS_ERROR for a raw EACCES), not the raw cause's.
      errorCode = errorCodeOf(failure);
      throw failure;
    } finally {
      if (started) publish(source, 'list', started, outcome, undefined, errorCode);
      if (trace) {
        if (errorCode !== undefined) trace.context.errorCode = errorCode;
        trace.settle(failure);
      }
    }
  }
  return { [Symbol.asyncIterator]: run };
}
