import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, it } from '@jest/globals';
import { type InfrastructureError, isInfrastructureError } from '../errors.js';

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

/** Resolves after `ms` real milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Asserts that `action` (a promise, or a function that throws or rejects) fails with an
 * `InfrastructureError` (from any copy of contracts) with `code`; resolves with that error.
 */
export async function expectInfrastructureError(
  action: Promise<unknown> | (() => unknown),
  code?: string,
): Promise<InfrastructureError> {
  let outcome: { ok: true; value: unknown } | { ok: false; error: unknown };
  try {
    outcome = { ok: true, value: await (typeof action === 'function' ? action() : action) };
  } catch (error) {
    outcome = { ok: false, error };
  }
  const want = code === undefined ? 'an InfrastructureError' : `an InfrastructureError with code ${code}`;
  if (outcome.ok) throw new Error(`expected ${want}, but it succeeded`);
  if (!isInfrastructureError(outcome.error, code)) {
    const got = outcome.error as { name?: unknown; code?: unknown; message?: unknown } | undefined;
    throw new Error(
      `expected ${want}, got ${String(got?.name)} (code ${String(got?.code)}): ${String(got?.message)}`,
    );
  }
  return outcome.error;
}

/** The check called `name` (throws if there is none: names are part of a suite's API). */
export function findCheck<T>(checks: readonly ConformanceCheck<T>[], name: string): ConformanceCheck<T> {
  const check = checks.find((c) => c.name === name);
  if (!check) throw new Error(`[voelgoed:contracts] no conformance check named ${JSON.stringify(name)}`);
  return check;
}
