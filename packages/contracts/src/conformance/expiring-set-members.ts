import type { ExpiringSet } from '../ports/expiring-set.js';
import { expect } from './assert.js';
import { LONG_TTL, m } from './expiring-set-support.js';
import type { ConformanceCheck } from './shared.js';

// ExpiringSet suite, members: adding, renewing and removing them, by their exact string.

/** add and tryAdd, with and without a TTL, and concurrent tryAdds with one winner. */
export function addChecks(): ConformanceCheck<ExpiringSet>[] {
  return [
    {
      name: 'add adds a live member and resolves whether it was new; a repeated add renews it',
      async run(set) {
        const [a, b] = [m(), m()];
        expect(await set.count()).toBe(0);
        expect(await set.members()).toEqual([]);
        expect(await set.add(a, LONG_TTL)).toBe(true);
        expect(await set.add(b, LONG_TTL)).toBe(true);
        expect(await set.add(a, 2 * LONG_TTL)).toBe(false);
        expect(await set.has(a)).toBe(true);
        expect(await set.has(m())).toBe(false);
        expect(await set.count()).toBe(2);
        expect(await set.ttl(a)).toBeGreaterThan(LONG_TTL);
        expect(await set.ttl(a)).toBeLessThanOrEqual(2 * LONG_TTL);
        expect(await set.ttl(m())).toBeUndefined();
      },
    },
    {
      name: 'without a TTL a member gets the default TTL (positive and finite)',
      async run(set) {
        const a = m();
        expect(await set.add(a)).toBe(true);
        const ttl = await set.ttl(a);
        expect(ttl).toBeGreaterThan(0);
        expect(Number.isFinite(ttl)).toBe(true);
        expect(await set.refresh(a)).toBe(true);
        expect(await set.tryAdd(m())).toBe(true);
      },
    },
    {
      name: 'tryAdd adds only an absent member and changes nothing otherwise',
      async run(set) {
        const a = m();
        expect(await set.tryAdd(a, LONG_TTL)).toBe(true);
        expect(await set.tryAdd(a, 2 * LONG_TTL)).toBe(false);
        expect(await set.ttl(a)).toBeLessThanOrEqual(LONG_TTL);
        expect(await set.count()).toBe(1);
      },
    },
    {
      name: 'concurrent tryAdd of one member: exactly one wins',
      async run(set) {
        const a = m();
        const wins = await Promise.all(Array.from({ length: 30 }, () => set.tryAdd(a, LONG_TTL)));
        expect(wins.filter(Boolean)).toHaveLength(1);
        expect(await set.count()).toBe(1);
      },
    },
  ];
}

/** refresh and remove act on live members only, told apart by their exact string. */
export function memberChecks(): ConformanceCheck<ExpiringSet>[] {
  return [
    {
      name: 'refresh renews only a live member; remove resolves whether it removed a live one',
      async run(set) {
        const a = m();
        expect(await set.refresh(a, LONG_TTL)).toBe(false);
        expect(await set.has(a)).toBe(false);
        await set.add(a, 1000);
        expect(await set.refresh(a, LONG_TTL)).toBe(true);
        expect(await set.ttl(a)).toBeGreaterThan(1000);
        expect(await set.remove(a)).toBe(true);
        expect(await set.remove(a)).toBe(false);
        expect(await set.has(a)).toBe(false);
        expect(await set.count()).toBe(0);
      },
    },
    {
      name: 'members are exact strings: case, normalisation, spaces and unicode tell them apart',
      async run(set) {
        const base = m();
        const members = [
          `${base}é`,
          `${base}e\u0301`,
          `${base}É`,
          `${base}é `,
          `${base}\ufffd`,
          `${base}😀`,
          'x'.repeat(10_000),
        ];
        for (const member of members) expect(await set.add(member, LONG_TTL)).toBe(true);
        expect(await set.count()).toBe(members.length);
        expect(new Set(await set.members())).toEqual(new Set(members));
      },
    },
  ];
}
