import { Channels } from '@voelgoed/contracts';
import { type EventContext, listen, seconds, seriesCache, text, type Unsubscribe } from './event-context.js';
import { MetricNames } from './metric-names.js';

/** `voelgoed:queue:job` → job steps by queue and event, and handler run time by outcome. */
export function subscribeQueue(context: EventContext): Unsubscribe[] {
  const { factory } = context;
  const jobs = factory.counter(
    context.name(MetricNames.queueJobs),
    'Steps of background jobs (enqueued, started, completed, failed, retried, dead_lettered, lease_lost), by queue and event; error_type on failed.',
    ['queue', 'event', 'error_type'],
  );
  const duration = factory.histogram(
    context.name(MetricNames.queueJobDuration),
    'Run time of job handlers, by queue and outcome (completed or failed).',
    ['queue', 'outcome'],
    context.buckets,
  );
  const series = seriesCache(context, 3, ([queue, event, code]) => {
    const j = jobs.key([
      text(queue),
      text(event),
      event === 'failed' ? (text(code) ?? 'UNKNOWN') : undefined,
    ]);
    const finished = event === 'completed' || event === 'failed';
    const d = finished ? duration.key([text(queue), text(event)]) : undefined;
    return { value: { jobs: j, duration: d }, cacheable: !j.folded && !(d?.folded ?? false) };
  });
  const three: unknown[] = [undefined, undefined, undefined];
  return [
    listen(context, Channels.queueJob, (event) => {
      if (typeof event.event !== 'string') throw new TypeError('event');
      three[0] = event.queue;
      three[1] = event.event;
      three[2] = event.errorCode;
      const keys = series.get(three);
      jobs.add(keys.jobs, 1);
      if (keys.duration !== undefined && event.durationMs !== undefined) {
        const s = seconds(event.durationMs);
        if (s === undefined) throw new TypeError('durationMs');
        duration.record(keys.duration, s);
      }
    }),
  ];
}
