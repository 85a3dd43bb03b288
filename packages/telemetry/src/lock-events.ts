import { Channels } from '@voelgoed/contracts';
import { type EventContext, listen, seconds, seriesCache, text, type Unsubscribe } from './event-context.js';
import { ATTEMPT_BUCKETS, MetricNames } from './metric-names.js';

/** `voelgoed:lock:*` → acquire wait, attempts, held time, extensions, lost locks. */
export function subscribeLock(context: EventContext): Unsubscribe[] {
  // Every metric is registered before the first subscription (a name taken fails first).
  const metrics = lockMetrics(context);
  return [
    listenAcquire(context, metrics),
    listenRelease(context, metrics),
    listenExtend(context, metrics),
    listenLost(context, metrics),
  ];
}

type LockMetrics = ReturnType<typeof lockMetrics>;

/** The lock's metrics, registered in this order. */
function lockMetrics(context: EventContext) {
  const { factory } = context;
  return {
    acquire: factory.histogram(
      context.name(MetricNames.lockAcquireDuration),
      'Time from acquire() to holding the lock or giving up, by outcome (acquired, timeout, error).',
      ['outcome', 'error_type'],
      context.buckets,
    ),
    attempts: factory.histogram(
      context.name(MetricNames.lockAcquireAttempts),
      'Attempts made by one acquire() call, by outcome.',
      ['outcome'],
      ATTEMPT_BUCKETS,
    ),
    held: factory.histogram(
      context.name(MetricNames.lockHeldDuration),
      'How long a lock was held when it was released, by outcome (released, not_owner, error).',
      ['outcome', 'error_type'],
      context.buckets,
    ),
    extend: factory.histogram(
      context.name(MetricNames.lockExtendDuration),
      'Duration of lock extensions, by trigger (auto, manual) and outcome.',
      ['trigger', 'outcome', 'error_type'],
      context.buckets,
    ),
    lost: factory.counter(
      context.name(MetricNames.lockLost),
      'Held locks that could not be kept, by reason (extend_failed, expired).',
      ['reason'],
    ),
  };
}

/** The error code when the event has one; `error` for an error outcome without one. */
function errorType(outcome: unknown, ok: string, code: unknown): string | undefined {
  return outcome === ok ? undefined : (text(code) ?? (outcome === 'error' ? 'error' : undefined));
}

/** `voelgoed:lock:acquire` → the wait and the attempts of each acquire(). */
function listenAcquire(context: EventContext, { acquire, attempts }: LockMetrics): Unsubscribe {
  const series = seriesCache(context, 2, ([outcome, code]) => {
    const a = acquire.key([text(outcome), errorType(outcome, 'acquired', code)]);
    const n = attempts.key([text(outcome)]);
    return { value: { acquire: a, attempts: n }, cacheable: !a.folded && !n.folded };
  });
  const two: unknown[] = [undefined, undefined];
  return listen(context, Channels.lockAcquire, (event) => {
    const s = seconds(event.waitMs);
    if (s === undefined) throw new TypeError('waitMs');
    two[0] = event.outcome;
    two[1] = event.errorCode;
    const keys = series.get(two);
    acquire.record(keys.acquire, s);
    if (typeof event.attempts === 'number' && event.attempts >= 0)
      attempts.record(keys.attempts, event.attempts);
  });
}

/** `voelgoed:lock:release` → how long each lock was held. */
function listenRelease(context: EventContext, { held }: LockMetrics): Unsubscribe {
  const series = seriesCache(context, 2, ([outcome, code]) => {
    const key = held.key([text(outcome), errorType(outcome, 'released', code)]);
    return { value: key, cacheable: !key.folded };
  });
  const two: unknown[] = [undefined, undefined];
  return listen(context, Channels.lockRelease, (event) => {
    const s = seconds(event.heldMs);
    if (s === undefined) throw new TypeError('heldMs');
    two[0] = event.outcome;
    two[1] = event.errorCode;
    held.record(series.get(two), s);
  });
}

/** `voelgoed:lock:extend` → the duration of each extension. */
function listenExtend(context: EventContext, { extend }: LockMetrics): Unsubscribe {
  const series = seriesCache(context, 3, ([trigger, outcome, code]) => {
    const key = extend.key([text(trigger), text(outcome), errorType(outcome, 'ok', code)]);
    return { value: key, cacheable: !key.folded };
  });
  const three: unknown[] = [undefined, undefined, undefined];
  return listen(context, Channels.lockExtend, (event) => {
    const s = seconds(event.durationMs);
    if (s === undefined) throw new TypeError('durationMs');
    three[0] = event.trigger;
    three[1] = event.outcome;
    three[2] = event.errorCode;
    extend.record(series.get(three), s);
  });
}

/** `voelgoed:lock:lost` → locks that could not be kept, by reason. */
function listenLost(context: EventContext, { lost }: LockMetrics): Unsubscribe {
  const series = seriesCache(context, 1, ([reason]) => {
    const key = lost.key([text(reason)]);
    return { value: key, cacheable: !key.folded };
  });
  const one: unknown[] = [undefined];
  return listen(context, Channels.lockLost, (event) => {
    one[0] = event.reason;
    lost.add(series.get(one), 1);
  });
}
