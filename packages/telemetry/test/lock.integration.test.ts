import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { isInfrastructureError } from '@voelgoed/contracts';
import { createRedisLock, type RedisLock } from '@voelgoed/lock';
import { type RedisGroup, startRedisGroup } from '@voelgoed/testkit';
import { createTelemetry, MetricNames, type Telemetry } from '../src/index.js';
import { parseExposition, value } from './exposition.js';

// The real @voelgoed/lock (Redlock over three independent redis-servers from the test kit).

let group: RedisGroup;
let locks: RedisLock;
let telemetry: Telemetry;

beforeAll(async () => {
  group = await startRedisGroup(3);
  telemetry = createTelemetry();
  // A generous node deadline: a loaded machine's stalls must not fail an extend or an attempt.
  locks = createRedisLock({ urls: group.urls, nodeTimeoutMs: 5000 });
});
afterAll(async () => {
  await locks?.close();
  await telemetry?.close();
  await group?.stop();
});

/** Resolves once no node has a key naming `resource` (lock key, line, waiter markers) but its fencing counter. */
async function noKeysOf(resource: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const keys = await Promise.all(group.servers.map((s) => s.call(['KEYS', `*${resource}*`])));
    const left = keys.map((k) =>
      (Array.isArray(k) ? k : []).filter((key) => !String(key).startsWith('lock:f:')),
    );
    if (left.every((k) => k.length === 0)) return;
    if (Date.now() > deadline) throw new Error(`keys of ${resource} still there: ${JSON.stringify(left)}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('@voelgoed/lock → lock metrics', () => {
  it('records acquire wait and attempts, extensions, held time and lost locks', async () => {
    const resource = `telemetry-${Date.now()}`;
    const first = await locks.acquire(resource, 5000);
    const contended = await locks.acquire(resource, 5000, { retries: 1, retryDelayMs: 5, jitterMs: 0 }).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(isInfrastructureError(contended, 'LOCK_TIMEOUT')).toBe(true);
    await first.extend(5000);
    expect(await first.release()).toBe(true);
    // release() resolves once a quorum deleted the key, and the timed-out acquire leaves its line
    // on a quorum too: the next acquire would find the third node's leftovers and count a second
    // attempt. Wait until no node holds anything of the resource.
    await noKeysOf(resource);

    // A lock whose keys vanish (FLUSHALL on every node) is lost on its next extension.
    const second = await locks.acquire(resource, 5000);
    await Promise.all(group.servers.map((s) => s.call(['FLUSHALL'])));
    await expect(second.extend(5000)).rejects.toThrow();
    expect(await second.release()).toBe(false);

    // withLock's watchdog extends on its own (trigger="auto"): a TTL of 3 s renewed every third
    // of it, so only a stall of 2 s could lose it (with 2 s, a stall of 1.3 s could: a second
    // lost lock); the work's 2.5 s leave room for one extension or two.
    await locks.withLock(resource, () => new Promise((resolve) => setTimeout(resolve, 2500)), {
      ttlMs: 3000,
    });

    const s = parseExposition(await telemetry.scrape());
    expect(value(s, `${MetricNames.lockAcquireDuration}_count`, { outcome: 'acquired' })).toBe(3);
    expect(
      value(s, `${MetricNames.lockAcquireDuration}_count`, {
        outcome: 'timeout',
        error_type: 'LOCK_TIMEOUT',
      }),
    ).toBe(1);
    expect(value(s, `${MetricNames.lockAcquireAttempts}_sum`, { outcome: 'timeout' })).toBe(2);
    expect(value(s, `${MetricNames.lockAcquireAttempts}_sum`, { outcome: 'acquired' })).toBe(3);
    expect(value(s, `${MetricNames.lockExtendDuration}_count`, { trigger: 'manual', outcome: 'ok' })).toBe(1);
    expect(
      value(s, `${MetricNames.lockExtendDuration}_count`, {
        trigger: 'manual',
        outcome: 'error',
        error_type: 'LOCK_LOST',
      }),
    ).toBe(1);
    expect(
      value(s, `${MetricNames.lockExtendDuration}_count`, { trigger: 'auto', outcome: 'ok' }),
    ).toBeGreaterThanOrEqual(1);
    expect(value(s, MetricNames.lockLost, { reason: 'extend_failed' })).toBe(1);
    expect(value(s, `${MetricNames.lockHeldDuration}_count`, { outcome: 'released' })).toBe(2);
    expect(value(s, `${MetricNames.lockHeldDuration}_count`, { outcome: 'not_owner' })).toBe(1);
    // Resource names never become labels.
    expect(JSON.stringify(s)).not.toContain(resource);
  });
});
