import { afterAll, afterEach, describe, expect, it, jest } from '@jest/globals';
import type { Logger } from '@voelgoed/contracts';
import { captureLogger, type RedisGroup, startRedisGroup, stopAll, waitFor } from '@voelgoed/testkit';
import { createRedisLock, type RedisLock } from '../src/index.js';

/** Blocks this process's event loop, like a GC pause or a stopped VM. */
function stall(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

const managers: RedisLock[] = [];
const groups: RedisGroup[] = [];
afterEach(async () => {
  for (const g of groups) for (const s of g.servers) if (s.isPaused) s.resume();
  await Promise.all(managers.splice(0).map((m) => m.close()));
  for (const g of groups.splice(0)) await g.stop();
});
afterAll(async () => {
  await stopAll();
});

async function setup(logger: Logger | undefined, n = 1, nodeTimeoutMs = 2000) {
  const g = await startRedisGroup(n);
  groups.push(g);
  const locks = createRedisLock({ urls: g.urls, nodeTimeoutMs, ...(logger ? { logger } : {}) });
  managers.push(locks);
  // Connected before the test's stall, so the stall is all that happens to the lock.
  await (await locks.acquire('warm-up', 10_000)).release();
  return { g, locks };
}

const RESOURCE = 'orders:secret-resource-name';

describe('lock logger', () => {
  it('warns "lock lost" (resource count, held ms, reason) when a stalled holder outlives its TTL', async () => {
    const { logger, lines } = captureLogger();
    const { g, locks } = await setup(logger);
    let value = '';
    const run = locks.withLock(
      RESOURCE,
      async (signal) => {
        value = String(await g.servers[0]!.call(['GET', `lock:l:${RESOURCE}`]));
        stall(2500); // the TTL is 500 ms: two seconds of slack past it
        if (!signal.aborted) await new Promise((r) => signal.addEventListener('abort', r, { once: true }));
      },
      { ttlMs: 500 },
    );
    await expect(run).rejects.toMatchObject({ code: 'LOCK_LOST' });
    const lost = lines.filter((l) => l.msg === 'lock lost');
    expect(lost).toHaveLength(1);
    expect(lost[0]).toMatchObject({
      level: 'warn',
      obj: { resourceCount: 1, reason: 'expired', heldMs: expect.any(Number) },
    });
    expect(lost[0]?.obj.heldMs as number).toBeGreaterThanOrEqual(500);
    expect(value.length).toBeGreaterThan(8); // the owner value, read from Redis while held
    const text = JSON.stringify(lines);
    expect(text).not.toContain('secret-resource-name');
    expect(text).not.toContain(value);
  }, 30_000);

  it('warns when no quorum confirms an auto-extension (a paused node), then that the lock is lost', async () => {
    const { logger, lines } = captureLogger();
    const { g, locks } = await setup(logger, 1, 300);
    const run = locks.withLock(
      RESOURCE,
      async (signal) => {
        g.servers[0]!.pause();
        await new Promise((r) => signal.addEventListener('abort', r, { once: true }));
      },
      { ttlMs: 3000 },
    );
    await expect(run).rejects.toMatchObject({ code: 'LOCK_LOST' });
    g.servers[0]!.resume();
    const extend = lines.find((l) => l.msg === 'lock extension not confirmed by a quorum');
    expect(extend).toMatchObject({
      level: 'warn',
      obj: { resourceCount: 1, trigger: 'auto', errorCode: 'TIMEOUT', remainingMs: expect.any(Number) },
    });
    expect(lines.filter((l) => l.msg === 'lock lost')).toHaveLength(1);
    expect(JSON.stringify(lines)).not.toContain('secret-resource-name');
  }, 30_000);

  it('loses the lock the same way when its logger throws', async () => {
    let calls = 0;
    const boom = () => {
      calls += 1;
      throw new Error('logger down');
    };
    const { locks } = await setup({ debug: boom, info: boom, warn: boom, error: boom });
    const run = locks.withLock(
      RESOURCE,
      async (signal) => {
        stall(2500);
        if (!signal.aborted) await new Promise((r) => signal.addEventListener('abort', r, { once: true }));
      },
      { ttlMs: 500 },
    );
    await expect(run).rejects.toMatchObject({ code: 'LOCK_LOST' });
    await waitFor('the logger call', async () => (calls > 0 ? true : undefined));
    const again = await locks.acquire(RESOURCE, 1000);
    expect(await again.release()).toBe(true);
  }, 30_000);

  it('logs nothing by default and refuses a logger that is not one', async () => {
    expect(() =>
      createRedisLock({ urls: ['redis://127.0.0.1:1'], logger: 'console' as unknown as Logger }),
    ).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    const spies = (['debug', 'info', 'log', 'warn', 'error'] as const).map((m) =>
      jest.spyOn(console, m).mockImplementation(() => {}),
    );
    try {
      const { locks } = await setup(undefined);
      const run = locks.withLock(
        RESOURCE,
        async (signal) => {
          stall(2500);
          if (!signal.aborted) await new Promise((r) => signal.addEventListener('abort', r, { once: true }));
        },
        { ttlMs: 500 },
      );
      await expect(run).rejects.toMatchObject({ code: 'LOCK_LOST' });
      for (const spy of spies) expect(spy).not.toHaveBeenCalled();
    } finally {
      for (const spy of spies) spy.mockRestore();
    }
  }, 30_000);
});
