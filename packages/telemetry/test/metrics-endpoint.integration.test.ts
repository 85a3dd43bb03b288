import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from '@jest/globals';
import { isInfrastructureError } from '@voelgoed/contracts';
import { createHttpClient } from '@voelgoed/http';
import { createRedisLock } from '@voelgoed/lock';
import { createRedisClient } from '@voelgoed/redis';
import { createFsStorage } from '@voelgoed/storage';
import { startHttpServer, startRedis } from '@voelgoed/testkit';
import { createMetricsHandler, createTelemetry, MetricNames, OTHER, type Telemetry } from '../src/index.js';
import { find, parseExposition, types, value } from './exposition.js';

const open: Telemetry[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((t) => t.close()));
});
function telemetry(options: Parameters<typeof createTelemetry>[0] = {}): Telemetry {
  const t = createTelemetry(options);
  open.push(t);
  return t;
}
async function rejection(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    () => undefined,
    (error: unknown) => error,
  );
}

describe('/metrics endpoint', () => {
  const cleanup: (() => Promise<unknown>)[] = [];
  afterAll(async () => {
    for (const c of cleanup.reverse()) await c();
  });

  it('is one call away, and a scrape shows metrics from all four adapters', async () => {
    const t = telemetry({ defaultMetrics: true });
    const endpoint = await t.serve({ port: 0 });

    const redisServer = await startRedis();
    cleanup.push(() => redisServer.stop());
    const redis = createRedisClient({ url: redisServer.url });
    cleanup.push(() => redis.close());
    await redis.command(['SET', 'k', 'v']);

    const locks = createRedisLock({ urls: [redisServer.url] });
    cleanup.push(() => locks.close());
    await locks.withLock('resource', async () => 'done');

    const httpServer = await startHttpServer();
    cleanup.push(() => httpServer.stop());
    const http = createHttpClient({});
    cleanup.push(() => http.close());
    await http.get(httpServer.url);

    const dir = await mkdtemp(path.join(tmpdir(), 'voelgoed-telemetry-'));
    cleanup.push(() => rm(dir, { recursive: true, force: true }));
    await createFsStorage({ root: dir }).put('a.txt', 'hello');

    const response = await fetch(endpoint.url);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    const text = await response.text();
    const s = parseExposition(text);
    for (const name of [
      MetricNames.redisCommandDuration,
      MetricNames.lockAcquireDuration,
      MetricNames.lockHeldDuration,
      MetricNames.httpRequestDuration,
      MetricNames.storageOperationDuration,
    ]) {
      expect(find(s, `${name}_count`).length).toBeGreaterThan(0);
    }
    expect(types(text).get('process_cpu_user_seconds_total')).toBe('counter');
  });

  it('answers only its path, GET and HEAD; HEAD has no body', async () => {
    const t = telemetry();
    const endpoint = await t.serve({ port: 0, path: '/internal/metrics' });
    expect(endpoint.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/internal\/metrics$/);
    expect((await fetch(endpoint.url.replace('/internal/metrics', '/'))).status).toBe(404);
    const post = await fetch(endpoint.url, { method: 'POST' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD');
    const head = await fetch(endpoint.url, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(await head.text()).toBe('');
    expect((await fetch(`${endpoint.url}?x=1`)).status).toBe(200);
  });

  it('metricsHandler() plugs into any node:http server (express takes it the same way)', async () => {
    const t = telemetry({ events: false });
    t.counter('jobs.done').add(3);
    const handler = t.metricsHandler();
    const server = createServer((req, res) => {
      if (req.url === '/metrics') void handler(req, res);
      else res.writeHead(404).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      expect(text).toContain('jobs_done_total 3');
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('answers 500 without details when collecting fails', async () => {
    const t = telemetry({ events: false });
    t.registry.registerMetric({
      name: 'exploding',
      get: () => Promise.reject(new Error('secret detail')),
    } as unknown as Parameters<typeof t.registry.registerMetric>[0]);
    const endpoint = await t.serve({ port: 0 });
    const response = await fetch(endpoint.url);
    expect(response.status).toBe(500);
    expect(await response.text()).not.toContain('secret');
    t.registry.removeSingleMetric('exploding');
  });

  it('close() stops the servers serve() started', async () => {
    const t = createTelemetry({ events: false });
    const endpoint = await t.serve({ port: 0 });
    expect((await fetch(endpoint.url)).status).toBe(200);
    await t.close();
    expect((await rejection(fetch(endpoint.url))) as Error).toMatchObject({ message: 'fetch failed' });
    expect(isInfrastructureError(await rejection(t.serve({ port: 0 })), 'INVALID_ARGUMENT')).toBe(true);
  });

  it('rejects bad serve() options with INVALID_ARGUMENT and a taken port with CONNECTION', async () => {
    const t = telemetry({ events: false });
    for (const bad of [
      { port: -1 },
      { port: 70000 },
      { port: 1.5 },
      { port: 0, path: 'metrics' },
      { port: 0, host: '' },
      // The probes' own paths: metrics on /readyz answered 200 to a readiness probe while the
      // resources were down. A query or a fragment can never match a request's path.
      { port: 0, path: '/readyz' },
      { port: 0, path: '/healthz' },
      { port: 0, path: '/metrics?x' },
      { port: 0, path: '/metrics#x' },
      { port: 0, path: '/met rics' },
      { port: 0, prot: 1 },
    ]) {
      expect(isInfrastructureError(await rejection(t.serve(bad as never)), 'INVALID_ARGUMENT')).toBe(true);
    }
    expect(((await rejection(t.serve({ port: 0, prot: 1 } as never))) as Error).message).toContain('prot');
    const first = await t.serve({ port: 0 });
    const taken = await rejection(t.serve({ port: first.port }));
    expect(isInfrastructureError(taken, 'CONNECTION')).toBe(true);
    expect((taken as Error).message).toMatch(/^\[voelgoed:telemetry\] serve\(\): cannot listen/);
    await first.close();
  });

  it('answers despite an observable callback that never settles, and counts it', async () => {
    const t = telemetry({ events: false, callbackTimeoutMs: 50 });
    t.observableGauge('stuck', () => new Promise<void>(() => {}));
    t.observableGauge('pool.size', (r) => r.observe(4));
    const endpoint = await t.serve({ port: 0 });
    const handler = t.metricsHandler();
    const server = createServer((req, res) => void handler(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      for (const url of [endpoint.url, `http://127.0.0.1:${port}/metrics`]) {
        const first = await fetch(url);
        expect(first.status).toBe(200);
        expect(value(parseExposition(await first.text()), 'pool_size')).toBe(4);
        const second = await fetch(url);
        expect(second.status).toBe(200);
        const s = parseExposition(await second.text());
        expect(value(s, MetricNames.callbackTimeouts, { metric: 'stuck' })).toBeGreaterThanOrEqual(1);
        expect(value(s, 'pool_size')).toBe(4);
      }
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('serves at most the series cap plus one overflow series per metric', async () => {
    const t = telemetry({ events: false, maxSeriesPerMetric: 50 });
    const c = t.counter('requests', { labelNames: ['route', 'method', 'status'] });
    for (let r = 0; r < 100; r++) {
      for (let m = 0; m < 100; m++) c.bind({ route: `/r${r}`, method: `M${m}`, status: 200 + r }).add();
    }
    const endpoint = await t.serve({ port: 0 });
    const text = await (await fetch(endpoint.url)).text();
    const s = parseExposition(text);
    expect(find(s, 'requests_total')).toHaveLength(51);
    expect(value(s, 'requests_total', { route: OTHER, method: OTHER, status: OTHER })).toBe(10_000 - 50);
    expect(text.length).toBeLessThan(64 * 1024);
  });

  it('answers 503 when a collector registered by others never settles, and serves again once it is gone', async () => {
    const t = telemetry({ events: false, callbackTimeoutMs: 20, scrapeTimeoutMs: 100 });
    t.gauge('up').set(1);
    t.registry.registerMetric({
      name: 'foreign',
      get: () => new Promise(() => {}),
    } as unknown as Parameters<typeof t.registry.registerMetric>[0]);
    const endpoint = await t.serve({ port: 0 });
    const stuck = await fetch(endpoint.url);
    expect(stuck.status).toBe(503);
    expect(await stuck.text()).toBe('[voelgoed:telemetry] collecting metrics timed out\n');
    t.registry.removeSingleMetric('foreign');
    const fine = await fetch(endpoint.url);
    expect(fine.status).toBe(200);
    expect(value(parseExposition(await fine.text()), 'up')).toBe(1);
  });

  it('createMetricsHandler() rejects bad options with INVALID_ARGUMENT', () => {
    const t = telemetry({ events: false });
    for (const timeoutMs of [0, -1, Number.NaN, '5']) {
      let caught: unknown;
      try {
        createMetricsHandler(t.registry, { timeoutMs: timeoutMs as number });
      } catch (error) {
        caught = error;
      }
      expect(isInfrastructureError(caught, 'INVALID_ARGUMENT')).toBe(true);
    }
  });
});
