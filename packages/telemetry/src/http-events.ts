import { Channels } from '@voelgoed/contracts';
import {
  type EventContext,
  listen,
  seconds,
  seriesCache,
  splitOrigin,
  text,
  type Unsubscribe,
} from './event-context.js';
import { knownHttpMethod } from './http-method.js';
import { MetricNames } from './metric-names.js';

/** Gauge value of each circuit state. */
export const CIRCUIT_STATE_VALUES = { closed: 0, half_open: 1, open: 2 } as const;

/** `voelgoed:http:*` → request duration, retries, circuit state, bulkhead depth. */
export function subscribeHttp(context: EventContext): Unsubscribe[] {
  // Every metric is registered before the first subscription (a name taken fails first).
  const metrics = httpMetrics(context);
  return [
    listenRequests(context, metrics),
    listenRetries(context, metrics),
    listenCircuit(context, metrics),
    listenBulkhead(context, metrics),
  ];
}

type HttpMetrics = ReturnType<typeof httpMetrics>;

/** The HTTP client's metrics, registered in this order. */
function httpMetrics(context: EventContext) {
  const { factory } = context;
  const origin = ['server_address', 'server_port'] as const;
  return {
    duration: factory.histogram(
      context.name(MetricNames.httpRequestDuration),
      'Duration of outbound HTTP attempts (each retry is its own), by method, server, status and outcome.',
      ['http_request_method', ...origin, 'http_response_status_code', 'outcome', 'error_type'],
      context.buckets,
    ),
    retries: factory.counter(
      context.name(MetricNames.httpRetries),
      'Retries scheduled by the HTTP client, by method, server and reason (status code or error code).',
      ['http_request_method', ...origin, 'reason'],
    ),
    circuitState: factory.gauge(
      context.name(MetricNames.httpCircuitState),
      'Circuit breaker state per origin: 0 closed, 1 half-open, 2 open.',
      origin,
    ),
    transitions: factory.counter(
      context.name(MetricNames.httpCircuitTransitions),
      'Circuit breaker transitions per origin, by the state entered.',
      [...origin, 'state'],
    ),
    active: factory.gauge(
      context.name(MetricNames.httpBulkheadActive),
      'Requests running inside the bulkhead, per origin.',
      origin,
    ),
    queued: factory.gauge(
      context.name(MetricNames.httpBulkheadQueued),
      'Requests waiting for a bulkhead slot, per origin.',
      origin,
    ),
    rejected: factory.counter(
      context.name(MetricNames.httpBulkheadRejected),
      'Requests the bulkhead turned away because its queue was full, per origin.',
      origin,
    ),
  };
}

/** `voelgoed:http:request` → the duration of each attempt. */
function listenRequests(context: EventContext, { duration }: HttpMetrics): Unsubscribe {
  const series = seriesCache(context, 5, ([m, o, status, outcome, code]) => {
    const [address, port] = splitOrigin(text(o));
    const key = duration.key([
      knownHttpMethod(m),
      address,
      port,
      text(status),
      text(outcome),
      outcome === 'ok' ? undefined : (text(code) ?? 'error'),
    ]);
    return { value: key, cacheable: !key.folded };
  });
  const five: unknown[] = [undefined, undefined, undefined, undefined, undefined];
  return listen(context, Channels.httpRequest, (event) => {
    const s = seconds(event.durationMs);
    if (s === undefined) throw new TypeError('durationMs');
    five[0] = event.method;
    five[1] = event.origin;
    five[2] = event.status;
    five[3] = event.outcome;
    five[4] = event.errorCode;
    duration.record(series.get(five), s);
  });
}

/** `voelgoed:http:retry` → retries scheduled, by reason. */
function listenRetries(context: EventContext, { retries }: HttpMetrics): Unsubscribe {
  const series = seriesCache(context, 3, ([m, o, reason]) => {
    const [address, port] = splitOrigin(text(o));
    const key = retries.key([knownHttpMethod(m), address, port, text(reason)]);
    return { value: key, cacheable: !key.folded };
  });
  const three: unknown[] = [undefined, undefined, undefined];
  return listen(context, Channels.httpRetry, (event) => {
    three[0] = event.method;
    three[1] = event.origin;
    three[2] = event.reason;
    retries.add(series.get(three), 1);
  });
}

/** `voelgoed:http:circuit` → each origin's circuit state and its transitions. */
function listenCircuit(context: EventContext, { circuitState, transitions }: HttpMetrics): Unsubscribe {
  const series = seriesCache(context, 2, ([o, to]) => {
    const [address, port] = splitOrigin(text(o));
    const state = circuitState.key([address, port]);
    const moved = transitions.key([address, port, text(to)]);
    return { value: { state, moved }, cacheable: !state.folded && !moved.folded };
  });
  const two: unknown[] = [undefined, undefined];
  return listen(context, Channels.httpCircuit, (event) => {
    const value = CIRCUIT_STATE_VALUES[event.to];
    if (value === undefined) throw new TypeError('to');
    two[0] = event.origin;
    two[1] = event.to;
    const keys = series.get(two);
    circuitState.set(keys.state, value);
    transitions.add(keys.moved, 1);
  });
}

/** `voelgoed:http:bulkhead` → requests running and waiting per origin, and those turned away. */
function listenBulkhead(context: EventContext, { active, queued, rejected }: HttpMetrics): Unsubscribe {
  const series = seriesCache(context, 1, ([o]) => {
    const [address, port] = splitOrigin(text(o));
    const a = active.key([address, port]);
    const q = queued.key([address, port]);
    const r = rejected.key([address, port]);
    return { value: { active: a, queued: q, rejected: r }, cacheable: !a.folded };
  });
  const one: unknown[] = [undefined];
  return listen(context, Channels.httpBulkhead, (event) => {
    one[0] = event.origin;
    const keys = series.get(one);
    if (typeof event.active === 'number' && Number.isFinite(event.active))
      active.set(keys.active, event.active);
    if (typeof event.queued === 'number' && Number.isFinite(event.queued))
      queued.set(keys.queued, event.queued);
    if (event.event === 'rejected') rejected.add(keys.rejected, 1);
  });
}
