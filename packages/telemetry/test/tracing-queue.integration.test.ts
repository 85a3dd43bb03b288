import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import type { JobDelivery, JobQueue } from '@voelgoed/contracts';
import { MemoryJobQueue } from '@voelgoed/contracts/memory';
import { createHttpClient, type ResilientHttpClient } from '@voelgoed/http';
import { createRedisJobQueue } from '@voelgoed/queue';
import { createRedisClient, hashTag, type RedisClient } from '@voelgoed/redis';
import {
  type HttpServer,
  type RedisServer,
  startHttpServer,
  startRedis,
  stopAll,
  waitFor,
} from '@voelgoed/testkit';
import { instrumentTracing, type TracingInstrumentation } from '../src/tracing/index.js';
import { startTraceKit, type TraceKit } from './trace-kit.js';

// A job's consumer span is linked to its producer's span, on the Redis queue and its memory
// twin; what the handler calls (Redis, HTTP) are the consumer span's children; a retried job's
// second delivery links to the same producer; a job enqueued without tracing carries nothing.

const LONG = 60_000;
let kit: TraceKit;
let tracing: TracingInstrumentation;
let redisServer: RedisServer;
let redis: RedisClient;
let receiver: HttpServer;
let http: ResilientHttpClient;
const queues: JobQueue[] = [];

beforeAll(async () => {
  kit = startTraceKit();
  tracing = instrumentTracing({ tracerProvider: kit.provider });
  redisServer = await startRedis();
  redis = createRedisClient({ url: redisServer.url });
  await redis.ready();
  receiver = await startHttpServer();
  http = createHttpClient({ retry: { limit: 0 } });
}, LONG);

afterEach(async () => {
  await Promise.all(queues.splice(0).map((q) => q.close({ graceMs: 0 })));
});

afterAll(async () => {
  tracing?.stop();
  kit?.close();
  await http?.close();
  await receiver?.stop();
  await redis?.close();
  await stopAll();
});

const drivers = [
  ['redis', (name: string): JobQueue => createRedisJobQueue(redis, name)],
  ['memory', (name: string): JobQueue => new MemoryJobQueue(name)],
] as const;

function open(make: (name: string) => JobQueue): JobQueue {
  const queue = make(`traced-${randomUUID()}`);
  queues.push(queue);
  return queue;
}

const spansOf = (queue: JobQueue, operation: 'send' | 'process') =>
  kit
    .spans()
    .filter(
      (s) =>
        s.attributes['messaging.destination.name'] === queue.name &&
        s.attributes['messaging.operation.type'] === operation,
    );

/** Waits until `n` consumer spans of `queue` ended (a span ends once its outcome is known). */
const processed = (queue: JobQueue, n: number) =>
  waitFor(`${n} process spans`, async () => {
    const spans = spansOf(queue, 'process');
    return spans.length >= n ? spans : undefined;
  });

const linkedTo = (span: ReadableSpan | undefined, producer: ReadableSpan | undefined) => {
  expect(span?.links).toHaveLength(1);
  expect(span?.links[0]?.context.traceId).toBe(producer?.spanContext().traceId);
  expect(span?.links[0]?.context.spanId).toBe(producer?.spanContext().spanId);
};

