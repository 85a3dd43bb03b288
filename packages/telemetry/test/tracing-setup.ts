import { context, propagation, type Span, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { instrumentTracing, type TracingInstrumentation, type TracingOptions } from '../src/tracing/index.js';

/** An SDK set-up for one test file: in-memory exporter, async context, W3C propagation. */
export interface TracingHarness {
  exporter: InMemorySpanExporter;
  provider: BasicTracerProvider;
  instrumentation: TracingInstrumentation;
  /** Finished spans of the instrumentation (not the test's parents), optionally only those named `name`. */
  spans(name?: string): ReadableSpan[];
  /** Runs `fn` under a fresh parent span; returns fn's result and that span. */
  underParent<T>(fn: () => Promise<T>): Promise<{ value: T; parent: Span }>;
  close(): Promise<void>;
}

/** The SDK of every tracing test: spans kept in memory, async-hooks context, W3C propagation. */
export function startSdk(): { exporter: InMemorySpanExporter; provider: BasicTracerProvider } {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  return { exporter, provider };
}

export function startTracing(options: Omit<TracingOptions, 'tracerProvider'> = {}): TracingHarness {
  const { exporter, provider } = startSdk();
  const instrumentation = instrumentTracing({ ...options, tracerProvider: provider });
  const tracer = provider.getTracer('test');
  return {
    exporter,
    provider,
    instrumentation,
    spans: (name) =>
      exporter
        .getFinishedSpans()
        .filter((s) => s.instrumentationScope.name !== 'test' && (name === undefined || s.name === name)),
    async underParent(fn) {
      const parent = tracer.startSpan('parent');
      try {
        const value = await context.with(trace.setSpan(context.active(), parent), fn);
        return { value, parent };
      } finally {
        parent.end();
      }
    },
    async close() {
      instrumentation.stop();
      await provider.shutdown();
      context.disable();
      propagation.disable();
    },
  };
}

/** Everything a span shows: name, attributes, status, events, links (for secret sweeps). */
export function spanText(span: ReadableSpan): string {
  return JSON.stringify({
    name: span.name,
    attributes: span.attributes,
    status: span.status,
    events: span.events,
    links: span.links,
  });
}
