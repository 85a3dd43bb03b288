import { describe, expect, it } from '@jest/globals';
import {
  BadInputFailure,
  checkCall,
  distributedLockBadInputCheck,
  JUNK_KINDS,
  JunkGenerator,
  keyValueStoreBadInputCheck,
  SeededRandom,
} from '../src/conformance.js';
import { InvalidArgumentError, LockTimeoutError } from '../src/errors.js';
import { MemoryKeyValueStore, MemoryLock } from '../src/memory.js';
import type { IncrOptions, KeyValueStore, SetOptions } from '../src/ports/key-value.js';
import type { AcquireOptions, DistributedLock, Lock, WithLockOptions } from '../src/ports/lock.js';

/** What a store that sends text as UTF-8 does to a lone surrogate: it becomes U+FFFD. */
const mangle = (text: unknown) => (typeof text === 'string' ? Buffer.from(text).toString() : text);

describe('SeededRandom and JunkGenerator', () => {
  it('give the same sequence for the same seed, and another for another seed', () => {
    const draw = (seed: number) => {
      const junk = new JunkGenerator(seed);
      return Array.from({ length: 200 }, () => junk.any().label);
    };
    expect(draw(42)).toEqual(draw(42));
    expect(draw(42)).not.toEqual(draw(43));
    const random = new SeededRandom(7);
    for (let i = 0; i < 1000; i++) {
      const x = random.next();
      expect(x >= 0 && x < 1).toBe(true);
    }
  });

  it('draws every value of every kind, and fresh mutable values each time', () => {
    const junk = new JunkGenerator(1);
    const seen = new Set<string>();
    for (let i = 0; i < 20_000; i++) seen.add(junk.any().label);
    for (const kind of JUNK_KINDS) {
      for (const label of JunkGenerator.labels(kind)) expect([kind, seen.has(label)]).toEqual([kind, true]);
    }
    const a = new JunkGenerator(5).of('object').value;
    const b = new JunkGenerator(5).of('object').value;
    expect(a).not.toBe(b);
  });
});

describe('checkCall', () => {
  const run = (invoke: () => Promise<unknown>, timeoutMs = 5000) =>
    checkCall({ label: 'f(x)', invoke }, timeoutMs);

  it('passes a success and an INVALID_ARGUMENT rejection', async () => {
    await expect(run(async () => 1)).resolves.toEqual({ ok: true, value: 1 });
    const error = new InvalidArgumentError('bad');
    await expect(run(async () => Promise.reject(error))).resolves.toEqual({ ok: false, error });
  });

  it('fails a plain error, another code, a synchronous throw and a hang, saying which', async () => {
    await expect(run(() => Promise.reject(new TypeError('x is undefined')))).rejects.toThrow(
      /f\(x\) rejected with TypeError: x is undefined/,
    );
    await expect(run(() => Promise.reject(new LockTimeoutError('busy', ['r'], 1)))).rejects.toThrow(
      /not a code this call may give/,
    );
    await expect(
      run(() => {
        throw new InvalidArgumentError('sync');
      }),
    ).rejects.toThrow(/threw synchronously/);
    await expect(run(() => new Promise(() => {}), 20)).rejects.toThrow(/did not settle within 20 ms/);
    await expect(run(() => new Promise(() => {}), 20)).rejects.toBeInstanceOf(BadInputFailure);
  });
});

/** A store with the bugs the suite is there to find; `defect` picks one. */
class FlawedKeyValueStore implements KeyValueStore {
  readonly #inner = new MemoryKeyValueStore();
  health() {
    return this.#inner.health();
  }

  close() {
    return this.#inner.close();
  }

  constructor(
    readonly defect: 'trusts options' | 'mangles text' | 'hangs on long keys' | 'applies before checking',
  ) {}
  get(key: string) {
    if (this.defect === 'hangs on long keys' && typeof key === 'string' && key.length > 100_000) {
      return new Promise<string | null>(() => {});
    }
    return this.#inner.get(this.#k(key));
  }
  async set(key: string, value: string, options?: SetOptions) {
    // Reading a field of null or of a revoked Proxy throws a TypeError.
    if (this.defect === 'trusts options' && options !== undefined) void options.ttlMs;
    return this.#inner.set(this.#k(key), mangle(value) as string, options);
  }
  async delete(...keys: string[]) {
    if (this.defect !== 'applies before checking') return this.#inner.delete(...keys.map((k) => this.#k(k)));
    let n = 0;
    for (const key of keys) n += await this.#inner.delete(key);
    return n;
  }
  incr(key: string, options?: IncrOptions) {
    return this.#inner.incr(this.#k(key), options);
  }
  expire(key: string, ttlMs: number) {
    return this.#inner.expire(this.#k(key), ttlMs);
  }
  ttl(key: string) {
    return this.#inner.ttl(this.#k(key));
  }
  mget(keys: readonly string[]) {
    return this.#inner.mget(Array.isArray(keys) ? keys.map((k) => this.#k(k)) : keys);
  }
  mset(entries: Parameters<KeyValueStore['mset']>[0], options?: { ttlMs?: number }) {
    return this.#inner.mset(entries, options);
  }
  #k(key: string): string {
    return this.defect === 'mangles text' ? (mangle(key) as string) : key;
  }
}

