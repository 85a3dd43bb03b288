import { randomKey, sleep } from './shared.js';

// What the topics of the Cache suite share.

/** Short TTL used where a test waits for expiry (real time), and a wait safely past it. */
export const SHORT_TTL = 150;
export const PAST_SHORT_TTL = 400;
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

/** A new random key. */
export const k = () => randomKey('cache');

/** A loader that counts its calls. */
export function counting<T>(value: T | undefined, delayMs = 0) {
  const loader = async (key: string) => {
    loader.calls.push(key);
    if (delayMs > 0) await sleep(delayMs);
    return value;
  };
  loader.calls = [] as string[];
  return loader;
}