describe.each(drivers)('%s queue spans', (driver, make) => {
  it(
    'a PRODUCER span per enqueue; the CONSUMER span is a root linked to it; what the handler calls are its children',
    async () => {
      kit.exporter.reset();
      const queue = open(make);
      const key = `traced:${randomUUID()}`;
      let seen: string | undefined;
      queue.process(async (job: JobDelivery) => {
        await redis.set(key, 'v');
        await http.get(receiver.url);
        seen = job.id;
      });
      const { id, requestSpan } = await kit.tracer.startActiveSpan('request', async (span) => {
        const result = await queue.enqueue({ n: 1 }, { id: 'job-1' });
        span.end();
        return { id: result.id, requestSpan: span };
      });
      const [consumer] = await processed(queue, 1);
      expect(seen).toBe(id);
      const [producer] = spansOf(queue, 'send');
      expect(producer?.name).toBe(`send ${queue.name}`);
      expect(producer?.kind).toBe(SpanKind.PRODUCER);
      expect(producer?.parentSpanContext?.spanId).toBe(requestSpan.spanContext().spanId);
      expect(producer?.attributes).toMatchObject({
        'messaging.system': 'voelgoed',
        'messaging.operation.type': 'send',
        'messaging.operation.name': 'enqueue',
        'messaging.message.id': 'job-1',
      });
      expect(consumer?.name).toBe(`process ${queue.name}`);
      expect(consumer?.kind).toBe(SpanKind.CONSUMER);
      expect(consumer?.parentSpanContext).toBeUndefined();
      expect(consumer?.spanContext().traceId).not.toBe(producer?.spanContext().traceId);
      linkedTo(consumer, producer);
      expect(consumer?.attributes).toMatchObject({
        'messaging.system': 'voelgoed',
        'messaging.operation.type': 'process',
        'messaging.message.id': 'job-1',
        'voelgoed.queue.attempt': 1,
        'voelgoed.queue.delivery_token': expect.any(Number),
        'voelgoed.queue.outcome': 'completed',
      });
      // The handler's own calls: children of the consumer span.
      const children = kit
        .spans()
        .filter((s) => s.parentSpanContext?.spanId === consumer?.spanContext().spanId);
      const set = children.find((s) => s.name === 'SET');
      const get = children.find((s) => s.attributes['http.request.method'] === 'GET');
      expect(set?.kind).toBe(SpanKind.CLIENT);
      expect(get?.kind).toBe(SpanKind.CLIENT);
      const traceparent = String(receiver.requests.at(-1)?.headers.traceparent);
      expect(traceparent).toBe(`00-${consumer?.spanContext().traceId}-${get?.spanContext().spanId}-01`);
    },
    LONG,
  );

  it(
    "a retried job's second delivery links to the same producer span",
    async () => {
      kit.exporter.reset();
      const queue = open(make);
      let calls = 0;
      queue.process(async () => {
        calls += 1;
        if (calls === 1) throw Object.assign(new Error('first try fails'), { code: 'FLAKY' });
      });
      await kit.tracer.startActiveSpan('request', async (span) => {
        await queue.enqueue('retry me', { attempts: 2, backoff: { initialMs: 0 } });
        span.end();
      });
      const spans = await processed(queue, 2);
      const [producer] = spansOf(queue, 'send');
      const first = spans.find((s) => s.attributes['voelgoed.queue.attempt'] === 1);
      const second = spans.find((s) => s.attributes['voelgoed.queue.attempt'] === 2);
      linkedTo(first, producer);
      linkedTo(second, producer);
      expect(first?.attributes['voelgoed.queue.outcome']).toBe('retried');
      expect(first?.attributes['error.type']).toBe('FLAKY');
      expect(first?.status.code).toBe(SpanStatusCode.ERROR);
      expect(second?.attributes['voelgoed.queue.outcome']).toBe('completed');
      // Tokens come from the queue's counter: the second delivery's is the higher.
      expect(second?.attributes['voelgoed.queue.delivery_token']).toBeGreaterThan(
        first?.attributes['voelgoed.queue.delivery_token'] as number,
      );
      expect(second?.status.code).not.toBe(SpanStatusCode.ERROR);
    },
    LONG,
  );

  it(
    'enqueueMany: one PRODUCER span with the batch size; every job links to it; a last failure is dead_lettered',
    async () => {
      kit.exporter.reset();
      const queue = open(make);
      queue.process(async (job: JobDelivery) => {
        if (job.payload === 3) throw new Error('no');
      });
      await queue.enqueueMany([1, 2, 3].map((payload) => ({ payload, options: { attempts: 1 } })));
      const spans = await processed(queue, 3);
      const [producer, ...more] = spansOf(queue, 'send');
      expect(more).toHaveLength(0);
      expect(producer?.parentSpanContext).toBeUndefined();
      expect(producer?.attributes['messaging.batch.message_count']).toBe(3);
      expect(producer?.attributes['messaging.operation.name']).toBe('enqueueMany');
      for (const span of spans) linkedTo(span, producer);
      expect(spans.map((s) => s.attributes['voelgoed.queue.outcome']).sort()).toEqual([
        'completed',
        'completed',
        'dead_lettered',
      ]);
    },
    LONG,
  );

  it(
    'a job enqueued with no tracing carries no context: its consumer span has no link',
    async () => {
      kit.exporter.reset();
      const queue = open(make);
      tracing = instrumentTracing({ tracerProvider: kit.provider, queue: false });
      try {
        await kit.tracer.startActiveSpan('request', async (span) => {
          await queue.enqueue('untraced', { id: 'plain' });
          span.end();
        });
      } finally {
        tracing = instrumentTracing({ tracerProvider: kit.provider });
      }
      await queue.enqueue('traced', { id: 'traced' });
      if (driver === 'redis') {
        // Only a traced enqueue stores a carrier in the job hash.
        const tag = hashTag(`queue:${queue.name}`);
        expect(await redis.command(['HEXISTS', `${tag}:j:plain`, 'tc'])).toBe(0);
        expect(await redis.command(['HEXISTS', `${tag}:j:traced`, 'tc'])).toBe(1);
      }
      queue.process(async () => {});
      const spans = await processed(queue, 2);
      const plain = spans.find((s) => s.attributes['messaging.message.id'] === 'plain');
      const traced = spans.find((s) => s.attributes['messaging.message.id'] === 'traced');
      expect(plain?.links).toHaveLength(0);
      expect(spansOf(queue, 'send')).toHaveLength(1);
      linkedTo(traced, spansOf(queue, 'send')[0]);
    },
    LONG,
  );
});
