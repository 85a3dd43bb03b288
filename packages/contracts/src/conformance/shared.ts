import { randomUUID } from 'node:crypto';
import type { Readable } from 'node:stream';
import { type InfrastructureError, InvalidArgumentError, isInfrastructureError } from '../errors.js';

/**
 * The test functions of the runner a suite registers its tests with: Jest's, Vitest's or
 * node:test's `describe`, `it`, `beforeEach` and `afterEach`, as imported.
 */
export interface ConformanceRunner {
  describe: (name: string, fn: () => void) => unknown;
  /** Called as `it(name, fn, timeoutMs)` (Jest, Vitest) or `it(name, { timeout }, fn)` (node:test). */
  it: (name: string, ...rest: never[]) => unknown;
  beforeEach: (fn: () => Promise<void>) => unknown;
  afterEach: (fn: () => Promise<void>) => unknown;
}

/**
 * Options every `describeX` conformance suite accepts.
 *
 * Suites may extend this with capability flags of their own.
 */
export interface ConformanceOptions<T> {
  /** Called after every test with the implementation the test used (close connections here). */
  teardown?: (impl: T) => void | Promise<void>;
  /**
   * Register extra tests inside the suite's `describe`; `get()` returns the current
   * implementation, `runner` is the runner the suite registers with.
   */
  additionalTests?: (get: () => T, runner: ConformanceRunner) => void;
  /**
   * The test runner's functions. Defaults to the global `describe`, `it`, `beforeEach` and
   * `afterEach` (Jest, or Vitest with `globals: true`); required under node:test and under Vitest
   * without globals.
   */
  runner?: ConformanceRunner;
}

/** One named conformance check: resolves when the implementation conforms, rejects otherwise. */
export interface ConformanceCheck<T> {
  readonly name: string;
  readonly run: (impl: T) => Promise<void>;
  /** Per-check timeout in ms, enforced by the suite whatever the runner (defaults to the runner's). */
  readonly timeoutMs?: number;
}

/** A unique key/resource name for one test, so tests never collide on a shared server. */
export function randomKey(prefix = 'conformance'): string {
  return `${prefix}:${randomUUID()}`;
}

const RUNNER_FUNCTIONS = ['describe', 'it', 'beforeEach', 'afterEach'] as const;

function runnerHint(what: string): string {
  return (
    "pass the test runner's functions as the `runner` option, e.g. " +
    "`import { describe, it, beforeEach, afterEach } from 'node:test';` (or from 'vitest' or '@jest/globals') and " +
    `\`${what}(factory, { runner: { describe, it, beforeEach, afterEach } })\``
  );
}

/**
 * The runner a suite registers with: `runner` when given, else the globals `describe`, `it`,
 * `beforeEach` and `afterEach`. Throws `INVALID_ARGUMENT` when neither is usable; `what` names
 * the suite in the message.
 */
export function resolveRunner(runner: ConformanceRunner | undefined, what = 'describeX'): ConformanceRunner {
  if (runner === undefined) {
    const globals = globalThis as unknown as Record<string, unknown>;
    if (RUNNER_FUNCTIONS.every((name) => typeof globals[name] === 'function')) {
      const [describe, it, beforeEach, afterEach] = RUNNER_FUNCTIONS.map((name) => globals[name]);
      return { describe, it, beforeEach, afterEach } as ConformanceRunner;
    }
    throw new InvalidArgumentError(
      `[voelgoed:contracts] ${what} found no global describe, it, beforeEach and afterEach (node:test and ` +
        `Vitest without globals define none): ${runnerHint(what)}`,
    );
  }
  if (typeof runner !== 'object' || runner === null) {
    throw new InvalidArgumentError(
      `[voelgoed:contracts] ${what}: runner must be an object: ${runnerHint(what)}`,
    );
  }
  for (const name of RUNNER_FUNCTIONS) {
    if (typeof (runner as unknown as Record<string, unknown>)[name] !== 'function') {
      throw new InvalidArgumentError(
        `[voelgoed:contracts] ${what}: runner.${name} must be a function: ${runnerHint(what)}`,
      );
    }
  }
  const { describe, it, beforeEach, afterEach } = runner;
  return { describe, it, beforeEach, afterEach };
}

/** How a runner's `it` takes a per-test timeout. */
function timeoutShape(it: ConformanceRunner['it']): 'argument' | 'options' | 'none' {
  const fn = it as unknown as Record<string, unknown>;
  // Jest, Vitest and Bun: it(name, fn, timeoutMs). They all have it.each; node:test has not.
  if (typeof fn.each === 'function') return 'argument';
  // node:test: it(name, { timeout }, fn).
  if (typeof fn.run === 'function' && typeof fn.mock === 'object') return 'options';
  return 'none';
}

