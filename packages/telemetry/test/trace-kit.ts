import { context, propagation, trace } from '@opentelemetry/api';
import type { BasicTracerProvider, InMemorySpanExporter, ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { startSdk } from './tracing-setup.js';

// The SDK set-up of the tracing tests: an in-memory exporter, async-hooks context, W3C propagation.

export interface TraceKit {
  exporter: InMemorySpanExporter;
  provider: BasicTracerProvider;
  tracer: ReturnType<BasicTracerProvider['getTracer']>;
  /** Finished spans named `name`. */
  spans(name?: string): ReadableSpan[];
  /** Everything a span carries that could leak a secret, as one string. */
  dump(): string;
  close(): void;
}

export function startTraceKit(): TraceKit {
  const { exporter, provider } = startSdk();
  const all = () => exporter.getFinishedSpans();
  return {
    exporter,
    provider,
    tracer: provider.getTracer('test'),
    spans: (name) => (name === undefined ? all() : all().filter((s) => s.name === name)),
    dump: () =>
      JSON.stringify(
        all().map((s) => ({
          name: s.name,
          attributes: s.attributes,
          status: s.status,
          events: s.events,
          links: s.links.map((l) => l.attributes ?? {}),
          resource: s.resource.attributes,
        })),
      ),
    close() {
      propagation.disable();
      context.disable();
      trace.disable();
    },
  };
}
