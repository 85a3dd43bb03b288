import { channel } from 'node:diagnostics_channel';
import { afterEach, describe, expect, it } from '@jest/globals';
import { type ChannelName, Channels, createPublisher } from '@voelgoed/contracts';
import { createTelemetry, MetricNames, type Telemetry } from '../src/index.js';
import { parseExposition, value } from './exposition.js';

// The documented payload of each channel (packages/contracts/src/events.ts) → the documented
// series. The adapters themselves are driven in *.integration.test.ts; this pins every field
// of the mapping, including payload shapes an adapter may not produce in a given test run.

const open: Telemetry[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((t) => t.close()));
});
function telemetry(): Telemetry {
  const t = createTelemetry({ buckets: [0.001, 0.01, 0.1, 1] });
  open.push(t);
  return t;
}

describe('adapter events → metrics', () => {
  it('voelgoed:redis:command → db_client_operation_duration_seconds', async () => {
    const t = telemetry();
    const p = createPublisher(Channels.redisCommand);
    p.publish({ command: 'GET', target: '10.0.0.1:6379', durationMs: 0.5, outcome: 'ok' });
    p.publish({ command: 'GET', target: '10.0.0.1:6379', durationMs: 5, outcome: 'ok' });
    p.publish({ command: 'SET', target: 'mymaster', durationMs: 50, outcome: 'error', errorCode: 'TIMEOUT' });
    const s = parseExposition(await t.scrape());
    const name = MetricNames.redisCommandDuration;
    const get = {
      db_system_name: 'redis',
      db_operation_name: 'GET',
      server_address: '10.0.0.1',
      server_port: '6379',
      outcome: 'ok',
    };
    expect(value(s, `${name}_count`, get)).toBe(2);
    expect(value(s, `${name}_sum`, get)).toBeCloseTo(0.0055);
    expect(value(s, `${name}_bucket`, { ...get, le: '0.001' })).toBe(1);
    expect(
      value(s, `${name}_count`, {
        db_system_name: 'redis',
        db_operation_name: 'SET',
        server_address: 'mymaster',
        outcome: 'error',
        error_type: 'TIMEOUT',
      }),
    ).toBe(1);
  });

  it('voelgoed:lock:* → acquire wait and attempts, held time, extensions, lost locks', async () => {
    const t = telemetry();
    createPublisher(Channels.lockAcquire).publish({
      resourceCount: 1,
      waitMs: 2,
      attempts: 1,
      outcome: 'acquired',
    });
    createPublisher(Channels.lockAcquire).publish({
      resourceCount: 2,
      waitMs: 300,
      attempts: 4,
      outcome: 'timeout',
      errorCode: 'LOCK_TIMEOUT',
    });
    createPublisher(Channels.lockRelease).publish({ resourceCount: 1, heldMs: 40, outcome: 'released' });
    createPublisher(Channels.lockRelease).publish({ resourceCount: 1, heldMs: 9000, outcome: 'not_owner' });
    createPublisher(Channels.lockExtend).publish({
      resourceCount: 1,
      durationMs: 1,
      trigger: 'auto',
      outcome: 'ok',
    });
    createPublisher(Channels.lockExtend).publish({
      resourceCount: 1,
      durationMs: 1,
      trigger: 'manual',
      outcome: 'error',
      errorCode: 'LOCK_LOST',
    });
    createPublisher(Channels.lockLost).publish({ resourceCount: 1, heldMs: 100, reason: 'extend_failed' });
    const s = parseExposition(await t.scrape());
    expect(value(s, `${MetricNames.lockAcquireDuration}_count`, { outcome: 'acquired' })).toBe(1);
    expect(
      value(s, `${MetricNames.lockAcquireDuration}_sum`, { outcome: 'timeout', error_type: 'LOCK_TIMEOUT' }),
    ).toBeCloseTo(0.3);
    expect(value(s, `${MetricNames.lockAcquireAttempts}_sum`, { outcome: 'timeout' })).toBe(4);
    expect(value(s, `${MetricNames.lockAcquireAttempts}_bucket`, { outcome: 'acquired', le: '1' })).toBe(1);
    expect(value(s, `${MetricNames.lockHeldDuration}_sum`, { outcome: 'released' })).toBeCloseTo(0.04);
    expect(value(s, `${MetricNames.lockHeldDuration}_count`, { outcome: 'not_owner' })).toBe(1);
    expect(value(s, `${MetricNames.lockExtendDuration}_count`, { trigger: 'auto', outcome: 'ok' })).toBe(1);
    expect(
      value(s, `${MetricNames.lockExtendDuration}_count`, {
        trigger: 'manual',
        outcome: 'error',
        error_type: 'LOCK_LOST',
      }),
    ).toBe(1);
    expect(value(s, MetricNames.lockLost, { reason: 'extend_failed' })).toBe(1);
  });

  it('voelgoed:http:* → request duration, retries, circuit state, bulkhead depth', async () => {
    const t = telemetry();
    const request = createPublisher(Channels.httpRequest);
    request.publish({
      method: 'get',
      origin: 'https://api.example.com',
      status: 503,
      durationMs: 20,
      attempt: 1,
      outcome: 'error',
      errorCode: 'HTTP_STATUS',
    });
    request.publish({
      method: 'GET',
      origin: 'https://api.example.com',
      status: 200,
      durationMs: 10,
      attempt: 2,
      outcome: 'ok',
    });
    request.publish({
      method: 'BREW',
      origin: 'http://[::1]:8080',
      durationMs: 1,
      attempt: 1,
      outcome: 'error',
      errorCode: 'CONNECTION',
    });
    createPublisher(Channels.httpRetry).publish({
      method: 'GET',
      origin: 'https://api.example.com',
      attempt: 2,
      delayMs: 80,
      reason: '503',
    });
    const circuit = createPublisher(Channels.httpCircuit);
    circuit.publish({ origin: 'https://api.example.com', from: 'closed', to: 'open' });
    circuit.publish({ origin: 'https://api.example.com', from: 'open', to: 'half_open' });
    const bulkhead = createPublisher(Channels.httpBulkhead);
    bulkhead.publish({ origin: 'https://api.example.com', active: 4, queued: 2, event: 'queued' });
    bulkhead.publish({ origin: 'https://api.example.com', active: 4, queued: 2, event: 'rejected' });
    const s = parseExposition(await t.scrape());
    const api = { server_address: 'api.example.com', server_port: '443' };
    const d = MetricNames.httpRequestDuration;
    expect(
      value(s, `${d}_count`, {
        http_request_method: 'GET',
        ...api,
        http_response_status_code: '503',
        outcome: 'error',
        error_type: 'HTTP_STATUS',
      }),
    ).toBe(1);
    expect(
      value(s, `${d}_sum`, {
        http_request_method: 'GET',
        ...api,
        http_response_status_code: '200',
        outcome: 'ok',
      }),
    ).toBeCloseTo(0.01);
    expect(
      value(s, `${d}_count`, {
        http_request_method: '_OTHER',
        server_address: '::1',
        server_port: '8080',
        outcome: 'error',
        error_type: 'CONNECTION',
      }),
    ).toBe(1);
    expect(value(s, MetricNames.httpRetries, { http_request_method: 'GET', ...api, reason: '503' })).toBe(1);
    expect(value(s, MetricNames.httpCircuitState, api)).toBe(1);
    expect(value(s, MetricNames.httpCircuitTransitions, { ...api, state: 'open' })).toBe(1);
    expect(value(s, MetricNames.httpCircuitTransitions, { ...api, state: 'half_open' })).toBe(1);
    expect(value(s, MetricNames.httpBulkheadActive, api)).toBe(4);
    expect(value(s, MetricNames.httpBulkheadQueued, api)).toBe(2);
    expect(value(s, MetricNames.httpBulkheadRejected, api)).toBe(1);
  });

  it('voelgoed:storage:operation → operation duration and bytes', async () => {
    const t = telemetry();
    const p = createPublisher(Channels.storageOperation);
    p.publish({
      operation: 'put',
      driver: 's3',
      bucket: 'media',
      durationMs: 30,
      bytes: 1000,
      outcome: 'ok',
    });
    p.publish({ operation: 'put', driver: 's3', bucket: 'media', durationMs: 10, bytes: 24, outcome: 'ok' });
    p.publish({ operation: 'get', driver: 'fs', durationMs: 1, outcome: 'error', errorCode: 'NOT_FOUND' });
    const s = parseExposition(await t.scrape());
    const put = { storage_driver: 's3', storage_bucket: 'media', storage_operation: 'put' };
    expect(value(s, `${MetricNames.storageOperationDuration}_count`, { ...put, outcome: 'ok' })).toBe(2);
    expect(value(s, MetricNames.storageBytes, put)).toBe(1024);
    expect(
      value(s, `${MetricNames.storageOperationDuration}_count`, {
        storage_driver: 'fs',
        storage_operation: 'get',
        outcome: 'error',
        error_type: 'NOT_FOUND',
      }),
    ).toBe(1);
  });

  it('voelgoed:queue:job → job steps and handler run time', async () => {
    const t = telemetry();
    const p = createPublisher(Channels.queueJob);
    p.publish({ queue: 'mail', event: 'enqueued', durationMs: 1 });
    p.publish({ queue: 'mail', event: 'enqueued', durationMs: 1 });
    p.publish({ queue: 'mail', event: 'started', attempt: 1 });
    p.publish({ queue: 'mail', event: 'completed', attempt: 1, durationMs: 50 });
    p.publish({ queue: 'mail', event: 'failed', attempt: 1, durationMs: 5, errorCode: 'TIMEOUT' });
    p.publish({ queue: 'mail', event: 'retried', attempt: 1, delayMs: 100 });
    p.publish({ queue: 'mail', event: 'failed', attempt: 2, durationMs: 5 });
    p.publish({ queue: 'mail', event: 'dead_lettered', attempt: 2 });
    const s = parseExposition(await t.scrape());
    const mail = { queue: 'mail' };
    expect(value(s, MetricNames.queueJobs, { ...mail, event: 'enqueued' })).toBe(2);
    expect(value(s, MetricNames.queueJobs, { ...mail, event: 'started' })).toBe(1);
    expect(value(s, MetricNames.queueJobs, { ...mail, event: 'failed', error_type: 'TIMEOUT' })).toBe(1);
    expect(value(s, MetricNames.queueJobs, { ...mail, event: 'failed', error_type: 'UNKNOWN' })).toBe(1);
    expect(value(s, MetricNames.queueJobs, { ...mail, event: 'dead_lettered' })).toBe(1);
    expect(value(s, `${MetricNames.queueJobDuration}_count`, { ...mail, outcome: 'completed' })).toBe(1);
    expect(value(s, `${MetricNames.queueJobDuration}_count`, { ...mail, outcome: 'failed' })).toBe(2);
    expect(value(s, `${MetricNames.queueJobDuration}_sum`, { ...mail, outcome: 'completed' })).toBeCloseTo(
      0.05,
    );
  });

  it('counts a malformed payload instead of throwing into the publishing adapter', async () => {
    const t = telemetry();
    const raw = (name: ChannelName, payload: unknown) => channel(name).publish(payload);
    expect(() => raw(Channels.redisCommand, { command: 'GET', durationMs: Number.NaN })).not.toThrow();
    expect(() => raw(Channels.lockAcquire, null)).not.toThrow();
    expect(() => raw(Channels.httpCircuit, { origin: 'x', to: 'sideways' })).not.toThrow();
    const s = parseExposition(await t.scrape());
    expect(value(s, MetricNames.errors, { source: Channels.redisCommand })).toBe(1);
    expect(value(s, MetricNames.errors, { source: Channels.lockAcquire })).toBe(1);
    expect(value(s, MetricNames.errors, { source: Channels.httpCircuit })).toBe(1);
  });

  it('close() unsubscribes from every channel', async () => {
    const names = Object.values(Channels);
    const before = names.map((n) => channel(n).hasSubscribers);
    expect(before.every((b) => !b)).toBe(true);
    const t = createTelemetry();
    expect(names.every((n) => channel(n).hasSubscribers)).toBe(true);
    await t.close();
    expect(names.filter((n) => channel(n).hasSubscribers)).toEqual([]);
  });

  it('events: false subscribes to nothing', async () => {
    const t = createTelemetry({ events: false });
    open.push(t);
    expect(Object.values(Channels).filter((n) => channel(n).hasSubscribers)).toEqual([]);
  });
});
