import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createRedisClient, type RedisClient } from '@voelgoed/redis';
import { type RedisServer, startRedis } from '@voelgoed/testkit';
import { createTelemetry, MetricNames, type Telemetry } from '../src/index.js';
import { find, parseExposition, value } from './exposition.js';

// The real @voelgoed/redis client against a real redis-server from the test kit.

let server: RedisServer;
let client: RedisClient;
let telemetry: Telemetry;

beforeAll(async () => {
  server = await startRedis();
  telemetry = createTelemetry();
  client = createRedisClient({ url: server.url });
  await client.ready();
});
afterAll(async () => {
  await client?.close();
  await telemetry?.close();
  await server?.stop();
});

describe('@voelgoed/redis → db_client_operation_duration_seconds', () => {
  it('records every command by name, server and outcome, pipelined ones included', async () => {
    const name = MetricNames.redisCommandDuration;
    const before = parseExposition(await telemetry.scrape());
    const where = { db_system_name: 'redis', server_address: '127.0.0.1', server_port: String(server.port) };
    const countOf = (samples: typeof before, op: string) =>
      value(samples, `${name}_count`, { ...where, db_operation_name: op, outcome: 'ok' }) ?? 0;

    await client.command(['SET', 'telemetry:k', '1']);
    for (let i = 0; i < 5; i++) await client.command(['GET', 'telemetry:k']);
    await client.pipeline([
      ['INCR', 'telemetry:n'],
      ['INCR', 'telemetry:n'],
      ['GET', 'telemetry:k'],
    ]);
    await expect(client.command(['LPUSH', 'telemetry:k', 'x'])).rejects.toThrow(); // WRONGTYPE

    const after = parseExposition(await telemetry.scrape());
    expect(countOf(after, 'SET') - countOf(before, 'SET')).toBe(1);
    expect(countOf(after, 'GET') - countOf(before, 'GET')).toBe(6);
    expect(countOf(after, 'INCR') - countOf(before, 'INCR')).toBe(2);
    const failed = find(after, `${name}_count`, { ...where, db_operation_name: 'LPUSH', outcome: 'error' });
    expect(failed).toHaveLength(1);
    expect(failed[0]!.value).toBe(1);
    expect(failed[0]!.labels.error_type).toMatch(/^[A-Z_]+$/);
    // Durations are real: the sum is positive and the +Inf bucket equals the count.
    const get = { ...where, db_operation_name: 'GET', outcome: 'ok' };
    expect(value(after, `${name}_sum`, get)).toBeGreaterThan(0);
    expect(value(after, `${name}_bucket`, { ...get, le: '+Inf' })).toBe(value(after, `${name}_count`, get));
    // No key, value or argument ever becomes a label.
    expect(JSON.stringify(after)).not.toContain('telemetry:k');
  });

  it('records nothing once telemetry is closed (the adapter is not told; it just has no subscriber)', async () => {
    const t = createTelemetry();
    const metric = t.registry.getSingleMetric(MetricNames.redisCommandDuration)!;
    const pings = async () =>
      (await metric.get()).values.filter(
        (v) =>
          (v as { metricName?: string }).metricName?.endsWith('_count') &&
          v.labels.db_operation_name === 'PING',
      )[0]?.value;
    await client.command(['PING']);
    expect(await pings()).toBe(1);
    await t.close();
    await client.command(['PING']);
    expect(await pings()).toBe(1);
  });
});
