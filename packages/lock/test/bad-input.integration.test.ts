import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { isInfrastructureError } from '@voelgoed/contracts';
import { createRedisClient } from '@voelgoed/redis';
import { type RedisServer, startRedis, stopAll } from '@voelgoed/testkit';
import { createRedisLock, type RedisLock } from '../src/index.js';

let server: RedisServer;
let locks: RedisLock;

beforeAll(async () => {
  server = await startRedis();
  locks = createRedisLock({ urls: [server.url] });
});

afterAll(async () => {
  await locks?.close();
  await stopAll();
});

const invalid = { code: 'INVALID_ARGUMENT' };

describe('bad input gives INVALID_ARGUMENT, never a hang', () => {
  it.each([
    ['an empty resource', () => locks.acquire('')],
    ['an empty resource list', () => locks.acquire([])],
    ['an empty name in a list', () => locks.acquire(['a', ''])],
    ['duplicate resources', () => locks.acquire(['a', 'a'])],
    ['a non-string resource', () => locks.acquire(42 as unknown as string)],
    ['ttl 0', () => locks.acquire('r', 0)],
    ['a negative ttl', () => locks.acquire('r', -5)],
    ['ttl Infinity', () => locks.acquire('r', Number.POSITIVE_INFINITY)],
    ['ttl NaN', () => locks.acquire('r', Number.NaN)],
    ['retries < 0', () => locks.acquire('r', 1000, { retries: -1 })],
    ['fractional retries', () => locks.acquire('r', 1000, { retries: 1.5 })],
    ['a negative retryDelayMs', () => locks.acquire('r', 1000, { retryDelayMs: -1 })],
    ['jitterMs NaN', () => locks.acquire('r', 1000, { jitterMs: Number.NaN })],
    ['a signal that is not an AbortSignal', () => locks.acquire('r', 1000, { signal: {} as AbortSignal })],
    ['release with an empty value', () => locks.release('r', '')],
    ['release of an empty resource', () => locks.release('', 'v')],
    ['withLock without a function', () => locks.withLock('r', 1 as never)],
    ['withLock with ttlMs 0', () => locks.withLock('r', () => 1, { ttlMs: 0 })],
    ['a lone surrogate in a resource', () => locks.acquire('r\ud800')],
    ['a lone surrogate in a released resource', () => locks.release(['r', '\udfff'], 'v')],
    ['a resource longer than 16384', () => locks.acquire('r'.repeat(16_385))],
    [
      'a list that throws when read',
      () =>
        locks.acquire(
          new Proxy(['r'], {
            get: () => {
              throw new Error('no');
            },
          }),
        ),
    ],
    [
      'options whose getter throws',
      () =>
        locks.acquire('r', 1000, {
          get retries(): number {
            throw new Error('no');
          },
        }),
    ],
    [
      'a signal made from its prototype',
      () => locks.acquire('r', 1000, { signal: Object.create(AbortSignal.prototype) }),
    ],
    ['ttl 1e21 (it went out as 1e+21)', () => locks.acquire('r', 1e21)],
    ['retryDelayMs past 2^31 - 1', () => locks.acquire('r', 1000, { retryDelayMs: 2 ** 31 })],
    [
      'withLock with autoExtend not a boolean',
      () => locks.withLock('r', () => 1, { autoExtend: 'yes' as never }),
    ],
  ])('%s', async (_label, call) => {
    const error = await call().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isInfrastructureError(error, 'INVALID_ARGUMENT')).toBe(true);
    expect((error as Error).message).toMatch(/^\[voelgoed:lock\] /);
  });

  it('a lone surrogate never reaches the U+FFFD lock it would become in UTF-8', async () => {
    const held = await locks.acquire('near\ufffd', 5000);
    await expect(locks.release('near\ud800', held.value)).rejects.toMatchObject(invalid);
    await expect(locks.acquire('near\udfff', 1000, { retries: 0 })).rejects.toMatchObject(invalid);
    expect(held.held).toBe(true);
    expect(await held.release()).toBe(true);
  });

  it('extend with a bad ttl', async () => {
    const lock = await locks.acquire('bad-extend', 1000);
    await expect(lock.extend(0)).rejects.toMatchObject(invalid);
    await expect(lock.extend(Number.NaN)).rejects.toMatchObject(invalid);
    await expect(lock.extend(2 ** 53)).rejects.toMatchObject(invalid);
    expect(lock.held).toBe(true);
    await lock.release();
  });

  it.each([
    ['neither clients nor urls', {}],
    ['both clients and urls', { urls: ['redis://127.0.0.1:1'], clients: [] }],
    ['an empty url list', { urls: [] }],
    ['a malformed url', { urls: ['http://nope'] }],
    ['driftFactor < 0', { urls: ['redis://127.0.0.1:1'], driftFactor: -0.1 }],
    ['a prefix with a brace', { urls: ['redis://127.0.0.1:1'], prefix: 'x{' }],
    ['retries < 0', { urls: ['redis://127.0.0.1:1'], retries: -1 }],
    ['nodeTimeoutMs 0', { urls: ['redis://127.0.0.1:1'], nodeTimeoutMs: 0 }],
    ['renewFraction 1', { urls: ['redis://127.0.0.1:1'], renewFraction: 1 }],
    ['connectionsPerNode 0', { urls: ['redis://127.0.0.1:1'], connectionsPerNode: 0 }],
    ['connectionsPerNode 1.5', { urls: ['redis://127.0.0.1:1'], connectionsPerNode: 1.5 }],
    ['connectionsPerNode 17', { urls: ['redis://127.0.0.1:1'], connectionsPerNode: 17 }],
    ["redlock's retryCount", { urls: ['redis://127.0.0.1:1'], retryCount: 3 }],
    ['a misspelt ttl', { urls: ['redis://127.0.0.1:1'], ttl: 30_000 }],
    [
      "node-redis's socket in clientOptions",
      { urls: ['redis://127.0.0.1:1'], clientOptions: { socket: {} } },
    ],
    ['clients that are not RedisClients', { clients: [{}] }],
    ['a client without subscribe()', { clients: [{ command() {}, ready() {}, health() {} }] }],
    ['fastHandoff not a boolean', { urls: ['redis://127.0.0.1:1'], fastHandoff: 'no' }],
    ['clientOptions not an object', { urls: ['redis://127.0.0.1:1'], clientOptions: 5 }],
    [
      'nodeTimeoutMs past 2^31 - 1 (a Node timer would fire at once)',
      { urls: ['redis://127.0.0.1:1'], nodeTimeoutMs: 2 ** 31 },
    ],
  ])('createRedisLock with %s', (_label, options) => {
    expect(() => createRedisLock(options as never)).toThrow(expect.objectContaining(invalid));
  });

  it.each([
    [
      'options with a throwing getter',
      {
        urls: ['redis://127.0.0.1:1'],
        get prefix(): string {
          throw new Error('getter boom');
        },
      },
    ],
    [
      'clientOptions with a throwing getter',
      {
        urls: ['redis://127.0.0.1:1'],
        clientOptions: {
          get commandTimeoutMs(): number {
            throw new Error('getter boom');
          },
        },
      },
    ],
    [
      'clients whose element throws when read',
      {
        clients: [
          new Proxy(
            {},
            {
              get() {
                throw new Error('getter boom');
              },
            },
          ),
        ],
      },
    ],
  ])('createRedisLock with %s: INVALID_ARGUMENT with what it threw as the cause', (_label, options) => {
    let error: unknown;
    try {
      createRedisLock(options as never);
    } catch (e) {
      error = e;
    }
    expect(isInfrastructureError(error, 'INVALID_ARGUMENT')).toBe(true);
    expect((error as Error).message).toMatch(/^\[voelgoed:lock\] /);
    expect((error as Error).cause).toMatchObject({ message: 'getter boom' });
  });

  it('createRedisLock with a revoked Proxy as options: INVALID_ARGUMENT', () => {
    const revocable = Proxy.revocable({}, {});
    revocable.revoke();
    expect(() => createRedisLock(revocable.proxy as never)).toThrow(expect.objectContaining(invalid));
  });

  it('createRedisLock with a revoked Proxy as clients, urls or clientOptions: INVALID_ARGUMENT, not a TypeError', () => {
    const revoked = () => {
      const revocable = Proxy.revocable([], {});
      revocable.revoke();
      return revocable.proxy;
    };
    for (const options of [
      { clients: revoked() },
      { urls: revoked() },
      { urls: [server.url], clientOptions: revoked() },
    ]) {
      expect(() => createRedisLock(options as never)).toThrow(expect.objectContaining(invalid));
    }
  });

  it('a malformed url after good ones leaves no connection open to the good servers', async () => {
    const probe = createRedisClient({ url: server.url });
    const connected = async () =>
      Number(/connected_clients:(\d+)/.exec(await probe.command<string>(['INFO', 'clients']))?.[1]);
    const before = await connected();
    for (const urls of [
      [server.url, 'http://nope'],
      [server.url, server.url, 'redis://127.0.0.1:1/not-a-db'],
    ]) {
      expect(() => createRedisLock({ urls, connectionsPerNode: 2 })).toThrow(
        expect.objectContaining(invalid),
      );
    }
    // A client created for a good url before the bad one was found would connect (and keep
    // reconnecting, holding the process open): give any such connection time to arrive.
    await sleep(300);
    expect(await connected()).toBe(before);
    await probe.close();
  });
});
