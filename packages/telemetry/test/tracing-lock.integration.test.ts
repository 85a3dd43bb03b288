import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { isInfrastructureError } from '@voelgoed/contracts';
import { createRedisLock, type RedisLock } from '@voelgoed/lock';
import { type RedisGroup, startRedisGroup, until } from '@voelgoed/testkit';
import { startTracing, type TracingHarness } from './tracing-setup.js';

// The real @voelgoed/lock over one and over three independent redis-servers.

let group: RedisGroup;
let single: RedisLock;
let triple: RedisLock;
let tracing: TracingHarness;

beforeAll(async () => {
  group = await startRedisGroup(3);
  // A generous node deadline: a loaded machine's stalls must not fail an attempt or an extend.
  single = createRedisLock({ urls: group.urls.slice(0, 1), nodeTimeoutMs: 5000 });
  triple = createRedisLock({ urls: group.urls, nodeTimeoutMs: 5000 });
  tracing = startTracing();
});
afterAll(async () => {
  await tracing?.close();
  await Promise.all([single?.close(), triple?.close()]);
  await group?.stop();
});
beforeEach(() => tracing.exporter.reset());

describe.each([
  ['1 node', () => single, 1],
  ['3 nodes', () => triple, 3],
] as const)('lock acquire spans (%s)', (_name, locks, nodes) => {
  it('gives an acquire an INTERNAL span with attempts, fencing token and outcome; its Redis calls are children', async () => {
    const resource = `order-${Math.random()}`;
    const { value: lock, parent } = await tracing.underParent(() => locks().acquire(resource, 5000));
    await lock.release();
    const [span] = tracing.spans('lock acquire');
    expect(span).toBeDefined();
    expect(span!.kind).toBe(SpanKind.INTERNAL);
    expect(span!.parentSpanContext?.spanId).toBe(parent.spanContext().spanId);
    expect(span!.attributes).toMatchObject({
      'voelgoed.lock.resource_count': 1,
      'voelgoed.lock.ttl_ms': 5000,
      'voelgoed.lock.nodes': nodes,
      'voelgoed.lock.attempts': 1,
      'voelgoed.lock.outcome': 'acquired',
      'voelgoed.lock.fencing_token': lock.fencingToken,
    });
    expect(span!.attributes['voelgoed.lock.wait_ms']).toBeGreaterThanOrEqual(0);
    // Resource names are left out by default.
    expect(JSON.stringify(tracing.spans().map((s) => [s.name, s.attributes]))).not.toContain(resource);
    // The script calls the acquire made are Redis spans under the lock span. The acquire (and
    // the release) resolve on a quorum: a node's call ends when its reply comes, which on a
    // loaded machine (a redis-server descheduled) can be after both. Waited for, not assumed.
    const children = () =>
      tracing.spans().filter((s) => s.parentSpanContext?.spanId === span!.spanContext().spanId);
    await until(() => children().length >= nodes, { timeoutMs: 15_000 });
    expect(children().length).toBeGreaterThanOrEqual(nodes);
    for (const child of children()) expect(child.attributes['db.system.name']).toBe('redis');
  });

  it('marks an acquire that gave up with LOCK_TIMEOUT, the attempts and the reason', async () => {
    const resource = `busy-${Math.random()}`;
    const held = await locks().acquire(resource, 10_000);
    tracing.exporter.reset();
    const error = await locks()
      .acquire(resource, 5000, { retries: 2, retryDelayMs: 10, jitterMs: 0 })
      .catch((e: unknown) => e);
    await held.release();
    expect(isInfrastructureError(error, 'LOCK_TIMEOUT')).toBe(true);
    const [span] = tracing.spans('lock acquire');
    expect(span!.attributes).toMatchObject({
      'error.type': 'LOCK_TIMEOUT',
      'voelgoed.lock.outcome': 'timeout',
      'voelgoed.lock.reason': 'contention',
      'voelgoed.lock.attempts': 3,
    });
    expect(span!.attributes['voelgoed.lock.fencing_token']).toBeUndefined();
    expect(span!.status).toEqual({ code: SpanStatusCode.ERROR, message: 'LOCK_TIMEOUT' });
  });

  it('traces withLock’s acquire, and fn runs under the caller’s span, not the ended acquire span', async () => {
    let inside: string | undefined;
    const { parent } = await tracing.underParent(() =>
      locks().withLock(`with-${Math.random()}`, async () => {
        inside = trace.getActiveSpan()?.spanContext().spanId;
      }),
    );
    const [span] = tracing.spans('lock acquire');
    expect(span!.attributes['voelgoed.lock.outcome']).toBe('acquired');
    expect(span!.parentSpanContext?.spanId).toBe(parent.spanContext().spanId);
    expect(inside).toBe(parent.spanContext().spanId);
  });
});
