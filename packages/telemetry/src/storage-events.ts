import { Channels } from '@voelgoed/contracts';
import { type EventContext, listen, seconds, seriesCache, text, type Unsubscribe } from './event-context.js';
import { MetricNames } from './metric-names.js';

/** `voelgoed:storage:operation` → operation duration and bytes moved. */
export function subscribeStorage(context: EventContext): Unsubscribe[] {
  const { factory } = context;
  const where = ['storage_driver', 'storage_bucket', 'storage_operation'] as const;
  const duration = factory.histogram(
    context.name(MetricNames.storageOperationDuration),
    'Duration of object storage operations, by driver, bucket, operation and outcome.',
    [...where, 'outcome', 'error_type'],
    context.buckets,
  );
  const bytes = factory.counter(
    context.name(MetricNames.storageBytes),
    'Bytes moved by object storage operations that report them (put, get, getRange, copy), by driver, bucket and operation.',
    where,
  );
  const series = seriesCache(context, 5, ([driver, bucket, operation, outcome, code]) => {
    const d = duration.key([
      text(driver),
      text(bucket),
      text(operation),
      text(outcome),
      outcome === 'ok' ? undefined : (text(code) ?? 'error'),
    ]);
    const b = bytes.key([text(driver), text(bucket), text(operation)]);
    return { value: { duration: d, bytes: b }, cacheable: !d.folded && !b.folded };
  });
  const five: unknown[] = [undefined, undefined, undefined, undefined, undefined];
  return [
    listen(context, Channels.storageOperation, (event) => {
      const s = seconds(event.durationMs);
      if (s === undefined) throw new TypeError('durationMs');
      five[0] = event.driver;
      five[1] = event.bucket;
      five[2] = event.operation;
      five[3] = event.outcome;
      five[4] = event.errorCode;
      const keys = series.get(five);
      duration.record(keys.duration, s);
      if (typeof event.bytes === 'number' && event.bytes > 0 && Number.isFinite(event.bytes)) {
        bytes.add(keys.bytes, event.bytes);
      }
    }),
  ];
}