/** Rejects when `run` has not settled within `ms` (so the limit holds under any runner). */
function withinTimeout(name: string, ms: number, run: () => Promise<void>): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(
        new Error(
          `[voelgoed:contracts] conformance check ${JSON.stringify(name)} did not finish within ${ms} ms`,
        ),
      );
    }, ms);
    Promise.resolve()
      .then(run)
      .then(resolve, reject)
      .finally(() => clearTimeout(timer));
  });
}

/**
 * Registers one test with `runner`. With `timeoutMs`, the suite enforces the limit itself and
 * gives the runner a more generous one in the shape that runner takes.
 */
export function registerTest(
  runner: ConformanceRunner,
  name: string,
  run: () => Promise<void>,
  timeoutMs?: number,
): void {
  const it = runner.it as unknown as (name: string, ...rest: unknown[]) => unknown;
  if (timeoutMs === undefined) {
    it(name, () => run());
    return;
  }
  const test = () => withinTimeout(name, timeoutMs, run);
  const outer = timeoutMs + Math.max(10_000, timeoutMs);
  const shape = timeoutShape(runner.it);
  if (shape === 'argument') it(name, test, outer);
  else if (shape === 'options') it(name, { timeout: outer }, test);
  else it(name, test);
}

/**
 * The arguments of a `describeX(name?, factory, options?)` call: the name may be left out.
 * `what` names the suite in error messages.
 */
export function suiteArguments<F, O>(
  what: string,
  args: readonly unknown[],
): { name: string | undefined; factory: F; options: O } {
  const named = typeof args[0] !== 'function';
  const [name, factory, options] = named ? args : [undefined, ...args];
  if (named && typeof name !== 'string') {
    throw new InvalidArgumentError(
      `[voelgoed:contracts] ${what}: the first argument must be a name or the factory`,
    );
  }
  if (typeof factory !== 'function') {
    throw new InvalidArgumentError(`[voelgoed:contracts] ${what}: the factory must be a function`);
  }
  if (options !== undefined && (typeof options !== 'object' || options === null)) {
    throw new InvalidArgumentError(`[voelgoed:contracts] ${what}: options must be an object`);
  }
  return { name: name as string | undefined, factory: factory as F, options: (options ?? {}) as O };
}

/**
 * A `describeX(name?, factory, options?)` suite: resolves the runner (`what` names the suite in
 * error messages) and registers `checks` under `heading` (`heading: name` when named).
 */
export function describeSuite<T>(
  what: string,
  heading: string,
  checks: readonly ConformanceCheck<T>[],
  args: readonly unknown[],
): void {
  const { name, factory, options } = suiteArguments<() => T | Promise<T>, ConformanceOptions<T>>(what, args);
  const runner = resolveRunner(options.runner, what);
  describeChecks(name === undefined ? heading : `${heading}: ${name}`, checks, factory, {
    ...options,
    runner,
  });
}

/**
 * Wire `beforeEach` (create a fresh implementation) and `afterEach` (run `teardown`) inside the
 * current `describe`, and return a getter for the current implementation.
 */
export function freshImpl<T>(
  factory: () => T | Promise<T>,
  options: Pick<ConformanceOptions<T>, 'teardown' | 'runner'> = {},
): () => T {
  const { beforeEach, afterEach } = resolveRunner(options.runner);
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
 * Register a `describe(title)` block that runs every check as its own test against a fresh
 * implementation, followed by `options.additionalTests`.
 */
export function describeChecks<T>(
  title: string,
  checks: readonly ConformanceCheck<T>[],
  factory: () => T | Promise<T>,
  options: ConformanceOptions<T> = {},
): void {
  const runner = resolveRunner(options.runner);
  const { describe } = runner;
  describe(title, () => {
    const get = freshImpl(factory, { ...options, runner });
    for (const check of checks) {
      registerTest(runner, check.name, () => check.run(get()), check.timeoutMs);
    }
    options.additionalTests?.(get, runner);
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
  if (!isInfrastructureError(outcome.error) || (code !== undefined && outcome.error.code !== code)) {
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

/** Short TTL of the checks that wait for expiry (real time: adapters on real servers run them). */
export const SHORT_TTL = 150;
/** Comfortably past {@link SHORT_TTL}. */
export const PAST_SHORT_TTL = 400;
/** TTLs every TTL-taking method refuses (the Cache and ExpiringSet suites). */
export const BAD_TTLS = [
  0,
  -1,
  Number.NaN,
  Number.POSITIVE_INFINITY,
  2 ** 53,
  '100',
  null,
] as unknown as number[];

/** Every byte of a stream (string chunks as UTF-8). */
export async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  return Buffer.concat(chunks);
}

/** Every item of an async iterable. */
export async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of iterable) out.push(item);
  return out;
}
