import type { TracingChannel } from 'node:diagnostics_channel';
import {
  type Attributes,
  type Context,
  context,
  diag,
  type Link,
  type Span,
  type SpanKind,
  SpanStatusCode,
  type Tracer,
  trace,
} from '@opentelemetry/api';
import {
  type TraceChannelName,
  type TraceContext,
  type TraceContexts,
  traceChannel,
} from '@voelgoed/contracts';
import { untraced } from '../untraced.js';

/**
 * What a span is made of, decided at `start` in the caller's context. Handed to the tracer as
 * its `SpanOptions` (only `kind`, `attributes` and `links` are read there), so a mapping may
 * return one shared, frozen spec for every operation alike.
 */
export interface SpanSpec {
  name: string;
  kind: SpanKind;
  attributes: Attributes;
  links?: Link[];
  /** The parent context; the caller's active context when absent. */
  parent?: Context;
}

/** How one trace channel's contexts become spans. */
export interface SpanMapping<C> {
  /** At start: the span to open (none when `undefined`). `active` is the caller's context. */
  start(ctx: C, active: Context): SpanSpec | undefined;
  /** Right after the span opened, with its context (e.g. to inject propagation fields). */
  started?(ctx: C, spanContext: Context): void;
  /** Once the operation settled, before the span ends: result attributes. */
  end?(ctx: C, span: Span): void;
  /** Whether the operation's own work runs with this span active (default true). */
  enter?: boolean;
}

/** `error.type` of a failure: its stable `code` when it has one, else its class name. */
export function errorType(error: unknown): string {
  if (typeof error === 'object' && error !== null) {
    const code = (error as { code?: unknown }).code;
    if (typeof code === 'string' && code !== '') return code;
    const name = (error as { name?: unknown }).name;
    if (typeof name === 'string' && name !== '') return name;
  }
  return '_OTHER';
}

/**
 * Subscribes to one trace channel and turns each operation into a span: opened at `start` (a
 * child of the caller's active span), made active for the operation's own work through the
 * context's `enter`, given `error.type` and an error status on failure, ended when the
 * operation settles. The status message is the error type only: messages may hold user data.
 * Returns the unsubscribe function.
 */
export function bridgeTraceChannel<N extends TraceChannelName>(
  name: N,
  tracer: Tracer,
  mapping: SpanMapping<TraceContexts[N]>,
): () => void {
  return bridgeTracingChannel(traceChannel(name), tracer, mapping);
}

/**
 * Span keys no live subscription of a channel uses, by the channel's `start` (one object per
 * name while subscribed). Reused so that subscribing again (instrumentTracing() after stop())
 * puts the span under the key the publisher's contexts already had: a fresh key each time would
 * give those contexts ever new shapes.
 */
const freeSpanKeys = new WeakMap<object, symbol[]>();

function acquireSpanKey(channel: TracingChannel<object, object>): symbol {
  return freeSpanKeys.get(channel.start)?.pop() ?? Symbol('span');
}

function releaseSpanKey(channel: TracingChannel<object, object>, key: symbol): void {
  let free = freeSpanKeys.get(channel.start);
  if (free === undefined) {
    free = [];
    freeSpanKeys.set(channel.start, free);
  }
  free.push(key);
}

/**
 * {@link bridgeTraceChannel} for any tracing channel (node-redis's own, for one). The operation
 * is told the span's context through `enter` only when its context has that field's meaning
 * (the contracts' channels); set `mapping.enter` to false for a vendor's channels.
 */
export function bridgeTracingChannel<C extends object>(
  channel: TracingChannel<object, C>,
  tracer: Tracer,
  mapping: SpanMapping<C>,
): () => void {
  // The span rides on the operation's context under a symbol of this subscription's own: a
  // plain property write, far cheaper per operation than a WeakMap (or defineProperty, slower
  // still), gone with the context, and skipped by Object.keys, for...in and JSON.
  const spanKey = acquireSpanKey(channel);
  const handlers = spanHandlers(tracer, mapping, spanKey);
  channel.subscribe(handlers);
  let subscribed = true;
  return () => {
    if (!subscribed) return;
    subscribed = false;
    channel.unsubscribe(handlers);
    releaseSpanKey(channel, spanKey);
  };
}