describe('the KeyValueStore bad-input check', () => {
  const check = (runs: number, callTimeoutMs = 5000) =>
    keyValueStoreBadInputCheck({ seed: 0x5eed, runs, callTimeoutMs });

  it('passes the in-memory store', async () => {
    await check(500).run(new MemoryKeyValueStore());
  });

  it.each([
    ['trusts options', /set\(.*\) rejected with TypeError/],
    ['mangles text', /neighbour \d \(its value changed\)|differs from the value set/],
    ['hangs on long keys', /get\(.*\) did not settle within 200 ms/],
    ['applies before checking', /rejected but changed key \d it named/],
  ] as const)('fails a store that %s, printing the seed', async (defect, message) => {
    const run = check(1500, 200).run(new FlawedKeyValueStore(defect));
    await expect(run).rejects.toThrow(message);
    await expect(check(1500, 200).run(new FlawedKeyValueStore(defect))).rejects.toThrow(
      /seed 0x5eed; replay with VOELGOED_JUNK_SEED=0x5eed/,
    );
  });
});

/** A lock with the bugs the suite is there to find. */
class FlawedLock implements DistributedLock {
  readonly #inner = new MemoryLock();
  health() {
    return this.#inner.health();
  }

  close() {
    return this.#inner.close();
  }

  constructor(readonly defect: 'mangles names' | 'trusts the signal') {}
  async acquire(
    resource: string | readonly string[],
    ttlMs?: number,
    options?: AcquireOptions,
  ): Promise<Lock> {
    if (this.defect === 'trusts the signal' && options?.signal !== undefined) void options.signal.aborted;
    return this.#inner.acquire(this.#names(resource), ttlMs, options);
  }
  release(resource: string | readonly string[], value: string) {
    return this.#inner.release(this.#names(resource), value);
  }
  withLock<T>(
    resource: string | readonly string[],
    fn: (signal: AbortSignal, lock: Lock) => Promise<T> | T,
    options?: WithLockOptions,
  ) {
    return this.#inner.withLock(this.#names(resource), fn, options);
  }
  #names(resource: string | readonly string[]): string | readonly string[] {
    if (this.defect !== 'mangles names') return resource;
    return Array.isArray(resource) ? (resource.map(mangle) as string[]) : (mangle(resource) as string);
  }
}

describe('the DistributedLock bad-input check', () => {
  const check = (runs: number) => distributedLockBadInputCheck({ seed: 0x10c, runs });

  it('passes the in-memory lock', async () => {
    await check(400).run(new MemoryLock());
  });

  it('fails a lock whose names lose lone surrogates (a neighbour is released or taken)', async () => {
    await expect(check(600).run(new FlawedLock('mangles names'))).rejects.toThrow(
      /neighbour lock \d was released|rejected with LockTimeoutError/,
    );
  });

  it('fails a lock that reads a look-alike signal and throws a TypeError', async () => {
    await expect(check(600).run(new FlawedLock('trusts the signal'))).rejects.toThrow(
      /rejected with TypeError/,
    );
  });
});

describe('the in-memory twins refuse what the Redis adapters refuse', () => {
  const invalid = expect.objectContaining({ code: 'INVALID_ARGUMENT' });

  it('MemoryKeyValueStore: lone surrogates, unreadable options, huge TTLs, non-plain entries', async () => {
    const kv = new MemoryKeyValueStore();
    const { proxy, revoke } = Proxy.revocable({}, {});
    revoke();
    const calls: (() => Promise<unknown>)[] = [
      () => kv.set('k\ud800', 'v'),
      () => kv.set('k', 'v\udc00'),
      () => kv.mset({ k: 'a\ud800b' }),
      () => kv.set('k', 'v', null as never),
      () => kv.set('k', 'v', proxy as never),
      () => kv.incr('k', null as never),
      () => kv.set('k', 'v', { ttlMs: 1e21 }),
      () => kv.expire('k', 2 ** 53),
      () => kv.mset(new Map([['k', 'v']]) as never),
      () => kv.mset([['k', 'v'], Symbol.iterator] as never),
      () => kv.mget(new Array(2 ** 32 - 1)),
    ];
    for (const call of calls) await expect(call()).rejects.toEqual(invalid);
    expect(kv.size()).toBe(0);
  });

  it('MemoryLock: lone surrogates, long names, a look-alike signal, unreadable options, huge delays', async () => {
    const locks = new MemoryLock();
    const fn = () => 1;
    const calls: (() => Promise<unknown>)[] = [
      () => locks.acquire('r\ud800'),
      () => locks.acquire(['r', 'x'.repeat(16_385)]),
      () => locks.release('r\udfff', 'v'),
      () => locks.acquire('r', 1000, null as never),
      () => locks.acquire('r', 1000, { signal: Object.create(AbortSignal.prototype) }),
      () => locks.acquire('r', 1e21),
      () => locks.acquire('r', 1000, { retryDelayMs: 2 ** 31 }),
      () => locks.withLock('r', fn, { autoExtend: 'yes' as never }),
      () => locks.withLock('r', fn, null as never),
    ];
    for (const call of calls) await expect(call()).rejects.toEqual(invalid);
    expect(locks.isLocked('r')).toBe(false);
    const lock = await locks.acquire('x'.repeat(16_384), 1000);
    await expect(lock.extend(2 ** 53)).rejects.toEqual(invalid);
    expect(await lock.release()).toBe(true);
  });
});
