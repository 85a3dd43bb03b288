import { afterAll, afterEach, describe, expect, it } from '@jest/globals';
import { createRedisClient, type RedisClient } from '@voelgoed/redis';
import {
  type RedisGroup,
  type RedisServer,
  sleep,
  startRedisGroup,
  stopAll,
  waitFor,
} from '@voelgoed/testkit';
import { FairLine } from '../src/fair-line.js';
import { createRedisLock, type RedisLock, type RedisLockOptions } from '../src/index.js';
import { lockKeys } from '../src/keys.js';
import { lineAcquireScript } from '../src/line-scripts.js';

// The fair line: waiters for one resource queue in arrival order in a sorted set on one node
// (the line node), and a release hands the lock to the head. Each manager here stands for a
// process: its own connections, pub/sub subscriptions and in-process line.

const managers: RedisLock[] = [];
const clients: RedisClient[] = [];
const groups: RedisGroup[] = [];

/**
 * A generous node deadline: a line node that does not answer within it counts as down (the
 * waiters then race as plain Redlock), which a loaded machine's stall must not cause here.
 */
function manager(urls: string[], options: Partial<RedisLockOptions> = {}): RedisLock {
  const m = createRedisLock({ urls, nodeTimeoutMs: 2000, retries: Number.POSITIVE_INFINITY, ...options });
  managers.push(m);
  return m;
}

async function group(n: number): Promise<RedisGroup> {
  const g = await startRedisGroup(n);
  groups.push(g);
  return g;
}

afterEach(async () => {
  for (const g of groups) for (const s of g.servers) if (s.isPaused) s.resume();
  await Promise.all(managers.splice(0).map((m) => m.close()));
  await Promise.all(clients.splice(0).map((c) => c.close()));
  for (const g of groups.splice(0)) await g.stop();
});

afterAll(async () => {
  await stopAll();
});

const lineKey = (resource: string) => `lock:q:${resource}`;
const leaseKey = (resource: string) => `lock:e:${resource}`;

/** The node holding the resource's line once someone queued (the line node). */
async function lineNode(g: RedisGroup, resource: string): Promise<RedisServer> {
  for (;;) {
    for (const s of g.servers) {
      if (s.isPaused) continue;
      if (Number(await s.call(['ZCARD', lineKey(resource)])) > 0) return s;
    }
    await sleep(5);
  }
}

/** Whether the line on `node` is gone within 5 s. */
async function lineGone(node: RedisServer, resource: string): Promise<boolean> {
  for (let i = 0; i < 500; i++) {
    if (Number(await node.call(['EXISTS', lineKey(resource), leaseKey(resource)])) === 0) return true;
    await sleep(10);
  }
  return false;
}

/** Waits until the line on `node` holds `n` waiters. */
async function lineLength(node: RedisServer, resource: string, n: number): Promise<void> {
  while (Number(await node.call(['ZCARD', lineKey(resource)])) !== n) await sleep(5);
}