/** An operation's context as the bridge sees it: the span under the subscription's key. */
type Carrier = Record<symbol, Span | undefined>;

/** The tracing channel handlers of one subscription: each operation's span opened, failed, ended. */
function spanHandlers<C extends object>(
  tracer: Tracer,
  mapping: SpanMapping<C>,
  spanKey: symbol,
): Parameters<TracingChannel<object, C>['subscribe']>[0] {
  const needsContext = mapping.enter !== false || mapping.started !== undefined;
  // What a tracer, span processor or exporter throws stays here: a subscriber's error would be
  // rethrown by diagnostics_channel as an uncaught exception, ending the process over a span.
  // (try/catch inline: no closure per span on the hot path.)
  return {
    start(message) {
      try {
        openSpan(message as C, tracer, mapping, spanKey, needsContext);
      } catch (error) {
        spanFailed('start', error);
      }
    },
    error(message) {
      try {
        const ctx = message as C & { error?: unknown };
        const span = (ctx as Carrier)[spanKey];
        if (span === undefined) return;
        const type = errorType(ctx.error);
        span.setAttribute('error.type', type);
        span.setStatus({ code: SpanStatusCode.ERROR, message: type });
      } catch (error) {
        spanFailed('error', error);
      }
    },
    end(message) {
      // A synchronous throw ends here without an asyncEnd; a promise settles later.
      const ctx = message as C & { error?: unknown; result?: unknown };
      if (ctx.error === undefined || 'result' in ctx) return;
      try {
        endSpan(ctx, mapping, spanKey);
      } catch (error) {
        spanFailed('end', error);
      }
    },
    asyncStart() {},
    asyncEnd(message) {
      try {
        endSpan(message as C, mapping, spanKey);
      } catch (error) {
        spanFailed('end', error);
      }
    },
  };
}

/** A span step failed: reported on OpenTelemetry's diagnostic logger, and no further. */
function spanFailed(step: string, error: unknown): void {
  try {
    diag.error(`@voelgoed/telemetry: a span ${step} failed (the operation goes on untraced)`, error);
  } catch {
    // a diagnostic logger that throws changes nothing
  }
}

/**
 * Opens the span `mapping.start` asks for (a child of the caller's active context unless the
 * spec names a parent), puts it on the context, and, when used, hands the operation the span's
 * context (`started`, and `enter` so that its own work runs with the span active).
 */
function openSpan<C extends object>(
  ctx: C,
  tracer: Tracer,
  mapping: SpanMapping<C>,
  spanKey: symbol,
  needsContext: boolean,
): void {
  // A readiness probe's checks make no spans (metrics still count them).
  if (untraced.getStore()) return;
  const active = context.active();
  const spec = mapping.start(ctx, active);
  if (spec === undefined) return;
  const parent = spec.parent ?? active;
  // The spec is a SpanOptions already (kind, attributes, links; the rest is not read).
  const span = tracer.startSpan(spec.name, spec, parent);
  (ctx as Carrier)[spanKey] = span;
  // The span's context is made only for whoever uses it (not for a vendor's channels).
  if (!needsContext) return;
  const spanContext = trace.setSpan(parent, span);
  mapping.started?.(ctx, spanContext);
  if (mapping.enter !== false) (ctx as TraceContext).enter = (fn) => context.with(spanContext, fn);
}

/** Ends the operation's span once (after `mapping.end`'s attributes), if it has one. */
function endSpan<C extends object>(ctx: C, mapping: SpanMapping<C>, spanKey: symbol): void {
  const carrier = ctx as Carrier;
  const span = carrier[spanKey];
  if (span === undefined) return;
  carrier[spanKey] = undefined;
  try {
    mapping.end?.(ctx, span);
  } finally {
    span.end();
  }
}
