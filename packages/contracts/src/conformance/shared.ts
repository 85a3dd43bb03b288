import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, it } from '@jest/globals';

/**
 * Options every `describeX` conformance suite accepts.
 *
 * Suites may extend this with capability flags of their own.
 */
export interface ConformanceOptions<T> {
  /** Called after every test with the implementation the test used (close connections here). */
  teardown?: (impl: T) => void | Promise<void>;
  /** Register extra `it(...)` tests inside the suite's `describe`; `get()` returns the current implementation. */
  additionalTests?: (get: () => T) => void;
}

/** One named conformance check: resolves when the implementation conforms, rejects otherwise. */
export interface ConformanceCheck<T> {
  readonly name: string;
  readonly run: (impl: T) => Promise<void>;
  /** Per-check jest timeout in ms (defaults to jest's). */
  readonly timeoutMs?: number;
}

/** A unique key/resource name for one test, so tests never collide on a shared server. */
export function randomKey(prefix = 'conformance'): string {
  return `${prefix}:${randomUUID()}`;
}

/**
 * Wire `beforeEach` (create a fresh implementation) and `afterEach` (run `teardown`) inside the
 * current `describe`, and return a getter for the current implementation.
 */
export function freshImpl<T>(
  factory: () => T | Promise<T>,
  options: Pick<ConformanceOptions<T>, 'teardown'> = {},
): () => T {
  let current: T | undefined;
  let created = false;
  beforeEach(async () => {
    current = await factory();
    created = true;
  });
  afterEach(async () => {
    const impl = current;
    const had = created;
    current = undefined;
    created = false;
    if (had && options.teardown) await options.teardown(impl as T);
  });
  return () => {
    if (!created) throw new Error('[voelgoed:contracts] conformance implementation used outside a test');
    return current as T;
  };
}

/**
 * Register a `describe(title)` block that runs every check as its own `it(...)` against a fresh
 * implementation, followed by `options.additionalTests`.
 */
export function describeChecks<T>(
  title: string,
  checks: readonly ConformanceCheck<T>[],
  factory: () => T | Promise<T>,
  options: ConformanceOptions<T> = {},
): void {
  describe(title, () => {
    const get = freshImpl(factory, options);
    for (const check of checks) {
      it(check.name, () => check.run(get()), check.timeoutMs);
    }
    options.additionalTests?.(get);
  });
}
