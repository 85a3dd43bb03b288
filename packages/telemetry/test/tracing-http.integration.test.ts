import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { isInfrastructureError } from '@voelgoed/contracts';
import { createHttpClient, type ResilientHttpClient } from '@voelgoed/http';
import {
  faults,
  getFreePort,
  type HttpServer,
  type RecordedRequest,
  startHttpServer,
} from '@voelgoed/testkit';
import { instrumentTracing } from '../src/tracing/index.js';
import { startTracing, type TracingHarness } from './tracing-setup.js';

// The real @voelgoed/http client (got and undici transports) against a local node:http server.

let server: HttpServer;
let tracing: TracingHarness;
const clients: ResilientHttpClient[] = [];

beforeAll(async () => {
  server = await startHttpServer();
  tracing = startTracing();
});
beforeEach(() => {
  tracing.exporter.reset();
  server.requests.length = 0;
});
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
});
afterAll(async () => {
  await tracing?.close();
  await server?.stop();
});

/** `00-<trace id>-<parent span id>-<flags>` of a request the server received. */
function traceparentOf(request: RecordedRequest | undefined): { traceId: string; parentId: string } {
  const header = request?.headers.traceparent;
  expect(typeof header).toBe('string');
  const [version, traceId, parentId, flags] = (header as string).split('-');
  expect(version).toBe('00');
  expect(flags).toBe('01');
  return { traceId: traceId!, parentId: parentId! };
}

function expectAttemptOf(span: ReadableSpan | undefined, request: RecordedRequest | undefined): void {
  const { traceId, parentId } = traceparentOf(request);
  expect(span!.spanContext().traceId).toBe(traceId);
  expect(span!.spanContext().spanId).toBe(parentId);
}

describe.each(['got', 'undici'] as const)('HTTP attempt spans (%s transport)', (transport) => {
  const client = (options: Parameters<typeof createHttpClient>[0] = {}) => {
    const c = createHttpClient({ transport, circuitBreaker: false, ...options });
    clients.push(c);
    return c;
  };

  it('gives an attempt a CLIENT span under the caller’s span, and its traceparent reaches the server', async () => {
    server.setHandler(faults.statusSequence([200]));
    const http = client();
    const { parent } = await tracing.underParent(() =>
      http.get(`${server.origin}/orders/42?token=query-secret`, { route: '/orders/:id' }),
    );
    const [span] = tracing.spans();
    expect(tracing.spans()).toHaveLength(1);
    expect(span!.name).toBe('GET /orders/:id');
    expect(span!.kind).toBe(SpanKind.CLIENT);
    expect(span!.attributes).toEqual({
      'http.request.method': 'GET',
      'url.full': `http://127.0.0.1:${server.port}/orders/42`,
      'url.template': '/orders/:id',
      'server.address': '127.0.0.1',
      'server.port': server.port,
      'http.response.status_code': 200,
    });
    expect(span!.parentSpanContext?.spanId).toBe(parent.spanContext().spanId);
    expect(span!.status.code).toBe(SpanStatusCode.UNSET);
    expectAttemptOf(span, server.requests[0]);
    expect(traceparentOf(server.requests[0]).traceId).toBe(parent.spanContext().traceId);
  });

  it('gives each retry its own span with a rising resend_count and its own traceparent', async () => {
    server.setHandler(faults.statusSequence([503, 502, 200]));
    const http = client({ retry: { limit: 3, baseDelayMs: 1, maxDelayMs: 5 } });
    const response = await tracing.underParent(() => http.get(`${server.origin}/flaky`));
    expect(response.value.status).toBe(200);
    const spans = tracing
      .spans('GET')
      .sort((a, b) => a.startTime[0] - b.startTime[0] || a.startTime[1] - b.startTime[1]);
    expect(spans).toHaveLength(3);
    expect(spans.map((s) => s.attributes['http.request.resend_count'])).toEqual([undefined, 1, 2]);
    expect(spans.map((s) => s.attributes['http.response.status_code'])).toEqual([503, 502, 200]);
    expect(spans.map((s) => s.attributes['error.type'])).toEqual(['503', '502', undefined]);
    expect(spans.map((s) => s.status.code)).toEqual([
      SpanStatusCode.ERROR,
      SpanStatusCode.ERROR,
      SpanStatusCode.UNSET,
    ]);
    expect(server.requests).toHaveLength(3);
    for (const [i, span] of spans.entries()) expectAttemptOf(span, server.requests[i]);
    const parentId = response.parent.spanContext().spanId;
    for (const span of spans) expect(span.parentSpanContext?.spanId).toBe(parentId);
  });

  it('traces a streamed response and a POST through the other code path too', async () => {
    server.setHandler(faults.statusSequence([201]));
    const http = client();
    const streamed = await http.stream({ method: 'GET', url: `${server.origin}/stream` });
    streamed.body.resume();
    await new Promise((resolve) => streamed.body.once('close', resolve));
    await http.post(`${server.origin}/items`, { json: { a: 1 } });
    const spans = tracing.spans();
    expect(spans.map((s) => s.name).sort()).toEqual(['GET', 'POST']);
    expectAttemptOf(tracing.spans('GET')[0], server.requests[0]);
    expectAttemptOf(tracing.spans('POST')[0], server.requests[1]);
    expect(tracing.spans('POST')[0]!.attributes['http.response.status_code']).toBe(201);
  });

  it('gives a failed attempt (nothing listening) its error type', async () => {
    const port = await getFreePort();
    const http = client({ retry: false });
    const error = await http.get(`http://127.0.0.1:${port}/down`).catch((e: unknown) => e);
    expect(isInfrastructureError(error, 'CONNECTION')).toBe(true);
    const [span] = tracing.spans();
    expect(span!.attributes['error.type']).toBe('CONNECTION');
    expect(span!.attributes['server.port']).toBe(port);
    expect(span!.attributes['http.response.status_code']).toBeUndefined();
    expect(span!.status).toEqual({ code: SpanStatusCode.ERROR, message: 'CONNECTION' });
  });

  it('keeps a traceparent the caller set itself (and sends no tracestate of ours with it)', async () => {
    server.setHandler(faults.statusSequence([200]));
    const own = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    await tracing.underParent(() => client().get(`${server.origin}/own`, { headers: { traceparent: own } }));
    expect(server.requests[0]!.headers.traceparent).toBe(own);
    expect(tracing.spans()).toHaveLength(1);
  });
});

describe('HTTP without tracing', () => {
  it('sends no traceparent once tracing is stopped', async () => {
    server.setHandler(faults.statusSequence([200]));
    tracing.instrumentation.stop();
    try {
      const http = createHttpClient({ transport: 'undici' });
      clients.push(http);
      await tracing.underParent(() => http.get(`${server.origin}/plain`));
      expect(server.requests[0]!.headers.traceparent).toBeUndefined();
      expect(tracing.spans('GET')).toHaveLength(0);
    } finally {
      tracing.instrumentation = instrumentTracing({ tracerProvider: tracing.provider });
    }
  });
});
