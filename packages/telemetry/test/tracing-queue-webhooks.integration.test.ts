import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { SpanKind } from '@opentelemetry/api';
import type { JobQueue } from '@voelgoed/contracts';
import { MemoryJobQueue } from '@voelgoed/contracts/memory';
import { createDurableWebhookSender, type DurableWebhookSender, type WebhookOutcome } from '@voelgoed/http';
import { createRedisJobQueue } from '@voelgoed/queue';
import { createRedisClient, type RedisClient } from '@voelgoed/redis';
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

// Durable webhooks: the sender's context travels with the delivery jobs; the attempt made in the
// consumer span carries a traceparent of that span's trace; a retry's job links to the attempt
// that stored it. No webhook secret, signature or Authorization value in any span.

const LONG = 60_000;
const SECRET = `whsec_${Buffer.from('traced-durable-signing-key-42').toString('base64')}`;
const AUTH = 'Bearer sender-only-token-9f8e7d';
let kit: TraceKit;
let tracing: TracingInstrumentation;
let redisServer: RedisServer;
let redis: RedisClient;
let receiver: HttpServer;
const queues: JobQueue[] = [];
const senders: DurableWebhookSender[] = [];

beforeAll(async () => {
  kit = startTraceKit();
  tracing = instrumentTracing({ tracerProvider: kit.provider });
  redisServer = await startRedis();
  redis = createRedisClient({ url: redisServer.url });
  await redis.ready();
  receiver = await startHttpServer();
}, LONG);

afterEach(async () => {
  await Promise.all(senders.splice(0).map((s) => s.close({ graceMs: 0 })));
  await Promise.all(queues.splice(0).map((q) => q.close({ graceMs: 0 })));
});

afterAll(async () => {
  tracing?.stop();
  kit?.close();
  await receiver?.stop();
  await redis?.close();
  await stopAll();
});

describe.each([
  ['redis', (name: string): JobQueue => createRedisJobQueue(redis, name)],
  ['memory', (name: string): JobQueue => new MemoryJobQueue(name)],
] as const)('durable webhooks on the %s queue', (_driver, make) => {
  it(
    "the receiver gets a traceparent of the consumer span's trace, linked to the sender's span; a retry links to the attempt before",
    async () => {
      kit.exporter.reset();
      receiver.requests.length = 0;
      let calls = 0;
      receiver.setHandler((_req, res) => {
        calls += 1;
        res.writeHead(calls === 1 ? 503 : 200).end();
      });
      const queue = make(`webhooks-${randomUUID()}`);
      queues.push(queue);
      const outcomes: WebhookOutcome[] = [];
      const sender = createDurableWebhookSender(queue, {
        secret: SECRET,
        allowHttp: true,
        allowPrivateNetworks: true,
        schedule: [10],
        headers: { authorization: AUTH },
        onOutcome: (o) => outcomes.push(o),
      });
      senders.push(sender);
      sender.start();
      const request = await kit.tracer.startActiveSpan('checkout', async (span) => {
        await sender.deliver({ url: `${receiver.url}hooks`, payload: { order: 42 } });
        span.end();
        return span;
      });
      await waitFor('delivered', async () => (outcomes.length > 0 ? true : undefined));
      const processes = await waitFor('two consumer spans', async () => {
        const spans = kit.spans().filter((s) => s.name === `process ${queue.name}`);
        return spans.length >= 2 ? spans : undefined;
      });
      expect(outcomes[0]?.outcome).toBe('delivered');
      expect(receiver.requests).toHaveLength(2);
      const sends = kit.spans().filter((s) => s.name === `send ${queue.name}`);
      const first = processes.find((s) => s.attributes['messaging.message.id'] === `${outcomes[0]?.id}#1`);
      const second = processes.find((s) => s.attributes['messaging.message.id'] === `${outcomes[0]?.id}#2`);
      // The deliver() call's PRODUCER span is the sender's span's child; attempt 1 links to it.
      const deliverSend = sends.find((s) => s.parentSpanContext?.spanId === request.spanContext().spanId);
      expect(deliverSend?.kind).toBe(SpanKind.PRODUCER);
      expect(first?.links[0]?.context.spanId).toBe(deliverSend?.spanContext().spanId);
      expect(first?.links[0]?.context.traceId).toBe(request.spanContext().traceId);
      // Attempt 2 was stored inside attempt 1's consumer span: it links to that enqueue.
      const retrySend = sends.find((s) => s.parentSpanContext?.spanId === first?.spanContext().spanId);
      expect(second?.links[0]?.context.spanId).toBe(retrySend?.spanContext().spanId);
      // Each attempt's traceparent belongs to its consumer span's trace (an HTTP child span).
      for (const [i, consumer] of [first, second].entries()) {
        const traceparent = String(receiver.requests[i]?.headers.traceparent);
        const [, traceId, spanId] = traceparent.split('-');
        expect(traceId).toBe(consumer?.spanContext().traceId);
        const http = kit.spans().find((s) => s.spanContext().spanId === spanId);
        expect(http?.kind).toBe(SpanKind.CLIENT);
        expect(http?.parentSpanContext?.spanId).toBe(consumer?.spanContext().spanId);
      }
      // No secret in any span: the signing secret, the signatures sent, the Authorization value.
      const dump = kit.dump();
      expect(dump).not.toContain(SECRET);
      expect(dump).not.toContain(SECRET.slice('whsec_'.length));
      expect(dump).not.toContain('sender-only-token');
      for (const r of receiver.requests) {
        const signature = String(r.headers['webhook-signature']);
        expect(signature.length).toBeGreaterThan(10);
        expect(dump).not.toContain(signature.split(',')[1]);
      }
    },
    LONG,
  );
});
