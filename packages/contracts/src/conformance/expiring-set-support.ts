import { randomKey } from './shared.js';

export { BAD_TTLS, PAST_SHORT_TTL, SHORT_TTL } from './shared.js';

// What the topics of the ExpiringSet suite share.

/** A TTL no check outlives. */
export const LONG_TTL = 600_000;

/** A new random member. */
export const m = () => randomKey('member');
