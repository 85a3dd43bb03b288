import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { isInfrastructureError } from '@voelgoed/contracts';
import { createHttpClient, type ResilientHttpClient } from '@voelgoed/http';
import { faults, type HttpServer, startHttpServer } from '@voelgoed/testkit';
import { createTelemetry, MetricNames, type Telemetry } from '../src/index.js';
import { parseExposition, value } from './exposition.js';

// The real @voelgoed/http client against a local node:http server from the test kit.

let server: HttpServer;
let telemetry: Telemetry;
const clients: ResilientHttpClient[] = [];
function client(options: Parameters<typeof createHttpClient>[0]): ResilientHttpClient {
  const c = createHttpClient(options);
  clients.push(c);
  return c;
}
const settle = (p: Promise<unknown>) =>
  p.then(
    () => undefined,
    (error: unknown) => error,
  );

beforeAll(async () => {
  server = await startHttpServer();
});
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await telemetry?.close();
});
afterAll(async () => {
  await server?.stop();
});

describe('@voelgoed/http → http client metrics', () => {
  it('records one duration per attempt with method, server, status and outcome, and the retry', async () => {
    telemetry = createTelemetry();
    server.setHandler(faults.statusSequence([503, 200]));
    const http = client({ retry: { limit: 2, baseDelayMs: 1 }, circuitBreaker: false });
    const response = await http.get(`${server.url}/orders/123?secret=x`);
    expect(response.status).toBe(200);

    const s = parseExposition(await telemetry.scrape());
    const where = {
      http_request_method: 'GET',
      server_address: '127.0.0.1',
      server_port: String(server.port),
    };
    const d = `${MetricNames.httpRequestDuration}_count`;
    expect(
      value(s, d, {
        ...where,
        http_response_status_code: '503',
        outcome: 'error',
        error_type: 'HTTP_STATUS',
      }),
    ).toBe(1);
    expect(value(s, d, { ...where, http_response_status_code: '200', outcome: 'ok' })).toBe(1);
    expect(value(s, MetricNames.httpRetries, { ...where, reason: '503' })).toBe(1);
    // Paths and query strings never become labels.
    expect(JSON.stringify(s)).not.toMatch(/orders|secret/);
  });

  it('tracks the circuit breaker state per origin and counts transitions', async () => {
    telemetry = createTelemetry();
    server.setHandler(faults.json(500, { error: 'down' }));
    // Open for 2 s: the third call and the scrape must come while it is open, which a loaded
    // machine's event-loop stall (up to ~0.5 s in full runs) must not outlast.
    const http = client({ retry: false, circuitBreaker: { consecutiveFailures: 2, openMs: 2000 } });
    await settle(http.get(server.url));
    await settle(http.get(server.url));
    const open = await settle(http.get(server.url));
    expect(isInfrastructureError(open, 'CIRCUIT_OPEN')).toBe(true);
    const origin = { server_address: '127.0.0.1', server_port: String(server.port) };
    let s = parseExposition(await telemetry.scrape());
    expect(value(s, MetricNames.httpCircuitState, origin)).toBe(2);
    expect(value(s, MetricNames.httpCircuitTransitions, { ...origin, state: 'open' })).toBe(1);

    // Wait until it half-opens (after openMs).
    while (http.circuitState(server.origin) === 'open') {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    server.setHandler(faults.json(200, { ok: true }));
    await http.get(server.url);
    s = parseExposition(await telemetry.scrape());
    expect(value(s, MetricNames.httpCircuitState, origin)).toBe(0);
    expect(value(s, MetricNames.httpCircuitTransitions, { ...origin, state: 'half_open' })).toBe(1);
    expect(value(s, MetricNames.httpCircuitTransitions, { ...origin, state: 'closed' })).toBe(1);
  });

  it('shows bulkhead depth while requests wait, and counts rejections', async () => {
    telemetry = createTelemetry();
    server.setHandler(faults.delay(300, faults.json(200, { ok: true })));
    const http = client({
      retry: false,
      circuitBreaker: false,
      bulkhead: { maxConcurrent: 1, maxQueued: 1 },
    });
    const calls = [http.get(server.url), http.get(server.url), http.get(server.url)].map(settle);
    const rejected = await calls[2];
    expect(isInfrastructureError(rejected, 'RATE_LIMITED')).toBe(true);
    const origin = { server_address: '127.0.0.1', server_port: String(server.port) };
    let s = parseExposition(await telemetry.scrape());
    expect(value(s, MetricNames.httpBulkheadActive, origin)).toBe(1);
    expect(value(s, MetricNames.httpBulkheadQueued, origin)).toBe(1);
    expect(value(s, MetricNames.httpBulkheadRejected, origin)).toBe(1);
    expect(await calls[0]).toBeUndefined();
    expect(await calls[1]).toBeUndefined();
    s = parseExposition(await telemetry.scrape());
    expect(value(s, MetricNames.httpBulkheadQueued, origin)).toBe(0);
  });
});
