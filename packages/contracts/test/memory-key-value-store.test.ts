import { describe, expect, it } from '@jest/globals';
import { ConflictError, isInfrastructureError } from '../src/index.js';
import { ManualClock, MemoryKeyValueStore } from '../src/memory.js';

function setup() {
  const clock = new ManualClock(5_000);
  return { clock, kv: new MemoryKeyValueStore({ clock }) };
}

describe('MemoryKeyValueStore with a ManualClock', () => {
  it('expires a key exactly when its TTL has passed', async () => {
    const { clock, kv } = setup();
    await kv.set('k', 'v', { ttlMs: 1000 });
    expect(await kv.ttl('k')).toBe(1000);
    clock.advance(400);
    expect(await kv.ttl('k')).toBe(600);
    clock.advance(599);
    expect(await kv.get('k')).toBe('v');
    clock.advance(1);
    expect(await kv.get('k')).toBeNull();
    expect(await kv.ttl('k')).toBeNull();
    expect(await kv.expire('k', 1000)).toBe(false);
  });

  it('rounds fractional TTLs up to whole ms', async () => {
    const { kv } = setup();
    await kv.set('k', 'v', { ttlMs: 1.2 });
    expect(await kv.ttl('k')).toBe(2);
  });

  it('incr sets the TTL only when it creates the key', async () => {
    const { clock, kv } = setup();
    expect(await kv.incr('n', { ttlMs: 1000 })).toBe(1);
    clock.advance(500);
    expect(await kv.incr('n', { ttlMs: 1000, by: 4 })).toBe(5);
    expect(await kv.ttl('n')).toBe(500);
    clock.advance(500);
    expect(await kv.get('n')).toBeNull();
    expect(await kv.incr('n', { ttlMs: 1000 })).toBe(1);
    expect(await kv.ttl('n')).toBe(1000);
  });

  it('expire replaces the TTL; a plain set removes it', async () => {
    const { clock, kv } = setup();
    await kv.set('k', 'v', { ttlMs: 100 });
    expect(await kv.expire('k', 5000)).toBe(true);
    clock.advance(1000);
    expect(await kv.ttl('k')).toBe(4000);
    await kv.set('k', 'w');
    clock.advance(1_000_000);
    expect(await kv.get('k')).toBe('w');
  });

  it('treats an expired key as missing for NX, XX, delete and mget', async () => {
    const { clock, kv } = setup();
    await kv.mset({ a: '1', b: '2' }, { ttlMs: 10 });
    clock.advance(10);
    expect(await kv.mget(['a', 'b'])).toEqual([null, null]);
    expect(await kv.delete('a', 'b')).toBe(0);
    expect(await kv.set('a', 'x', { mode: 'XX' })).toBe(false);
    expect(await kv.set('a', 'x', { mode: 'NX' })).toBe(true);
  });

  it('size() and keys() sweep expired keys', async () => {
    const { clock, kv } = setup();
    await kv.set('keep', '1');
    await kv.set('go', '2', { ttlMs: 10 });
    expect(kv.size()).toBe(2);
    clock.advance(10);
    expect(kv.size()).toBe(1);
    expect(kv.keys()).toEqual(['keep']);
    kv.clear();
    expect(kv.size()).toBe(0);
  });
});

describe('MemoryKeyValueStore errors', () => {
  it('incr of a non-integer value rejects with CONFLICT (Redis: "value is not an integer")', async () => {
    const kv = new MemoryKeyValueStore();
    for (const value of ['abc', '1.0', '01', '-0', '-0x1', '1e3']) {
      await kv.set('k', value);
      const error = await kv.incr('k').catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ConflictError);
      expect(isInfrastructureError(error, 'CONFLICT')).toBe(true);
      expect((error as Error).message).toMatch(/^\[voelgoed:contracts\] /);
      expect((error as Error).message).not.toContain(value);
    }
  });

  it('incr beyond the safe integer range rejects with CONFLICT', async () => {
    const kv = new MemoryKeyValueStore();
    await kv.set('k', String(Number.MAX_SAFE_INTEGER));
    await expect(kv.incr('k')).rejects.toBeInstanceOf(ConflictError);
    await kv.set('k', '99999999999999999999');
    await expect(kv.incr('k')).rejects.toBeInstanceOf(ConflictError);
    expect(await kv.incr('n', { by: Number.MAX_SAFE_INTEGER })).toBe(Number.MAX_SAFE_INTEGER);
  });

  it('never echoes a bad key or value in its messages', async () => {
    const kv = new MemoryKeyValueStore();
    const error = await kv.set('k', { secret: 'hunter2' } as unknown as string).catch((e: unknown) => e);
    expect(isInfrastructureError(error, 'INVALID_ARGUMENT')).toBe(true);
    expect((error as Error).message).not.toContain('hunter2');
  });
});
