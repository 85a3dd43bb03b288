// The small `expect` the conformance suites use, built on node:assert so that the suites run
// under any test runner (Jest, Vitest, node:test) and import none of them.
import { AssertionError, deepStrictEqual } from 'node:assert';
import { inspect } from 'node:util';

/** The matchers the suites use; names and meaning as in Jest's `expect`. */
export interface Matchers<R = void> {
  /** `Object.is` equality. */
  toBe(expected: unknown): R;
  /** Recursive equality; properties whose value is `undefined` and object types are ignored. */
  toEqual(expected: unknown): R;
  /** Every property of `expected` is present and equal (recursively) in the received object. */
  toMatchObject(expected: object): R;
  toBeDefined(): R;
  toBeUndefined(): R;
  toBeNull(): R;
  toBeGreaterThan(expected: number | bigint): R;
  toBeGreaterThanOrEqual(expected: number | bigint): R;
  toBeLessThanOrEqual(expected: number | bigint): R;
  /** `|received - expected| < 10^-digits / 2`. */
  toBeCloseTo(expected: number, digits?: number): R;
  toHaveLength(expected: number): R;
  /** A string that matches a regular expression or contains a substring. */
  toMatch(expected: RegExp | string): R;
  /** A string containing a substring, or an array or iterable with an `===` item. */
  toContain(expected: unknown): R;
  // biome-ignore lint/complexity/noBannedTypes: any class, as Jest's toBeInstanceOf takes
  toBeInstanceOf(expected: Function): R;
}

export interface Expectation extends Matchers {
  readonly not: Matchers;
  /** Matchers applied to the reason the received promise (or function's promise) rejects with. */
  readonly rejects: Matchers<Promise<void>>;
}

interface Outcome {
  pass: boolean;
  /** The lines after the matcher's heading, for a failure. */
  detail: (negated: boolean) => string;
}

const show = (value: unknown): string => inspect(value, { depth: 6, breakLength: 100 });

function compare(name: string, expected: unknown, pass: boolean, received: unknown): Outcome {
  return {
    pass,
    detail: (negated) =>
      `Expected: ${negated ? 'not ' : ''}${name ? `${name} ` : ''}${show(expected)}\nReceived: ${show(received)}`,
  };
}

function isNumeric(value: unknown): value is number | bigint {
  return typeof value === 'number' || typeof value === 'bigint';
}

function ordered(received: unknown, expected: number | bigint, op: string, test: boolean): Outcome {
  if (!isNumeric(received)) {
    return {
      pass: false,
      detail: () => `Received value must be a number or bigint\nReceived: ${show(received)}`,
    };
  }
  return compare(op, expected, test, received);
}

/** Kept as they are by {@link loose}: node's deep equality already compares these well. */
function isLeafObject(value: object): boolean {
  return (
    value instanceof Date ||
    value instanceof RegExp ||
    value instanceof Map ||
    value instanceof Set ||
    value instanceof Error ||
    value instanceof Promise ||
    ArrayBuffer.isView(value) ||
    value instanceof ArrayBuffer
  );
}

/**
 * A copy that node's strict deep equality compares as Jest's `toEqual` does: arrays stay
 * arrays, other objects become plain objects of their own enumerable properties, without the
 * ones whose value is `undefined` (so a class instance or a null-prototype object equals a plain
 * object literal with the same properties).
 */
function loose(value: unknown, seen = new Map<object, unknown>()): unknown {
  if (typeof value !== 'object' || value === null || isLeafObject(value)) return value;
  const known = seen.get(value);
  if (known !== undefined) return known;
  if (Array.isArray(value)) {
    const copy: unknown[] = [];
    seen.set(value, copy);
    for (let i = 0; i < value.length; i++) copy.push(loose(value[i], seen));
    return copy;
  }
  const copy: Record<string, unknown> = {};
  seen.set(value, copy);
  for (const [key, item] of Object.entries(value)) {
    if (item !== undefined) copy[key] = loose(item, seen);
  }
  return copy;
}

function isPlainRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !isLeafObject(value);
}

/** The part of `received` that `expected` speaks of (for `toMatchObject`). */
function projectOnto(received: unknown, expected: unknown): unknown {
  if (Array.isArray(expected) && Array.isArray(received) && received.length === expected.length) {
    return received.map((item, i) => projectOnto(item, expected[i]));
  }
  if (isPlainRecord(expected) && isPlainRecord(received)) {
    const part: Record<string, unknown> = {};
    for (const key of Object.keys(expected)) {
      if (key in received) part[key] = projectOnto(received[key], expected[key]);
    }
    return part;
  }
  return received;
}

function deepEqualOutcome(received: unknown, expected: unknown): Outcome {
  try {
    deepStrictEqual(received, expected);
    return { pass: true, detail: () => `Expected: not ${show(expected)}\nReceived: ${show(received)}` };
  } catch (error) {
    if (!(error instanceof AssertionError)) throw error;
    return { pass: false, detail: () => error.message };
  }
}

/** How one matcher judges `received`, given the matcher's arguments. */
type Evaluator = (received: unknown, args: unknown[]) => Outcome;

function toMatchObject(received: unknown, [expected]: unknown[]): Outcome {
  if (typeof received !== 'object' || received === null) {
    return {
      pass: false,
      detail: () => `Received value must be a non-null object\nReceived: ${show(received)}`,
    };
  }
  return deepEqualOutcome(loose(projectOnto(received, expected)), loose(expected));
}

