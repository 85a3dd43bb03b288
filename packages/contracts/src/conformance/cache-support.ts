import { randomKey, sleep } from './shared.js';

export { BAD_TTLS, PAST_SHORT_TTL, SHORT_TTL } from './shared.js';

// What the topics of the Cache suite share.

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

/**
 * A loader that counts its calls and resolves `value` only once `release()` is called;
 * `started` resolves at its first call. For checks of what happens while a load runs.
 */
export function gated<T>(value: T) {
  let release: () => void = () => {};
  const gate = new Promise<void>((resolve) => {
    release = resolve;
  });
  let begin: () => void = () => {};
  const started = new Promise<void>((resolve) => {
    begin = resolve;
  });
  const loader = async (key: string) => {
    loader.calls.push(key);
    begin();
    await gate;
    return value;
  };
  loader.calls = [] as string[];
  loader.started = started;
  loader.release = release;
  return loader;
}
