import { describe, expect, it } from '@jest/globals';
import { sleep } from '@voelgoed/testkit';
import { isInfrastructureError, LockLostError, LockTimeoutError } from '../src/index.js';
import { ManualClock, MemoryLock } from '../src/memory.js';

/** Resolves with the promise's value, or rejects if it has not settled within `ms` real ms. */
async function within<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`not settled within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

describe('MemoryLock with a ManualClock', () => {
  it('expires exactly at acquire time + TTL on the clock', async () => {
    const clock = new ManualClock(1_000_000);
    const locks = new MemoryLock({ clock });
    const lock = await locks.acquire('r', 1000);
    expect(lock.expiresAt).toBe(1_001_000);
    clock.advance(999);
    expect(lock.held).toBe(true);
    expect(locks.isLocked('r')).toBe(true);
    clock.advance(1);
    expect(lock.held).toBe(false);
    expect(locks.isLocked('r')).toBe(false);
    await expect(lock.extend(1000)).rejects.toBeInstanceOf(LockLostError);
    const next = await locks.acquire('r', 1000, { retries: 0 });
    expect(next.fencingToken).toBe(lock.fencingToken + 1);
    expect(await lock.release()).toBe(false);
    expect(next.held).toBe(true);
  });

  it('extend moves the expiry on the clock', async () => {
    const clock = new ManualClock();
    const locks = new MemoryLock({ clock });
    const lock = await locks.acquire('r', 100);
    clock.advance(90);
    await lock.extend(100);
    expect(lock.expiresAt).toBe(190);
    clock.advance(90);
    expect(lock.held).toBe(true);
    clock.advance(10);
    expect(lock.held).toBe(false);
  });

  it('rounds a fractional TTL up to whole ms', async () => {
    const clock = new ManualClock();
    const lock = await new MemoryLock({ clock }).acquire('r', 1.2);
    expect(lock.expiresAt).toBe(2);
  });

  it('a polling waiter takes the lock once the clock passes the expiry', async () => {
    const clock = new ManualClock();
    const locks = new MemoryLock({ clock });
    const first = await locks.acquire('r', 10_000);
    const waiting = locks.acquire('r', 10_000, {
      retries: Number.POSITIVE_INFINITY,
      retryDelayMs: 5,
      jitterMs: 0,
    });
    await sleep(20);
    expect(locks.isLocked('r')).toBe(true);
    clock.advance(10_000);
    const second = await within(waiting, 5000);
    expect(second.fencingToken).toBeGreaterThan(first.fencingToken);
  });

  it('counts fencing tokens per resource', async () => {
    const locks = new MemoryLock({ clock: new ManualClock() });
    const a1 = await locks.acquire('a');
    const b1 = await locks.acquire('b');
    await a1.release();
    const a2 = await locks.acquire('a');
    const ab = await locks.acquire(['c', 'd']);
    expect([a1.fencingToken, b1.fencingToken, a2.fencingToken]).toEqual([1, 1, 2]);
    expect(ab.fencingTokens).toEqual([1, 1]);
  });

  it('withLock (autoExtend off) aborts the signal when the clock passes the expiry', async () => {
    const clock = new ManualClock();
    const locks = new MemoryLock({ clock });
    const run = locks.withLock(
      'r',
      async (signal) => {
        clock.advance(50);
        await new Promise((resolve) => signal.addEventListener('abort', resolve));
        expect(signal.reason).toBeInstanceOf(LockLostError);
        return 'finished';
      },
      { ttlMs: 50, autoExtend: false },
    );
    await expect(within(run, 5000)).rejects.toBeInstanceOf(LockLostError);
    expect(locks.isLocked('r')).toBe(false);
  });

  it('withLock (autoExtend on) reports the loss when time jumps past the TTL before a renewal', async () => {
    const clock = new ManualClock();
    const locks = new MemoryLock({ clock });
    let reason: unknown;
    const run = locks.withLock(
      'r',
      async (signal) => {
        clock.advance(1000);
        await new Promise((resolve) => signal.addEventListener('abort', resolve));
        reason = signal.reason;
      },
      { ttlMs: 30 },
    );
    const error = await within(run, 5000).catch((e: unknown) => e);
    expect(error).toBe(reason);
    expect(isInfrastructureError(error, 'LOCK_LOST')).toBe(true);
    expect((error as LockLostError).cause).toBeInstanceOf(LockLostError);
  });

  it('withLock (autoExtend on) keeps renewing against the clock', async () => {
    const clock = new ManualClock();
    const locks = new MemoryLock({ clock });
    await locks.withLock(
      'r',
      async (signal, lock) => {
        for (let i = 0; i < 5; i++) {
          const before = lock.expiresAt;
          clock.advance(10); // well within the 60 ms TTL
          while (lock.expiresAt === before) await sleep(5);
        }
        expect(signal.aborted).toBe(false);
        expect(lock.expiresAt).toBe(50 + 60);
      },
      { ttlMs: 60 },
    );
  });
});

describe('MemoryLock waiting', () => {
  it('a release wakes a waiter long before its retry delay', async () => {
    const locks = new MemoryLock();
    const first = await locks.acquire('r');
    const waiting = locks.acquire('r', 5000, { retries: 1, retryDelayMs: 60_000, jitterMs: 0 });
    await sleep(10);
    await first.release();
    const second = await within(waiting, 5000);
    expect(second.held).toBe(true);
  });

  it('a lost wake-up race does not use up a retry', async () => {
    const locks = new MemoryLock();
    const holder = await locks.acquire('r');
    const options = { retries: 1, retryDelayMs: 2000, jitterMs: 0 };
    const w1 = locks.acquire('r', 5000, options);
    const w2 = locks.acquire('r', 5000, options);
    await sleep(10);
    await holder.release(); // wakes both: one wins, the other loses a try but keeps its retry
    const winner = await within(Promise.race([w1, w2]), 1000);
    await sleep(10);
    await winner.release();
    const [l1, l2] = await within(Promise.all([w1, w2]), 1000);
    expect(new Set([l1.value, l2.value]).size).toBe(2);
  });

  it('reports attempts and the resources in LockTimeoutError', async () => {
    const locks = new MemoryLock({ retryDelayMs: 1, jitterMs: 0 });
    await locks.acquire(['a', 'b']);
    const error = await locks.acquire(['b', 'c'], 1000, { retries: 2 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LockTimeoutError);
    expect((error as LockTimeoutError).attempts).toBe(3);
    expect((error as LockTimeoutError).resources).toEqual(['b', 'c']);
    expect((error as LockTimeoutError).message).toMatch(/^\[voelgoed:contracts\] /);
    expect(locks.isLocked('c')).toBe(false);
  });

  it('uses the constructor defaults for retries', async () => {
    const locks = new MemoryLock({ retries: 0 });
    await locks.acquire('r');
    await expect(locks.acquire('r')).rejects.toBeInstanceOf(LockTimeoutError);
  });

  it('rejects bad constructor options with INVALID_ARGUMENT', () => {
    for (const options of [
      { retries: -1 },
      { retries: 0.5 },
      { retryDelayMs: Number.NaN },
      { jitterMs: -1 },
    ]) {
      expect(() => new MemoryLock(options)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    }
  });

  it('works with await using', async () => {
    const locks = new MemoryLock();
    {
      await using lock = await locks.acquire('r');
      expect(lock.held).toBe(true);
      expect(locks.isLocked('r')).toBe(true);
    }
    expect(locks.isLocked('r')).toBe(false);
  });
});
