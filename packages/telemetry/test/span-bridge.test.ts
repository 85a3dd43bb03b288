import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { context, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { TraceChannels, traceChannel, traced } from '@voelgoed/contracts';
import { bridgeTraceChannel } from '../src/tracing/index.js';

const exporter = new InMemorySpanExporter();
const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
const tracer = provider.getTracer('test');
let off: () => void;

beforeAll(() => {
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  off = bridgeTraceChannel(TraceChannels.lockAcquire, tracer, {
    start: (ctx) => ({
      name: 'lock',
      kind: SpanKind.INTERNAL,
      attributes: { resources: ctx.resources.length },
    }),
    end: (ctx, span) => span.setAttribute('attempts', ctx.attempts ?? -1),
  });
});

afterAll(() => {
  off();
  context.disable();
});

const channel = traceChannel(TraceChannels.lockAcquire);
const build = () => ({ resources: ['a'], ttlMs: 1000, nodes: 1 });

describe('bridgeTraceChannel', () => {
  it('opens a child of the active span, runs the work inside it and ends it with the result fields', async () => {
    exporter.reset();
    const parent = tracer.startSpan('parent');
    let inner: string | undefined;
    const value = await context.with(trace.setSpan(context.active(), parent), () =>
      traced(channel, build, async (ctx) => {
        await new Promise((r) => setTimeout(r, 5));
        inner = trace.getActiveSpan()?.spanContext().spanId;
        if (ctx) ctx.attempts = 3;
        return 42;
      }),
    );
    parent.end();
    expect(value).toBe(42);
    const [span] = exporter.getFinishedSpans().filter((s) => s.name === 'lock');
    expect(span?.parentSpanContext?.spanId).toBe(parent.spanContext().spanId);
    expect(inner).toBe(span?.spanContext().spanId);
    expect(span?.attributes).toMatchObject({ resources: 1, attempts: 3 });
  });

  it('marks a failed operation with error.type and an error status, and rethrows', async () => {
    exporter.reset();
    const failure = Object.assign(new Error('secret detail'), { code: 'LOCK_TIMEOUT' });
    await expect(
      traced(channel, build, async () => {
        throw failure;
      }),
    ).rejects.toBe(failure);
    const [span] = exporter.getFinishedSpans();
    expect(span?.attributes['error.type']).toBe('LOCK_TIMEOUT');
    expect(span?.status).toEqual({ code: SpanStatusCode.ERROR, message: 'LOCK_TIMEOUT' });
  });
});
