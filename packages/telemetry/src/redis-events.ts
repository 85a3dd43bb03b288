import { Channels } from '@voelgoed/contracts';
import {
  type EventContext,
  listen,
  seconds,
  seriesCache,
  splitHostPort,
  text,
  type Unsubscribe,
} from './event-context.js';
import { MetricNames } from './metric-names.js';

/** `voelgoed:redis:command` → `db_client_operation_duration_seconds`. */
export function subscribeRedis(context: EventContext): Unsubscribe[] {
  const duration = context.factory.histogram(
    context.name(MetricNames.redisCommandDuration),
    'Duration of Redis commands (pipelined ones included), by command name, server and outcome.',
    ['db_system_name', 'db_operation_name', 'server_address', 'server_port', 'outcome', 'error_type'],
    context.buckets,
  );
  const series = seriesCache(context, 4, ([command, target, outcome, errorCode]) => {
    const [address, port] = splitHostPort(text(target));
    const failed = outcome !== 'ok';
    const key = duration.key([
      'redis',
      text(command),
      address,
      port,
      text(outcome),
      failed ? (text(errorCode) ?? 'error') : undefined,
    ]);
    return { value: key, cacheable: !key.folded };
  });
  const fields: unknown[] = [undefined, undefined, undefined, undefined];
  return [
    listen(context, Channels.redisCommand, (event) => {
      const s = seconds(event.durationMs);
      if (s === undefined) throw new TypeError('durationMs');
      fields[0] = event.command;
      fields[1] = event.target;
      fields[2] = event.outcome;
      fields[3] = event.errorCode;
      duration.record(series.get(fields), s);
    }),
  ];
}
