import { AssertionError } from 'node:assert';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { expect as check } from '../src/conformance/assert.js';
import {
  type ConformanceRunner,
  describeKeyValueStore,
  describeRateLimiter,
  registerTest,
  resolveRunner,
} from '../src/conformance.js';
import { isInfrastructureError } from '../src/errors.js';
import { MemoryKeyValueStore, MemoryRateLimiter } from '../src/memory.js';

// How the suites talk to a runner they are handed, seen through recording runners.

// Type-level: Jest's and node:test's functions are runners as imported (tsc checks these).
export const jestRunner: ConformanceRunner = { describe, it, beforeEach, afterEach };
export const nodeTestRunner = (t: typeof import('node:test')): ConformanceRunner => ({
  describe: t.describe,
  it: t.it,
  beforeEach: t.beforeEach,
  afterEach: t.afterEach,
});

type Call = { fn: string; args: unknown[] };

function recordingRunner(itProps: Record<string, unknown> = {}) {
  const calls: Call[] = [];
  const record =
    (fn: string) =>
    (...args: unknown[]) => {
      calls.push({ fn, args });
      if (fn === 'describe') (args[1] as () => void)();
    };
  const it = Object.assign(record('it'), itProps);
  const runner = {
    describe: record('describe'),
    it,
    beforeEach: record('beforeEach'),
    afterEach: record('afterEach'),
  };
  return { runner, calls };
}

const jestLike = () => recordingRunner({ each: () => undefined });
// node:test's `it` has run() and a mock tracker, and no each().
const nodeTestLike = () => recordingRunner({ run: () => undefined, mock: {} });

function settle(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => 'resolved',
    (error: unknown) => error,
  );
}

describe('conformance suites take the runner they are given', () => {
  it('registers every check with the given runner, hooks included, and nothing with the globals', () => {
    const { runner, calls } = jestLike();
    describeKeyValueStore(() => new MemoryKeyValueStore(), { runner });
    expect(calls[0]).toMatchObject({
      fn: 'describe',
      args: ['KeyValueStore conformance', expect.any(Function)],
    });
    expect(calls.filter((c) => c.fn === 'beforeEach')).toHaveLength(1);
    expect(calls.filter((c) => c.fn === 'afterEach')).toHaveLength(1);
    expect(calls.filter((c) => c.fn === 'it').length).toBeGreaterThan(10);
  });

  it('passes timeouts as (name, fn, ms) to Jest-like runners and as (name, { timeout }, fn) to node:test', () => {
    const jest = jestLike();
    registerTest(jest.runner, 'slow', async () => {}, 1000);
    expect(jest.calls[0]?.args).toEqual(['slow', expect.any(Function), 11_000]);

    const node = nodeTestLike();
    registerTest(node.runner, 'slow', async () => {}, 1000);
    expect(node.calls[0]?.args).toEqual(['slow', { timeout: 11_000 }, expect.any(Function)]);

    const other = recordingRunner();
    registerTest(other.runner, 'slow', async () => {}, 1000);
    expect(other.calls[0]?.args).toEqual(['slow', expect.any(Function)]);

    registerTest(node.runner, 'default', async () => {});
    expect(node.calls[1]?.args).toEqual(['default', expect.any(Function)]);
  });

  it('enforces a check timeout itself, whatever the runner', async () => {
    const { runner, calls } = recordingRunner();
    registerTest(runner, 'hangs', () => new Promise<void>(() => {}), 50);
    const testFn = (i: number) => calls[i]?.args[1] as () => Promise<void>;
    const test = testFn(0);
    const outcome = await settle(test());
    expect(outcome).toBeInstanceOf(Error);
    expect((outcome as Error).message).toBe(
      '[voelgoed:contracts] conformance check "hangs" did not finish within 50 ms',
    );
    registerTest(runner, 'quick', async () => {}, 50);
    await expect(testFn(1)()).resolves.toBeUndefined();
  });

  it('uses the global describe/it/beforeEach/afterEach when no runner is given', () => {
    const globals = globalThis as unknown as Record<string, unknown>;
    const resolved = resolveRunner(undefined);
    expect(resolved.describe).toBe(globals.describe);
    expect(resolved.it).toBe(globals.it);
  });

  it('rejects a runner that is not one with INVALID_ARGUMENT, naming the suite', () => {
    for (const runner of [null, 'jest', { describe, it, beforeEach: 1, afterEach: () => {} }]) {
      let thrown: unknown;
      try {
        describeRateLimiter((settings) => new MemoryRateLimiter(settings), { runner: runner as never });
      } catch (error) {
        thrown = error;
      }
      expect(isInfrastructureError(thrown, 'INVALID_ARGUMENT')).toBe(true);
      expect((thrown as Error).message).toContain('describeRateLimiter');
    }
  });
});

describe("the suites' expect", () => {
  function failure(assertion: () => void): AssertionError {
    try {
      assertion();
    } catch (error) {
      if (error instanceof AssertionError) return error;
      throw error;
    }
    throw new Error('the assertion passed');
  }

  it('compares like Jest: toEqual ignores undefined properties and object types', () => {
    check({ a: 1, b: undefined, nested: [{ c: 'x' }] }).toEqual({ a: 1, nested: [{ c: 'x' }] });
    check(Object.assign(Object.create(null), { x: 1 })).toEqual({ x: 1 });
    check(new Set([1, 2])).toEqual(new Set([2, 1]));
    check({ allowed: true, remaining: 2, resetMs: 9 }).toMatchObject({ allowed: true, remaining: 2 });
    check('application/json; charset=utf-8').toMatch(/^application\/json/);
    check(0.1 + 0.2).toBeCloseTo(0.3, 9);
    check(-0).not.toBe(0);
  });

  it('fails with the matcher, the expected and the received value', () => {
    const toBe = failure(() => check(false).toBe(true));
    expect(toBe.message).toBe('expect(received).toBe(expected)\n\nExpected: true\nReceived: false');
    expect(toBe).toMatchObject({ actual: false, expected: true });

    const toEqual = failure(() => check(['A', null]).toEqual(['A', 'B']));
    expect(toEqual.message).toContain('expect(received).toEqual(expected)');
    expect(toEqual.message).toContain("'B'");

    const partial = failure(() => check({ allowed: true, remaining: 0 }).toMatchObject({ allowed: false }));
    expect(partial.message).toContain('expect(received).toMatchObject(expected)');

    const length = failure(() => check([1, 2]).toHaveLength(1));
    expect(length.message).toContain('Expected length: 1\nReceived length: 2');

    const not = failure(() => check('etag"').not.toMatch(/"/));
    expect(not.message).toContain('expect(received).not.toMatch(expected)');
  });

  it('rejects: passes on the expected rejection, fails on another or on a resolution', async () => {
    const boom = new Error('boom');
    await check(Promise.reject(boom)).rejects.toBe(boom);
    await check(() => Promise.reject(boom)).rejects.toBe(boom);
    const other = await settle(check(Promise.reject(new Error('other'))).rejects.toBe(boom));
    expect(other).toBeInstanceOf(AssertionError);
    const resolved = await settle(check(Promise.resolve(7)).rejects.toBe(boom));
    expect((resolved as Error).message).toContain('Received promise resolved instead of rejected');
  });
});