function toBeCloseTo(received: unknown, [expected, digitsArg]: unknown[]): Outcome {
  const digits = (digitsArg as number | undefined) ?? 2;
  const close = typeof received === 'number' && Math.abs((expected as number) - received) < 10 ** -digits / 2;
  return compare(`close to (${digits} digits)`, expected, close, received);
}

function toHaveLength(received: unknown, [expected]: unknown[]): Outcome {
  const length = (received as { length?: unknown } | null | undefined)?.length;
  return {
    pass: length === expected,
    detail: (negated) =>
      `Expected length: ${negated ? 'not ' : ''}${show(expected)}\nReceived length: ${show(length)}\nReceived: ${show(received)}`,
  };
}

function toMatch(received: unknown, [expected]: unknown[]): Outcome {
  const pass =
    typeof received === 'string' &&
    (expected instanceof RegExp
      ? new RegExp(expected.source, expected.flags.replace(/[gy]/g, '')).test(received)
      : received.includes(expected as string));
  return compare('matching', expected, pass, received);
}

function toContain(received: unknown, [expected]: unknown[]): Outcome {
  let pass = false;
  if (typeof received === 'string') pass = received.includes(String(expected));
  else if (received !== null && typeof (received as Iterable<unknown>)?.[Symbol.iterator] === 'function') {
    for (const item of received as Iterable<unknown>) if (item === expected) pass = true;
  }
  return compare('containing', expected, pass, received);
}

function toBeInstanceOf(received: unknown, [expected]: unknown[]): Outcome {
  const ctor = expected as { name?: string; prototype?: unknown };
  const pass = typeof expected === 'function' && received instanceof (expected as new () => unknown);
  const actualName = (received as { constructor?: { name?: string } } | null | undefined)?.constructor?.name;
  return {
    pass,
    detail: (negated) =>
      `Expected constructor: ${negated ? 'not ' : ''}${ctor?.name}\nReceived constructor: ${String(actualName)}\nReceived: ${show(received)}`,
  };
}

/** Every matcher, by name. */
const EVALUATORS: Readonly<Record<keyof Matchers, Evaluator>> = {
  toBe: (received, [expected]) => compare('', expected, Object.is(received, expected), received),
  toEqual: (received, [expected]) => deepEqualOutcome(loose(received), loose(expected)),
  toMatchObject,
  toBeDefined: (received) => ({ pass: received !== undefined, detail: () => `Received: ${show(received)}` }),
  toBeUndefined: (received) => compare('', undefined, received === undefined, received),
  toBeNull: (received) => compare('', null, received === null, received),
  toBeGreaterThan: (received, [expected]) =>
    ordered(received, expected as number, '>', isNumeric(received) && received > (expected as number)),
  toBeGreaterThanOrEqual: (received, [expected]) =>
    ordered(received, expected as number, '>=', isNumeric(received) && received >= (expected as number)),
  toBeLessThanOrEqual: (received, [expected]) =>
    ordered(received, expected as number, '<=', isNumeric(received) && received <= (expected as number)),
  toBeCloseTo,
  toHaveLength,
  toMatch,
  toContain,
  toBeInstanceOf,
};

function evaluate(name: keyof Matchers, received: unknown, args: unknown[]): Outcome {
  return EVALUATORS[name](received, args);
}

const MATCHERS = Object.keys(EVALUATORS) as (keyof Matchers)[];

function fail(
  heading: string,
  outcome: Outcome,
  negated: boolean,
  received: unknown,
  args: unknown[],
  from: (...args: never) => unknown,
) {
  return new AssertionError({
    message: `${heading}\n\n${outcome.detail(negated)}`,
    actual: received,
    expected: args[0],
    operator: heading,
    // Points the stack at the suite's line, not at this module.
    stackStartFn: from,
  });
}

function heading(name: string, negated: boolean, prefix = ''): string {
  return `expect(received)${prefix}${negated ? '.not' : ''}.${name}(${name === 'toBeDefined' || name === 'toBeUndefined' || name === 'toBeNull' ? '' : 'expected'})`;
}

function matchers(received: unknown, negated: boolean): Matchers {
  const result = {} as Record<keyof Matchers, (...args: unknown[]) => void>;
  for (const name of MATCHERS) {
    const matcher = (...args: unknown[]): void => {
      const outcome = evaluate(name, received, args);
      if (outcome.pass === negated)
        throw fail(heading(name, negated), outcome, negated, received, args, matcher);
    };
    result[name] = matcher;
  }
  return result as unknown as Matchers;
}

function rejection(action: unknown): Matchers<Promise<void>> {
  const result = {} as Record<keyof Matchers, (...args: unknown[]) => Promise<void>>;
  for (const name of MATCHERS) {
    result[name] = async (...args: unknown[]): Promise<void> => {
      let value: unknown;
      try {
        value = await (typeof action === 'function' ? action() : action);
      } catch (reason) {
        const outcome = evaluate(name, reason, args);
        if (!outcome.pass)
          throw fail(heading(name, false, '.rejects'), outcome, false, reason, args, result[name]);
        return;
      }
      const outcome: Outcome = {
        pass: false,
        detail: () => `Received promise resolved instead of rejected\nResolved to value: ${show(value)}`,
      };
      throw fail(heading(name, false, '.rejects'), outcome, false, value, args, result[name]);
    };
  }
  return result as unknown as Matchers<Promise<void>>;
}

/** Jest-style assertions that throw node's `AssertionError` (with `actual` and `expected`). */
export function expect(received: unknown): Expectation {
  const positive = matchers(received, false);
  return Object.assign(positive, { not: matchers(received, true), rejects: rejection(received) });
}
