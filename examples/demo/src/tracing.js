// `./dev demo --trace`: OpenTelemetry's SDK with an in-memory exporter, fed by
// @voelgoed/telemetry's instrumentTracing(); each buyer runs in its own root span, and the trace
// of one purchase (a buyer who got a ticket) is printed as a waterfall at the end.
import { context, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { instrumentTracing } from '@voelgoed/telemetry/tracing';
import { renderWaterfall } from './trace-waterfall.js';

export function startTracing() {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  const contextManager = new AsyncLocalStorageContextManager().enable();
  context.setGlobalContextManager(contextManager);
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  trace.setGlobalTracerProvider(provider);
  const instrumentation = instrumentTracing({ tracerProvider: provider });
  const tracer = provider.getTracer('voelgoed-demo');
  /** Trace ids of buyers who got a ticket, in the order they got it. */
  const purchases = [];

  return {
    /** Runs one buyer in its own root span. */
    buyer(id, run) {
      return tracer.startActiveSpan(`buyer ${id}`, { root: true }, (span) =>
        run().then(
          (result) => {
            span.end();
            return result;
          },
          (error) => {
            span.end();
            throw error;
          },
        ),
      );
    },
    /** Marks the active buyer's trace as a purchase (call when a ticket was stored). */
    purchased() {
      const id = trace.getActiveSpan()?.spanContext().traceId;
      if (id) purchases.push(id);
    },
    /** Runs a server-side handler in the context its request's `traceparent` names. */
    remoteParent(headers, handle) {
      return context.with(propagation.extract(context.active(), headers), handle);
    },
    /** The waterfall of one purchase (the one with the fewest spans: a buyer who got a seat at once). */
    waterfall() {
      const spans = exporter.getFinishedSpans();
      if (purchases.length === 0) return ['(no purchase was traced)'];
      const count = new Map(purchases.map((id) => [id, 0]));
      for (const s of spans) {
        const id = s.spanContext().traceId;
        if (count.has(id)) count.set(id, count.get(id) + 1);
      }
      const [smallest] = [...count.entries()].sort((a, b) => a[1] - b[1])[0];
      return renderWaterfall(spans, smallest);
    },
    async stop() {
      instrumentation.stop();
      await provider.shutdown();
      contextManager.disable();
    },
  };
}
