import { expect } from './assert.js';
import { randomKey, SHORT_TTL } from './shared.js';

// What the topics of the KeyValueStore suite share: TTLs, bad TTLs and random keys.

export { PAST_SHORT_TTL, SHORT_TTL } from './shared.js';
/**
 * TTL of the checks that read a TTL back: a TTL of {@link SHORT_TTL} could run out while a loaded
 * machine stalled between the write and the read (it did, once, in a clean-clone run).
 */
export const LONG_TTL = 60_000;

/** A TTL read back soon after setting {@link LONG_TTL}: in ms (not s), and not yet run down far. */
export function expectLongTtl(ttl: number | null): void {
  expect(ttl).not.toBeNull();
  expect(ttl as number).toBeGreaterThan(LONG_TTL / 2);
  expect(ttl as number).toBeLessThanOrEqual(LONG_TTL);
}

/** TTLs every method refuses. */
export const BAD_TTLS = [0, -1, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY];

/** A new random key. */
export const k = () => randomKey('kv');
