import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Channels, isInfrastructureError, subscribe } from '@voelgoed/contracts';
import { createRedisClient } from '@voelgoed/redis';
import { type RedisGroup, startRedisGroup, stopAll, waitFor } from '@voelgoed/testkit';
import { createRedisLock, LockNotAcquiredError, type RedisLock } from '../src/index.js';

let group: RedisGroup;
const managers: RedisLock[] = [];
let seq = 0;
const name = (label: string) => `${label}:${process.pid}:${++seq}`;

/**
 * A generous node deadline: full runs on a loaded machine have shown event-loop stalls of up to
 * 0.5 s (the default deadline), and a node answering after it turns "contention" into "quorum".
 */
function locks(n: number, options: Parameters<typeof createRedisLock>[0] = {}): RedisLock {
  const m = createRedisLock({ urls: group.urls.slice(0, n), nodeTimeoutMs: 2000, ...options });
  managers.push(m);
  return m;
}

beforeAll(async () => {
  group = await startRedisGroup(3);
});

afterAll(async () => {
  await Promise.all(managers.map((m) => m.close()));
  await stopAll();
});

describe.each([1, 3])('RedisLock over %i node(s)', (n) => {
  it('excludes a second owner until the first releases; a stranger cannot release', async () => {
    const a = locks(n);
    const b = locks(n);
    const resource = name('basic');
    const lock = await a.acquire(resource, 5000);
    expect(lock.held).toBe(true);
    expect(lock.expiresAt).toBeGreaterThan(Date.now());
    await expect(b.acquire(resource, 5000, { retries: 1, retryDelayMs: 5 })).rejects.toMatchObject({
      code: 'LOCK_TIMEOUT',
      reason: 'contention',
      attempts: 2,
    });
    expect(await b.release(resource, 'not-the-owner')).toBe(false);
    await expect(b.acquire(resource, 5000, { retries: 0 })).rejects.toBeInstanceOf(LockNotAcquiredError);
    expect(await lock.release()).toBe(true);
    expect(lock.held).toBe(false);
    expect(await lock.release()).toBe(false);
    const second = await b.acquire(resource, 5000, { retries: 0 });
    expect(second.fencingToken).toBeGreaterThan(lock.fencingToken);
    expect(await a.release(resource, second.value)).toBe(true);
  });

  it('extends only its own lock, and a late release does not delete the next holder', async () => {
    const a = locks(n);
    const resource = name('extend');
    // A TTL well past a loaded machine's stalls: the extend must reach the lock while it is held.
    const lock = await a.acquire(resource, 2000);
    await lock.extend(10_000);
    expect(lock.expiresAt).toBeGreaterThan(Date.now() + 5000);
    // extend() resolves once a quorum confirmed: the last node's extend may still be on its way.
    for (const s of group.servers.slice(0, n)) {
      const pttl = await waitFor('the extend on every node', async () => {
        const ms = Number(await s.call(['PTTL', `lock:l:${resource}`]));
        return ms > 5000 ? ms : undefined;
      });
      expect(pttl).toBeGreaterThan(5000);
    }
    // Someone deletes the key behind our back and another owner takes it.
    for (const s of group.servers.slice(0, n)) await s.call(['DEL', `lock:l:${resource}`]);
    const other = await a.acquire(resource, 5000, { retries: 0 });
    await expect(lock.extend(5000)).rejects.toMatchObject({ code: 'LOCK_LOST' });
    expect(lock.held).toBe(false);
    expect(await lock.release()).toBe(false);
    expect(other.held).toBe(true);
    // acquire() too resolves on a quorum: wait for the last node's SET rather than read it once.
    for (const s of group.servers.slice(0, n)) {
      const held = await waitFor('the new owner on every node', async () => {
        const v = await s.call(['GET', `lock:l:${resource}`]);
        return v === other.value ? v : undefined;
      });
      expect(held).toBe(other.value);
    }
    await other.release();
  });

  it('locks several resources all or nothing', async () => {
    const a = locks(n);
    const [r1, r2, r3] = [name('multi'), name('multi'), name('multi')];
    const blocker = await a.acquire(r2, 5000);
    await expect(a.acquire([r1, r2, r3], 5000, { retries: 0 })).rejects.toMatchObject({
      code: 'LOCK_TIMEOUT',
    });
    // Nothing of the failed multi-lock stayed behind.
    const alone = await a.acquire(r1, 5000, { retries: 0 });
    await alone.release();
    await blocker.release();
    const all = await a.acquire([r1, r2, r3], 5000, { retries: 0 });
    expect(all.resources).toEqual([r1, r2, r3]);
    expect(all.fencingTokens).toHaveLength(3);
    await expect(a.acquire(r3, 5000, { retries: 0 })).rejects.toMatchObject({ code: 'LOCK_TIMEOUT' });
    await all.extend(5000);
    expect(await all.release()).toBe(true);
    const after = await a.acquire(r3, 5000, { retries: 0 });
    expect(after.fencingToken).toBeGreaterThan(all.fencingTokens[2]!);
    await after.release();
  });

  it('release(resource, value) marks the handle released only when it covers all of its resources', async () => {
    const a = locks(n);
    const [r1, r2] = [name('byvalue'), name('byvalue')];
    const single = await a.acquire(r1, 5000);
    const multi = await a.acquire([r2, name('byvalue')], 5000);
    // Someone else's value, or another resource: the handles stay held.
    expect(await a.release(r1, multi.value)).toBe(false);
    expect(single.held).toBe(true);
    // Part of a multi-resource lock: released there, but the handle still owns the rest.
    expect(await a.release(r2, multi.value)).toBe(true);
    expect(multi.held).toBe(true);
    expect(await a.release(r1, single.value)).toBe(true);
    expect(single.held).toBe(false);
    expect(await single.release()).toBe(false);
    await multi.release();
  });

  it('release(resource, value) through another manager frees the lock; the holder handle learns it on release', async () => {
    const a = locks(n);
    const b = locks(n);
    const resource = name('byvalue');
    const lock = await a.acquire(resource, 5000);
    expect(await b.release(resource, lock.value)).toBe(true);
    // b cannot know a's handle: it still believes it holds the lock until it finds out.
    expect(lock.held).toBe(true);
    expect(await lock.release()).toBe(false);
    const again = await b.acquire(resource, 5000, { retries: 0 });
    expect(again.value).not.toBe(lock.value);
    await again.release();
  });

  it('runs on clients it does not own (one connection per node) and leaves them open on close', async () => {
    const clients = group.urls.slice(0, n).map((url) => createRedisClient({ url }));
    try {
      // The node deadline of locks() (the default 0.5 s has been outlasted on a loaded run); both
      // registered for afterAll, so a failure here does not leave connections that keep Jest alive.
      const a = createRedisLock({ clients, nodeTimeoutMs: 2000 });
      const b = createRedisLock({ urls: group.urls.slice(0, n), connectionsPerNode: 3, nodeTimeoutMs: 2000 });
      managers.push(a, b);
      const resource = name('owned');
      let last = 0;
      for (let i = 0; i < 6; i++) {
        const lock = await (i % 2 ? a : b).acquire(resource, 5000, { retries: 0 });
        expect(lock.fencingToken).toBeGreaterThan(last);
        last = lock.fencingToken;
        await expect((i % 2 ? b : a).acquire(resource, 5000, { retries: 0 })).rejects.toMatchObject({
          code: 'LOCK_TIMEOUT',
        });
        await lock.extend(5000);
        expect(await lock.release()).toBe(true);
      }
      await a.close();
      await b.close();
      for (const c of clients) expect(await c.command(['PING'])).toBe('PONG');
    } finally {
      await Promise.all(clients.map((c) => c.close()));
    }
  });

  it('hands out strictly increasing fencing tokens', async () => {
    const a = locks(n);
    const resource = name('fence');
    let last = 0;
    for (let i = 0; i < 20; i++) {
      const lock = await a.acquire(resource, 5000, { retries: 0 });
      expect(lock.fencingToken).toBeGreaterThan(last);
      last = lock.fencingToken;
      await lock.release();
    }
  });

  it('releases with await using', async () => {
    const a = locks(n);
    const resource = name('using');
    {
      await using lock = await a.acquire(resource, 5000);
      expect(lock.held).toBe(true);
      await expect(a.acquire(resource, 5000, { retries: 0 })).rejects.toMatchObject({ code: 'LOCK_TIMEOUT' });
    }
    const again = await a.acquire(resource, 5000, { retries: 0 });
    await again.release();
  });

  it('withLock renews the lock while fn runs and releases it afterwards, also when fn throws', async () => {
    const a = locks(n);
    const b = locks(n);
    const resource = name('with');
    const extends_: string[] = [];
    const off = subscribe(Channels.lockExtend, (e) => extends_.push(`${e.trigger}:${e.outcome}`));
    try {
      const result = await a.withLock(
        resource,
        async (signal) => {
          // Run for two TTLs; the watchdog must keep the lock ours. The TTL leaves the renewals
          // (every ttl / 3) more than a second of slack, so a loaded machine's event-loop stalls
          // (up to ~0.5 s seen in full runs) cannot let it expire and hand it to b meanwhile.
          for (let i = 0; i < 6; i++) {
            await new Promise((r) => setTimeout(r, 700));
            await expect(b.acquire(resource, 1000, { retries: 0 })).rejects.toMatchObject({
              code: 'LOCK_TIMEOUT',
            });
          }
          expect(signal.aborted).toBe(false);
          return 42;
        },
        { ttlMs: 2000 },
      );
      expect(result).toBe(42);
      expect(extends_.filter((e) => e === 'auto:ok').length).toBeGreaterThan(0);
    } finally {
      off();
    }
    await expect(
      a.withLock(resource, () => {
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    const free = await b.acquire(resource, 1000, { retries: 0 });
    await free.release();
  });

  it('wakes a waiter by pub/sub when the holder releases (fast hand-off)', async () => {
    const a = locks(n);
    const b = locks(n);
    const resource = name('handoff');
    // b's owner values start with its manager's prefix, which also names the channel a hand-off
    // to b's place in the fair line is published on: `<channel>/<prefix>`.
    const warm = await b.acquire(name('warm-up'), 5000);
    const ownChannel = `voelgoed:lock:released/${warm.value.slice(0, warm.value.indexOf(':'))}`;
    await warm.release();
    const holder = await a.acquire(resource, 30_000);
    // With a one-minute retry delay, only the release notification can let this through in time.
    const waiting = b.acquire(resource, 5000, { retries: 1, retryDelayMs: 60_000, jitterMs: 0 });
    // Release only once b listens on every node (it subscribes after its first refusal, without
    // waiting): a fixed sleep loses that race on a loaded machine, and b then sleeps a minute.
    for (const s of group.servers.slice(0, n)) {
      while (Number(((await s.call(['PUBSUB', 'NUMSUB', ownChannel])) as unknown[])[1]) < 1) {
        await new Promise((r) => setTimeout(r, 5));
      }
    }
    await holder.release();
    const next = await waiting;
    expect(next.held).toBe(true);
    expect(next.fencingToken).toBeGreaterThan(holder.fencingToken);
    await next.release();
  }, 20_000);

  it('gives up when the signal aborts, with LOCK_TIMEOUT and the reason as cause', async () => {
    const a = locks(n);
    const resource = name('abort');
    const holder = await a.acquire(resource, 10_000);
    const controller = new AbortController();
    const waiting = a.acquire(resource, 5000, {
      retries: Number.POSITIVE_INFINITY,
      signal: controller.signal,
    });
    setTimeout(() => controller.abort(new Error('caller gave up')), 50);
    const error = await waiting.catch((e: unknown) => e);
    expect(isInfrastructureError(error, 'LOCK_TIMEOUT')).toBe(true);
    expect(error).toMatchObject({ reason: 'aborted' });
    expect((error as Error).cause).toMatchObject({ message: 'caller gave up' });
    await holder.release();
  });

  it('publishes acquire and release events without resource names', async () => {
    const a = locks(n);
    const seen: unknown[] = [];
    const offs = [
      subscribe(Channels.lockAcquire, (e) => seen.push(e)),
      subscribe(Channels.lockRelease, (e) => seen.push(e)),
    ];
    try {
      const resource = name('events');
      const lock = await a.acquire(resource, 5000);
      await expect(a.acquire(resource, 5000, { retries: 0 })).rejects.toMatchObject({ code: 'LOCK_TIMEOUT' });
      await lock.release();
      expect(seen).toEqual([
        expect.objectContaining({ resourceCount: 1, attempts: 1, outcome: 'acquired' }),
        expect.objectContaining({
          resourceCount: 1,
          attempts: 1,
          outcome: 'timeout',
          errorCode: 'LOCK_TIMEOUT',
        }),
        expect.objectContaining({ resourceCount: 1, outcome: 'released' }),
      ]);
      expect(JSON.stringify(seen)).not.toContain(resource);
    } finally {
      for (const off of offs) off();
    }
  });
});

describe('RedisLock with clients it does not own', () => {
  it('uses the given clients and leaves them open on close()', async () => {
    const clients = group.urls.map((url) => createRedisClient({ url }));
    try {
      const m = createRedisLock({ clients, nodeTimeoutMs: 2000 });
      managers.push(m);
      const lock = await m.acquire(name('owned'), 1000);
      await lock.release();
      await m.close();
      expect(await clients[0]!.command(['PING'])).toBe('PONG');
    } finally {
      await Promise.all(clients.map((c) => c.close()));
    }
  });
});

describe('fast hand-off on the first contention of a lock manager (N = 1)', () => {
  it.each([true, false])(
    'fairLine %s: a release published before the new subscription was confirmed still wakes the waiter (it tries once more)',
    async (fairLine) => {
      // A channel of its own: no other manager's subscription can hear the release for b.
      const channel = `first-wait:${process.pid}:${++seq}`;
      const a = locks(1, { channel, fairLine });
      const b = locks(1, { channel, fairLine });
      // Both connected, their scripts loaded: no warm-up or NOSCRIPT round trip below.
      for (const m of [a, b]) await (await m.acquire(name('warm-up'), 5000)).release();
      const resource = name('first-wait');
      const holder = await a.acquire(resource, 30_000);
      // The holder releases as soon as b's refused attempt is answered, before b's code goes on
      // (the command event is published when the reply is read): the release reaches the server
      // before b's subscription, which needs a new connection, so its notification reaches nobody.
      let released: Promise<boolean> | undefined;
      const off = subscribe(Channels.redisCommand, (event) => {
        if (released === undefined && event.command.startsWith('EVAL')) released = holder.release();
      });
      try {
        // b's first contention: with a one-minute retry delay, only a wake-up lets it through
        // before the test's timeout.
        const next = await b.acquire(resource, 5000, { retries: 1, retryDelayMs: 60_000, jitterMs: 0 });
        expect(await released).toBe(true);
        expect(next.held).toBe(true);
        expect(next.fencingToken).toBeGreaterThan(holder.fencingToken);
        await next.release();
      } finally {
        off();
      }
    },
    20_000,
  );
});
