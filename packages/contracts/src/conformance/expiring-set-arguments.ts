import { ErrorCodes } from '../errors.js';
import type { ExpiringSet } from '../ports/expiring-set.js';
import { expect } from './assert.js';
import { BAD_TTLS, LONG_TTL, m } from './expiring-set-support.js';
import { type ConformanceCheck, expectInfrastructureError } from './shared.js';

// ExpiringSet suite, arguments: bad members and TTLs reject INVALID_ARGUMENT; a closed set refuses.

const { INVALID_ARGUMENT } = ErrorCodes;

/** Bad members and TTLs, in every method, and that they change nothing. */
export function invalidArgumentChecks(): ConformanceCheck<ExpiringSet>[] {
  return [
    {
      name: 'bad members and TTLs reject INVALID_ARGUMENT and change nothing',
      async run(set) {
        const a = m();
        await set.add(a, LONG_TTL);
        for (const bad of ['', 42, undefined, null, `${a}\ud800`] as unknown as string[]) {
          for (const method of ['add', 'tryAdd', 'refresh', 'remove', 'has', 'ttl'] as const) {
            await expectInfrastructureError(() => set[method](bad), INVALID_ARGUMENT);
          }
        }
        const fresh = m();
        for (const ttl of BAD_TTLS) {
          await expectInfrastructureError(() => set.add(fresh, ttl), INVALID_ARGUMENT);
          await expectInfrastructureError(() => set.tryAdd(fresh, ttl), INVALID_ARGUMENT);
          await expectInfrastructureError(() => set.refresh(a, ttl), INVALID_ARGUMENT);
        }
        expect(await set.members()).toEqual([a]);
        expect(await set.ttl(a)).toBeLessThanOrEqual(LONG_TTL);
      },
    },
    {
      name: 'after close(), every method rejects with INVALID_ARGUMENT, saying it is closed',
      async run(set) {
        const a = m();
        await set.add(a, LONG_TTL);
        await set.close();
        const calls: [string, () => Promise<unknown>][] = [
          ['add', () => set.add(m(), LONG_TTL)],
          ['tryAdd', () => set.tryAdd(m())],
          ['refresh', () => set.refresh(a)],
          ['remove', () => set.remove(a)],
          ['has', () => set.has(a)],
          ['ttl', () => set.ttl(a)],
          ['members', () => set.members()],
          ['count', () => set.count()],
          ['purge', () => set.purge()],
        ];
        for (const [name, call] of calls) {
          const error = await expectInfrastructureError(call, INVALID_ARGUMENT).catch((e: Error) => {
            throw new Error(`${name}: ${e.message}`);
          });
          expect({ name, closed: /closed/.test(error.message) }).toEqual({ name, closed: true });
        }
      },
    },
  ];
}
