import type { ExpiringSet } from '../ports/expiring-set.js';
import { expect } from './assert.js';
import { LONG_TTL, m, PAST_SHORT_TTL, SHORT_TTL } from './expiring-set-support.js';
import { type ConformanceCheck, sleep } from './shared.js';

// ExpiringSet suite, expiry: members lapse after their TTL, are listed by it, and are purged.

/** A lapsed member is gone everywhere; members are listed soonest to lapse first; purge counts them. */
export function expiryChecks(): ConformanceCheck<ExpiringSet>[] {
  return [
    {
      name: 'a member expires after its TTL: gone for has, ttl, members, count, refresh and remove; tryAdd can take it again',
      async run(set) {
        const [gone, kept] = [m(), m()];
        await set.add(kept, LONG_TTL);
        await set.add(gone, LONG_TTL);
        // Shortened only now, so a slow machine cannot expire it before the checks above.
        expect(await set.refresh(gone, SHORT_TTL)).toBe(true);
        const ttl = await set.ttl(gone);
        // Undefined only when a stalled machine let the short TTL run out before this read.
        if (ttl !== undefined) {
          expect(ttl).toBeGreaterThan(0);
          expect(ttl).toBeLessThanOrEqual(SHORT_TTL);
        }
        await sleep(PAST_SHORT_TTL);
        expect(await set.has(gone)).toBe(false);
        expect(await set.ttl(gone)).toBeUndefined();
        expect(await set.members()).toEqual([kept]);
        expect(await set.count()).toBe(1);
        expect(await set.remove(gone)).toBe(false);
        expect(await set.refresh(gone, LONG_TTL)).toBe(false);
        expect(await set.has(gone)).toBe(false);
        expect(await set.tryAdd(gone, LONG_TTL)).toBe(true);
        expect(await set.has(gone)).toBe(true);
      },
    },
    {
      name: 'members lists live members soonest to expire first',
      async run(set) {
        const [a, b, c] = [m(), m(), m()];
        await set.add(b, 3 * LONG_TTL);
        await set.add(a, LONG_TTL);
        await set.add(c, 2 * LONG_TTL);
        expect(await set.members()).toEqual([a, c, b]);
        await set.refresh(b, LONG_TTL / 2);
        expect(await set.members()).toEqual([b, a, c]);
      },
    },
    {
      name: 'purge deletes expired members and resolves how many',
      async run(set) {
        const [a, b, c] = [m(), m(), m()];
        await set.add(a, LONG_TTL);
        await set.add(b, LONG_TTL);
        await set.add(c, LONG_TTL);
        await set.refresh(b, SHORT_TTL);
        await set.refresh(c, SHORT_TTL);
        await sleep(PAST_SHORT_TTL);
        expect(await set.purge()).toBe(2);
        expect(await set.purge()).toBe(0);
        expect(await set.members()).toEqual([a]);
      },
    },
  ];
}
