import { randomKey } from './shared.js';

// What the topics of the ExpiringSet suite share.

/** Short TTL used where a test waits for expiry (real time), and a wait safely past it. */
export const SHORT_TTL = 150;
export const PAST_SHORT_TTL = 400;
/** A TTL no check outlives. */
export const LONG_TTL = 600_000;
/** TTLs every method refuses. */
export const BAD_TTLS = [
  0,
  -1,
  Number.NaN,
  Number.POSITIVE_INFINITY,
  2 ** 53,
  '100',
  null,
] as unknown as number[];

/** A new random member. */
export const m = () => randomKey('member');