describe('fair line (N = 3)', () => {
  it('hands the lock over in arrival order across managers', async () => {
    const g = await group(3);
    const holder = manager(g.urls);
    const held = await holder.acquire('fifo', 10_000);
    const waiters = Array.from({ length: 8 }, () => manager(g.urls));
    const order: number[] = [];
    const done: Promise<void>[] = [];
    let node: RedisServer | undefined;
    for (let i = 0; i < waiters.length; i++) {
      done.push(
        waiters[i]!.withLock('fifo', async () => {
          order.push(i);
          await sleep(2);
        }),
      );
      node ??= await lineNode(g, 'fifo');
      await lineLength(node, 'fifo', i + 1);
    }
    expect(await held.release()).toBe(true);
    await Promise.all(done);
    expect(order).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    // Everyone left the line as they got the lock.
    expect(await lineGone(node!, 'fifo')).toBe(true);
  });

  it('a newcomer does not take a free lock from the head of the line', async () => {
    const g = await group(3);
    const first = manager(g.urls);
    const held = await first.acquire('gate', 10_000);
    const waiter = manager(g.urls);
    const waiting = waiter.acquire('gate', 10_000);
    const node = await lineNode(g, 'gate');
    // The head of the line is a waiter that will not come (a long lease): the lock is free on
    // every node, yet a newcomer is refused, because it is not its turn.
    await node.call(['ZADD', lineKey('gate'), '1', 'ghost']);
    await node.call(['ZADD', leaseKey('gate'), String(Date.now() + 60_000), 'ghost']);
    expect(await held.release()).toBe(true);
    const newcomer = manager(g.urls);
    await expect(newcomer.acquire('gate', 10_000, { retries: 0 })).rejects.toMatchObject({
      code: 'LOCK_TIMEOUT',
      reason: 'contention',
    });
    // With the line off, the same newcomer takes the free lock at once.
    const unfair = manager(g.urls, { fairLine: false });
    const taken = await unfair.acquire('gate', 10_000, { retries: 0 });
    expect(await taken.release()).toBe(true);
    // The ghost leaves: the waiter (next in line) gets the lock.
    await node.call(['ZREM', lineKey('gate'), 'ghost']);
    await node.call(['ZREM', leaseKey('gate'), 'ghost']);
    const lock = await waiting;
    expect(lock.held).toBe(true);
    await lock.release();
  });

  it('skips a waiter whose lease ran out (it died in line)', async () => {
    const g = await group(3);
    const holder = manager(g.urls);
    const held = await holder.acquire('dead', 10_000);
    const a = manager(g.urls);
    const waitingA = a.acquire('dead', 10_000);
    const node = await lineNode(g, 'dead');
    // A waiter that joined first and then died: at the head, its lease running out in 2 s. Not
    // sooner: B must join while it is still in line (a loaded machine stalls for up to ~0.5 s),
    // or the line drops it before the test looks and waits for a third waiter that never comes.
    await node.call(['ZADD', lineKey('dead'), '1', 'dead-waiter']);
    await node.call(['ZADD', leaseKey('dead'), String(Date.now() + 2000), 'dead-waiter']);
    const b = manager(g.urls);
    const waitingB = b.acquire('dead', 10_000);
    await lineLength(node, 'dead', 3);
    const order: string[] = [];
    await held.release();
    const [la, lb] = await Promise.all([
      waitingA.then(async (l) => {
        order.push('a');
        await l.release();
        return l;
      }),
      waitingB.then(async (l) => {
        order.push('b');
        await l.release();
        return l;
      }),
    ]);
    expect(order).toEqual(['a', 'b']);
    expect(la.fencingToken).toBeLessThan(lb.fencingToken);
    expect(await node.call(['ZSCORE', lineKey('dead'), 'dead-waiter'])).toBeNull();
  });

  it('a line node restarted empty gets its line back in the old order, and keeps it while the others hold the lock', async () => {
    const g = await group(3);
    const holder = manager(g.urls);
    const held = await holder.acquire('restart', 20_000);
    // Leases of 5 s (the longest: 4 × (1000 + 250) ms), so that no stall of a loaded machine
    // takes a waiter out of line while the test watches the line.
    const waiters = Array.from({ length: 4 }, () => manager(g.urls, { retryDelayMs: 1000, jitterMs: 250 }));
    const order: number[] = [];
    const done: Promise<void>[] = [];
    let node: RedisServer | undefined;
    for (let i = 0; i < waiters.length; i++) {
      done.push(
        waiters[i]!.withLock('restart', () => {
          order.push(i);
        }),
      );
      node ??= await lineNode(g, 'restart');
      await lineLength(node, 'restart', i + 1);
    }
    // The line node loses everything (no persistence); the lock is still held on the other two.
    await node!.restart();
    await lineLength(node!, 'restart', 4);
    // The restarted node's copy of the lock key is gone, so it grants the head while the other two
    // refuse: the head keeps its place through those attempts (nobody behind it can take its turn).
    // Watched for 3 s: more than two of the waiters' check periods, so the head has tried.
    const sizes = new Set<number>();
    for (const until = performance.now() + 3000; performance.now() < until; ) {
      sizes.add(Number(await node!.call(['ZCARD', lineKey('restart')])));
      await sleep(5);
    }
    expect([...sizes]).toEqual([4]);
    expect(await held.release()).toBe(true);
    await Promise.all(done);
    expect(order).toEqual([0, 1, 2, 3]);
  });

  it('a waiter put back at its old place and granted there has a lease, so the line drops it if its release goes elsewhere', async () => {
    const g = await group(1);
    const client = createRedisClient({ url: g.urls[0]! });
    clients.push(client);
    const keys = new FairLine(1).keysOf(lockKeys('lock:', ['back'], false))!;
    // ARGV: owner value, TTL, (unused), lease ms, the arrival score it had, join when refused.
    const attempt = (value: string, score: string) =>
      lineAcquireScript.run(client, keys, [value, '10000', '0', '200', score, '1']);
    // A waiter whose line node restarted empty comes back with its old score and is granted at once.
    expect(Array.isArray(await attempt('w1', '12345'))).toBe(true);
    expect(await client.command(['ZSCORE', lineKey('back'), 'w1'])).toBe('12345');
    expect(await client.command(['ZSCORE', leaseKey('back'), 'w1'])).not.toBeNull();
    expect(Number(await client.command(['PTTL', lineKey('back')]))).toBeGreaterThan(0);
    expect(Number(await client.command(['PTTL', leaseKey('back')]))).toBeGreaterThan(0);
    // Its release went to another node (the line had moved meanwhile): here only the key goes.
    await client.command(['DEL', keys[0]!]);
    await sleep(300);
    // Its lease ran out, so the next waiter is not stuck behind it.
    expect(Array.isArray(await attempt('w2', ''))).toBe(true);
  });

  it('a paused line node costs speed, not the lock: waiters fall back to polling', async () => {
    const g = await group(3);
    const holder = manager(g.urls, { nodeTimeoutMs: 200 });
    const held = await holder.acquire('paused', 10_000);
    const waiters = Array.from({ length: 4 }, () => manager(g.urls, { nodeTimeoutMs: 200 }));
    let inside = 0;
    let overlaps = 0;
    const done = waiters.map((w) =>
      w.withLock('paused', async () => {
        if (++inside > 1) overlaps++;
        await sleep(5);
        inside--;
      }),
    );
    const node = await lineNode(g, 'paused');
    node.pause();
    expect(await held.release()).toBe(true);
    await Promise.all(done);
    expect(overlaps).toBe(0);
  });

  it('a paused line node: the line moves to the next node at once, and a holder that does not know still wakes its head', async () => {
    const g = await group(3);
    const resource = 'moved';
    const primary = g.servers[new FairLine(3).nodeOf(lockKeys('lock:', [resource], false))]!;
    // Node deadlines of a second (the paused node's calls end soon, and the others' answers come
    // within it on a loaded machine); a one-minute retry delay, so that only a wake-up lets the
    // waiter through before the test's timeout.
    const holder = manager(g.urls, { nodeTimeoutMs: 1000 });
    const waiter = manager(g.urls, { nodeTimeoutMs: 1000, retryDelayMs: 60_000, jitterMs: 0 });
    // The waiter's subscriptions (in line and out of line) confirmed before the test: a first
    // confirmation wakes the waiters to try once more, which would hide a release that wakes nobody.
    for (const warm of ['warm-line', ['warm-a', 'warm-b']]) {
      const first = await holder.acquire(warm, 5000);
      const second = waiter.acquire(warm, 5000);
      await waitFor('the waiter refused and subscribed', async () => {
        const shared = (await g.servers[0]!.call(['PUBSUB', 'NUMSUB', 'voelgoed:lock:released'])) as [
          string,
          number,
        ];
        const own = (await g.servers[0]!.call([
          'PUBSUB',
          'CHANNELS',
          'voelgoed:lock:released/*',
        ])) as string[];
        return (Array.isArray(warm) ? Number(shared[1]) : own.length) > 0 ? true : undefined;
      });
      await first.release();
      // Only a wake-up (a release, or the subscription's confirmation) gets it within a minute.
      await (await second).release();
    }
    const held = await holder.acquire(resource, 30_000);
    primary.pause();
    const waiting = waiter.acquire(resource, 10_000);
    // The waiter's first attempt found its line node silent: it queues on the next node at once
    // (it does not sleep its retry delay out of line, where no release would wake it).
    const next = await lineNode(g, resource);
    expect(next).not.toBe(primary);
    await lineLength(next, resource, 1);
    // The holder has not seen the line node fail: its release still reaches the line's new node.
    expect(await held.release()).toBe(true);
    const lock = await waiting;
    expect(lock.held).toBe(true);
    expect(lock.fencingToken).toBeGreaterThan(held.fencingToken);
    await lock.release();
  }, 30_000);

  it('a line node that is only behind (its key not yet released) does not refuse a quorum', async () => {
    const g = await group(3);
    const m = manager(g.urls);
    const node = g.servers[new FairLine(3).nodeOf(lockKeys('lock:', ['behind'], false))]!;
    // A release that reached the other two nodes but not yet this one; nobody in line.
    await node.call(['SET', 'lock:l:behind', 'released-elsewhere', 'PX', '10000']);
    for (const retries of [0, 3]) {
      const lock = await m.acquire('behind', 5000, { retries });
      expect(lock.held).toBe(true);
      expect(await lock.release()).toBe(true);
      // The line node put the caller in line (not its last attempt) and it left again: the
      // leave is not waited for (nor is the line node's release, once a quorum released).
      expect(await lineGone(node, 'behind')).toBe(true);
    }
  });

  it('with fairLine: false nothing is queued in Redis', async () => {
    const g = await group(3);
    const a = manager(g.urls, { fairLine: false });
    const b = manager(g.urls, { fairLine: false });
    const held = await a.acquire('off', 10_000);
    const waiting = b.acquire('off', 10_000, { retryDelayMs: 20 });
    await sleep(100);
    for (const s of g.servers) expect(Number(await s.call(['EXISTS', lineKey('off')]))).toBe(0);
    await held.release();
    await (await waiting).release();
  });

  it('refuses a fairLine that is not a boolean', () => {
    expect(() => createRedisLock({ urls: ['redis://127.0.0.1:1'], fairLine: 'yes' as never })).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    );
  });
});
