import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { createRedisClient, type RedisClient } from '@voelgoed/redis';
import { type RedisCluster, type RedisServer, startRedis, startRedisCluster } from '@voelgoed/testkit';
import { instrumentTracing } from '../src/tracing/index.js';
import { startTracing, type TracingHarness } from './tracing-setup.js';

// Redis spans come from node-redis's tracing channels: published by node-redis itself in a
// Cluster, and by @voelgoed/redis's own connection for a standalone server.

let server: RedisServer;
let cluster: RedisCluster;
let standalone: RedisClient;
let clustered: RedisClient;
let tracing: TracingHarness;

beforeAll(async () => {
  [server, cluster] = await Promise.all([startRedis(), startRedisCluster()]);
  standalone = createRedisClient({ url: server.url });
  clustered = createRedisClient({ cluster: { nodes: cluster.seeds.slice(0, 1) } });
  await Promise.all([standalone.ready(), clustered.ready()]);
  tracing = startTracing();
});
afterAll(async () => {
  await tracing?.close();
  await Promise.all([standalone?.close(), clustered?.close()]);
  await Promise.all([server?.stop(), cluster?.stop()]);
});
beforeEach(() => tracing.exporter.reset());

const ports = () => new Set(cluster.nodes.map((n) => n.port));

function expectDbSpan(span: ReadableSpan | undefined, operation: string, port: number | Set<number>): void {
  expect(span).toBeDefined();
  expect(span!.kind).toBe(SpanKind.CLIENT);
  expect(span!.attributes).toMatchObject({
    'db.system.name': 'redis',
    'db.operation.name': operation,
    'db.namespace': '0',
    'server.address': '127.0.0.1',
  });
  const actual = span!.attributes['server.port'] as number;
  if (typeof port === 'number') expect(actual).toBe(port);
  else expect(port.has(actual)).toBe(true);
}

const deployments = [
  ['standalone', () => standalone, () => server.port as number | Set<number>],
  ['Cluster', () => clustered, ports],
] as const;

describe.each(deployments)('Redis spans (%s)', (_name, client, port) => {
  it('gives each command a CLIENT span under the caller’s span, named after the command, no arguments', async () => {
    const key = `{t}:span-${Math.random()}`;
    const { parent } = await tracing.underParent(async () => {
      await client().command(['SET', key, 'value-not-recorded']);
      await client().command(['GET', key]);
    });
    const [set] = tracing.spans('SET');
    const [get] = tracing.spans('GET');
    expectDbSpan(set, 'SET', port());
    expectDbSpan(get, 'GET', port());
    expect(set!.parentSpanContext?.spanId).toBe(parent.spanContext().spanId);
    expect(set!.spanContext().traceId).toBe(parent.spanContext().traceId);
    expect(get!.attributes['db.operation.batch.size']).toBeUndefined();
    const text = JSON.stringify(tracing.spans().map((s) => s.attributes));
    expect(text).not.toContain(key);
    expect(text).not.toContain('value-not-recorded');
  });

  it('makes a MULTI/EXEC transaction one span with its size', async () => {
    const key = `{t}:multi-${Math.random()}`;
    await client().transaction([
      ['INCR', key],
      ['INCR', key],
      ['GET', key],
    ]);
    const batches = tracing.spans('MULTI');
    expect(batches).toHaveLength(1);
    expectDbSpan(batches[0], 'MULTI', port());
    expect(batches[0]!.attributes['db.operation.batch.size']).toBe(3);
    expect(tracing.spans('INCR')).toHaveLength(0);
  });

  it('gives a transaction whose command failed (transaction() rejects) the error type of that command', async () => {
    const key = `{t}:multi-wrong-${Math.random()}`;
    await expect(
      client().transaction([
        ['SET', key, 'x'],
        ['LPUSH', key, 'y'],
      ]),
    ).rejects.toMatchObject({ code: 'REDIS_REPLY' });
    const [span] = tracing.spans('MULTI');
    expectDbSpan(span, 'MULTI', port());
    expect(span!.attributes['error.type']).toBe('WRONGTYPE');
    expect(span!.attributes['db.response.status_code']).toBe('WRONGTYPE');
    expect(span!.status.code).toBe(SpanStatusCode.ERROR);
  });

  it('gives a failed command its error type and an error status', async () => {
    const key = `{t}:wrong-${Math.random()}`;
    await client().command(['SET', key, 'x']);
    await expect(client().command(['LPUSH', key, 'y'])).rejects.toThrow();
    const [span] = tracing.spans('LPUSH');
    expectDbSpan(span, 'LPUSH', port());
    expect(span!.attributes['error.type']).toBe('WRONGTYPE');
    expect(span!.attributes['db.response.status_code']).toBe('WRONGTYPE');
    expect(span!.status.code).toBe(SpanStatusCode.ERROR);
    expect(span!.status.message).toBe('WRONGTYPE');
  });
});

describe('Redis pipeline spans', () => {
  it('makes a pipeline on one server one PIPELINE span with its size, no span per command', async () => {
    const key = `pipe-${Math.random()}`;
    await standalone.pipeline([
      ['INCR', key],
      ['INCR', key],
      ['GET', key],
    ]);
    const batches = tracing.spans('PIPELINE');
    expect(batches).toHaveLength(1);
    expectDbSpan(batches[0], 'PIPELINE', server.port);
    expect(batches[0]!.attributes['db.operation.batch.size']).toBe(3);
    expect(tracing.spans('INCR')).toHaveLength(0);
    expect(tracing.spans('GET')).toHaveLength(0);
  });
});

describe('instrumentTracing', () => {
  it('called again replaces the first: one span per command, and none after stop()', async () => {
    const again = instrumentTracing({ tracerProvider: tracing.provider });
    await standalone.command(['PING']);
    expect(tracing.spans('PING')).toHaveLength(1);
    tracing.instrumentation.stop(); // the replaced one: does nothing
    await standalone.command(['PING']);
    expect(tracing.spans('PING')).toHaveLength(2);
    again.stop();
    await standalone.command(['PING']);
    expect(tracing.spans('PING')).toHaveLength(2);
    tracing.instrumentation = instrumentTracing({ tracerProvider: tracing.provider });
  });
});
