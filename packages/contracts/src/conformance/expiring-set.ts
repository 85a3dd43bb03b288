import { ErrorCodes } from '../errors.js';
import type { ExpiringSet } from '../ports/expiring-set.js';
import { expect } from './assert.js';
import { expiringSetBadInputCheck } from './expiring-set-bad-input.js';
import { lifecycleChecks } from './lifecycle.js';
import {
  type ConformanceCheck,
  type ConformanceOptions,
  describeSuite,
  expectInfrastructureError,
  randomKey,
  sleep,
} from './shared.js';

/** Options of {@link describeExpiringSet}. */
export type ExpiringSetConformanceOptions<T extends ExpiringSet = ExpiringSet> = ConformanceOptions<T>;

/** Short TTL used where a test waits for expiry (real time), and a wait safely past it. */
const SHORT_TTL = 150;
const PAST_SHORT_TTL = 400;
const LONG_TTL = 600_000;
const { INVALID_ARGUMENT } = ErrorCodes;
const BAD_TTLS = [0, -1, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53, '100', null] as unknown as number[];

const m = () => randomKey('member');

/**
 * The checks of {@link describeExpiringSet}, each a named `(set) => Promise<void>`. The factory
 * must give an empty set per test (a random key on a shared server).
 */
export const expiringSetChecks: readonly ConformanceCheck<ExpiringSet>[] = [
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
  {
    name: 'concurrent tryAdd of one member: exactly one wins',
    async run(set) {
      const a = m();
      const wins = await Promise.all(Array.from({ length: 30 }, () => set.tryAdd(a, LONG_TTL)));
      expect(wins.filter(Boolean)).toHaveLength(1);
      expect(await set.count()).toBe(1);
    },
  },
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
  expiringSetBadInputCheck(),
  ...lifecycleChecks<ExpiringSet>((set) => set),
];

/**
 * Registers the {@link ExpiringSet} conformance suite: every implementation (Redis, in memory)
 * must pass it. The factory gives an empty set per test. Real time with TTLs of 150 ms.
 *
 * @example
 * describeExpiringSet('ExpiringSet on Redis', () => new ExpiringSet(client, `test:${randomUUID()}`));
 */
export function describeExpiringSet<T extends ExpiringSet>(
  factory: () => T | Promise<T>,
  options?: ExpiringSetConformanceOptions<T>,
): void;
export function describeExpiringSet<T extends ExpiringSet>(
  name: string,
  factory: () => T | Promise<T>,
  options?: ExpiringSetConformanceOptions<T>,
): void;
export function describeExpiringSet(...args: unknown[]): void {
  describeSuite<ExpiringSet>('describeExpiringSet', 'ExpiringSet conformance', expiringSetChecks, args);
}
