import { ErrorCodes } from '../errors.js';
import type { Cache } from '../ports/cache.js';
import { expect } from './assert.js';
import { BAD_TTLS, counting, k } from './cache-support.js';
import { type ConformanceCheck, expectInfrastructureError } from './shared.js';

// Cache suite, arguments: bad keys, values, TTLs and loaders reject INVALID_ARGUMENT.

const { INVALID_ARGUMENT } = ErrorCodes;

/** Bad input to every method, and that it changes nothing; any call after `close()`. */
export function invalidArgumentChecks(): ConformanceCheck<Cache<unknown>>[] {
  return [
    {
      name: 'bad keys, values, TTLs and loaders reject INVALID_ARGUMENT and change nothing',
      async run(cache) {
        const key = k();
        await cache.set(key, 'kept');
        for (const bad of ['', 42, undefined, null, `${key}\ud800`] as unknown as string[]) {
          await expectInfrastructureError(() => cache.get(bad), INVALID_ARGUMENT);
          await expectInfrastructureError(() => cache.set(bad, 'v'), INVALID_ARGUMENT);
          await expectInfrastructureError(() => cache.delete(bad), INVALID_ARGUMENT);
        }
        for (const ttl of BAD_TTLS)
          await expectInfrastructureError(() => cache.set(key, 'v', ttl), INVALID_ARGUMENT);
        const circular: Record<string, unknown> = {};
        circular.self = circular;
        for (const value of [undefined, circular, 10n, Symbol('s'), () => 1]) {
          await expectInfrastructureError(() => cache.set(key, value), INVALID_ARGUMENT);
        }
        await expectInfrastructureError(() => cache.get(k(), 'nope' as never), INVALID_ARGUMENT);
        expect(await cache.get(key)).toBe('kept');
      },
    },
    {
      name: 'after close(), get, set and delete reject with INVALID_ARGUMENT and call no loader',
      timeoutMs: 20_000,
      async run(cache) {
        const key = k();
        await cache.set(key, 'v');
        await cache.close();
        const loader = counting('loaded');
        await expectInfrastructureError(() => cache.get(key), INVALID_ARGUMENT);
        await expectInfrastructureError(() => cache.get(k(), loader), INVALID_ARGUMENT);
        await expectInfrastructureError(() => cache.set(key, 'w'), INVALID_ARGUMENT);
        await expectInfrastructureError(() => cache.delete(key), INVALID_ARGUMENT);
        expect(loader.calls).toEqual([]);
      },
    },
  ];
}
