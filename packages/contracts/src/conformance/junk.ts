import { SeededRandom } from './seeded-random.js';

/** One hostile value and a short label for messages (never the value itself: it may be 1 MiB). */
export interface Junk {
  readonly label: string;
  readonly value: unknown;
}

/** The families of hostile values {@link JunkGenerator} draws from. */
export const JUNK_KINDS = [
  'nullish',
  'boolean',
  'number',
  'bigint',
  'symbol',
  'function',
  'date',
  'array',
  'object',
  'hostile',
  'proxy',
  'string',
  'bytes',
  'signal',
  'other',
] as const;

export type JunkKind = (typeof JUNK_KINDS)[number];

/**
 * What hostile junk throws (a getter, `toString`, a Proxy trap, a junk function): a suite can
 * tell such a throw, which the caller's own value made, from one the implementation made.
 */
export class JunkError extends Error {
  constructor(what: string) {
    super(`junk ${what} threw`);
    this.name = 'JunkError';
  }
}

/** True for an error thrown by a junk value (see {@link JunkError}). */
export function isJunkError(error: unknown): error is JunkError {
  return error instanceof JunkError;
}

/** One MiB of text (cached: strings are immutable). */
const MIB = 1024 * 1024;
let oneMiB: string | undefined;
const longString = () => {
  oneMiB ??= 'é'.repeat(MIB / 2) + 'x'.repeat(MIB / 2);
  return oneMiB;
};

type Entry = readonly [label: string, make: (random: SeededRandom) => unknown];

const thrower = (what: string) => () => {
  throw new JunkError(what);
};

/** A Proxy whose every trap throws. */
function throwingProxy<T extends object>(target: T): T {
  const handler: ProxyHandler<T> = {};
  for (const trap of [
    'get',
    'set',
    'has',
    'ownKeys',
    'getOwnPropertyDescriptor',
    'getPrototypeOf',
    'defineProperty',
    'deleteProperty',
    'apply',
    'construct',
    'isExtensible',
    'preventExtensions',
    'setPrototypeOf',
  ] as const) {
    (handler as Record<string, unknown>)[trap] = thrower(`proxy ${trap} trap`);
  }
  return new Proxy(target, handler);
}

function revoked<T extends object>(target: T): T {
  const { proxy, revoke } = Proxy.revocable(target, {});
  revoke();
  return proxy;
}

/** A string of `length` code units drawn from an alphabet heavy in trouble. */
function randomString(random: SeededRandom, length: number): string {
  const alphabet = [
    'a',
    'Z',
    '0',
    ' ',
    '\0',
    '\r',
    '\n',
    '\t',
    '{',
    '}',
    ':',
    '*',
    '%',
    '"',
    '\\',
    'é',
    'ß',
    '€',
    '\u0301',
    '\u200b',
    '\ufeff',
    '\uffff',
    '\ud800',
    '\udfff',
    '😀',
  ];
  let out = '';
  for (let i = 0; i < length; i++) out += random.pick(alphabet);
  return out;
}

/** A signed integer of random magnitude (spread over 2^0 .. 2^60, so every size shows up). */
function randomInteger(random: SeededRandom): number {
  const magnitude = 2 ** random.between(0, 60);
  const n = Math.floor(random.next() * magnitude);
  return random.chance(0.5) ? -n : n;
}

function circularObject(): unknown {
  const o: Record<string, unknown> = { name: 'loop' };
  o.self = o;
  return o;
}

function circularArray(): unknown {
  const a: unknown[] = ['x'];
  a.push(a);
  return a;
}

const CATALOG: Readonly<Record<JunkKind, readonly Entry[]>> = {
  nullish: [
    ['undefined', () => undefined],
    ['null', () => null],
  ],
  boolean: [
    ['true', () => true],
    ['false', () => false],
  ],
  number: [
    ['NaN', () => Number.NaN],
    ['Infinity', () => Number.POSITIVE_INFINITY],
    ['-Infinity', () => Number.NEGATIVE_INFINITY],
    ['0', () => 0],
    ['-0', () => -0],
    ['1', () => 1],
    ['-1', () => -1],
    ['0.5', () => 0.5],
    ['1.5', () => 1.5],
    ['-2.5', () => -2.5],
    ['2^31 - 1', () => 2 ** 31 - 1],
    ['2^31', () => 2 ** 31],
    ['2^32', () => 2 ** 32],
    ['2^53 - 1', () => Number.MAX_SAFE_INTEGER],
    ['2^53', () => 2 ** 53],
    ['2^53 + 2', () => 2 ** 53 + 2],
    ['-(2^53 - 1)', () => Number.MIN_SAFE_INTEGER],
    ['1e21', () => 1e21],
    ['1e300', () => 1e300],
    ['Number.MAX_VALUE', () => Number.MAX_VALUE],
    ['Number.MIN_VALUE', () => Number.MIN_VALUE],
    ['Number.EPSILON', () => Number.EPSILON],
    ['a random integer', randomInteger],
    ['a random fraction', (random) => randomInteger(random) + random.next()],
  ],
  bigint: [
    ['0n', () => 0n],
    ['1n', () => 1n],
    ['-1n', () => -1n],
    ['2n ** 64n', () => 2n ** 64n],
  ],
  symbol: [
    ['a symbol', () => Symbol('junk')],
    ['Symbol.iterator', () => Symbol.iterator],
    ['a registered symbol', () => Symbol.for('junk')],
  ],
  function: [
    ['an arrow function', () => () => undefined],
    [
      'a named function',
      () =>
        function named() {
          return 1;
        },
    ],
    ['an async function', () => async () => 'async'],
    ['a function that throws', () => thrower('function')],
    [
      'an async function that rejects',
      () => async () => {
        throw new JunkError('async function');
      },
    ],
    ['a class', () => class Junk {}],
    [
      'a generator function',
      () =>
        function* gen() {
          yield 1;
        },
    ],
    ['a native function', () => Math.max],
    ['a bound function', () => (() => 2).bind(null)],
    ['a function with a throwing toString', () => Object.assign(() => 3, { toString: thrower('toString') })],
  ],
  date: [
    ['the epoch', () => new Date(0)],
    ['an invalid Date', () => new Date(Number.NaN)],
    ['the last valid Date', () => new Date(8.64e15)],
  ],
  array: [
    ['[]', () => []],
    ['[undefined]', () => [undefined]],
    ['a sparse array of 3', () => new Array(3)],
    ['a sparse array of length 2^32 - 1', () => new Array(2 ** 32 - 1)],
    ['[1, 2, 3]', () => [1, 2, 3]],
    ["['a', 'b']", () => ['a', 'b']],
    ["['a', 'a']", () => ['a', 'a']],
    ["[['k', 'v']]", () => [['k', 'v']]],
    ['[[]]', () => [[]]],
    ["[['k', 'v', 'extra']]", () => [['k', 'v', 'extra']]],
    ["[['k', 5]]", () => [['k', 5]]],
    ['a deeply nested array', () => JSON.parse(`${'['.repeat(5000)}${']'.repeat(5000)}`)],
    [
      'an array with a throwing element getter',
      () => Object.defineProperty(['a'], 0, { get: thrower('getter') }),
    ],
    ['a circular array', circularArray],
  ],
  object: [
    ['{}', () => ({})],
    ['{ a: 1 }', () => ({ a: 1 })],
    ['{ k: 5 }', () => ({ k: 5 })],
    ['a null-prototype object', () => Object.create(null)],
    ["a null-prototype { k: 'v' }", () => Object.assign(Object.create(null), { k: 'v' })],
    ["{ '': 'v' }", () => ({ '': 'v' })],
    ["{ __proto__: 'v' } (own property)", () => JSON.parse('{"__proto__":"v"}')],
    ['an array-like { length: 2 }', () => ({ length: 2, 0: 'a', 1: 'b' })],
    ['a circular object', circularObject],
    ['a frozen object', () => Object.freeze({ a: 'b' })],
  ],
  hostile: [
    [
      'an object with a throwing enumerable getter',
      () => ({
        get boom() {
          throw new JunkError('getter');
        },
      }),
    ],
    ['an object with a throwing toString', () => ({ toString: thrower('toString') })],
    ['an object with a throwing valueOf', () => ({ valueOf: thrower('valueOf') })],
    [
      'an object with a throwing Symbol.toPrimitive',
      () => ({ [Symbol.toPrimitive]: thrower('toPrimitive') }),
    ],
    ['an object with a throwing toJSON', () => ({ toJSON: thrower('toJSON') })],
    ['an object with a throwing iterator', () => ({ [Symbol.iterator]: thrower('iterator') })],
    // biome-ignore lint/suspicious/noThenProperty: an implementation that awaits its argument must not hang on one
    ['a thenable that never settles', () => ({ then() {} })],
    // biome-ignore lint/suspicious/noThenProperty: nor throw a plain error from one
    ['a thenable that throws', () => ({ then: thrower('then') })],
    [
      'an object whose length getter throws',
      () => ({
        get length() {
          throw new JunkError('length');
        },
      }),
    ],
  ],
  proxy: [
    ['a Proxy whose every trap throws', () => throwingProxy({})],
    ['an array Proxy whose every trap throws', () => throwingProxy(['a'])],
    ['a function Proxy whose every trap throws', () => throwingProxy(() => undefined)],
    ['a revoked Proxy', () => revoked({})],
    ['a revoked array Proxy', () => revoked(['a'])],
    ["a pass-through Proxy of ['a', 'b']", () => new Proxy(['a', 'b'], {})],
    ['a pass-through Proxy of an AbortSignal', () => new Proxy(new AbortController().signal, {})],
  ],
  string: [
    ["''", () => ''],
    ["' '", () => ' '],
    ["'a'", () => 'a'],
    ["'0'", () => '0'],
    ["'-1'", () => '-1'],
    ["'1.5'", () => '1.5'],
    ["'NaN'", () => 'NaN'],
    ["'null'", () => 'null'],
    ["'NX'", () => 'NX'],
    ["'nx'", () => 'nx'],
    ['a NUL', () => '\0'],
    ['a string with a NUL inside', () => 'a\0b'],
    ['CR LF', () => '\r\n'],
    ['a string with CR LF and a command', () => 'a\r\nSET x y\r\n'],
    ['a string with a {hash tag}', () => '{tag}x'],
    ['a glob', () => '*?[a]'],
    ["'__proto__'", () => '__proto__'],
    ["'constructor'", () => 'constructor'],
    ["'é' (NFC)", () => 'é'],
    ["'é' (NFD)", () => 'e\u0301'],
    ['an emoji', () => '😀'],
    ['a lone high surrogate', () => '\ud800'],
    ['a lone low surrogate inside', () => 'a\udc00b'],
    ['surrogates in the wrong order', () => '\udfff\ud800'],
    ['a replacement character', () => '\ufffd'],
    ['a byte order mark', () => '\ufeff'],
    ['1 MiB of text', longString],
    ['a random string', (random) => randomString(random, random.between(1, 40))],
    ['a random long string', (random) => randomString(random, random.between(200, 5000))],
  ],
  bytes: [
    ["Buffer.from('abc')", () => Buffer.from('abc')],
    ['a Buffer of invalid UTF-8', () => Buffer.from([0xff, 0xfe, 0xc3, 0x28])],
    ['an empty Uint8Array', () => new Uint8Array(0)],
    ['an overlong-encoded NUL', () => new Uint8Array([0xc0, 0x80])],
    ['an ArrayBuffer', () => new ArrayBuffer(8)],
    ['a DataView', () => new DataView(new ArrayBuffer(4))],
    ['1 MiB Buffer', () => Buffer.alloc(MIB, 0x61)],
  ],
  signal: [
    ['an aborted AbortSignal', () => AbortSignal.abort(new JunkError('abort reason'))],
    ['an AbortSignal aborted without a reason', () => AbortSignal.abort()],
    ['an AbortSignal that never aborts', () => new AbortController().signal],
    [
      'a fake signal object',
      () => ({ aborted: true, reason: 'x', addEventListener() {}, removeEventListener() {} }),
    ],
    ['an object with the AbortSignal prototype', () => Object.create(AbortSignal.prototype)],
  ],
  other: [
    ["a Map { 'k' => 'v' }", () => new Map([['k', 'v']])],
    ["a Set { 'a' }", () => new Set(['a'])],
    ['a RegExp', () => /junk/g],
    ['an Error', () => new Error('junk')],
    ['a resolved Promise', () => Promise.resolve('x')],
    ['a Promise that never settles', () => new Promise(() => {})],
    ['a WeakMap', () => new WeakMap()],
    ["new String('k')", () => new String('k')],
    ['new Number(5)', () => new Number(5)],
    ['new Boolean(false)', () => new Boolean(false)],
  ],
};

/**
 * Hostile values for bad-input suites, drawn by a seeded {@link SeededRandom}: the same seed
 * gives the same sequence of values. Mutable values (objects, arrays) are made fresh on every
 * draw, so an implementation that changes one cannot change a later run.
 *
 * @example
 * const junk = new JunkGenerator(0x5eed);
 * const { label, value } = junk.any();
 */
export class JunkGenerator {
  readonly random: SeededRandom;

  constructor(seed: number | SeededRandom) {
    this.random = typeof seed === 'number' ? new SeededRandom(seed) : seed;
  }

  /** A value of any kind. */
  any(): Junk {
    return this.of(this.random.pick(JUNK_KINDS));
  }

  /** A value of one kind. */
  of(kind: JunkKind): Junk {
    const [label, make] = this.random.pick(CATALOG[kind]);
    return { label, value: make(this.random) };
  }

  /** A value of `kind` with probability `p`, otherwise of any kind (strings for key arguments, …). */
  prefer(kind: JunkKind, p = 0.5): Junk {
    return this.random.chance(p) ? this.of(kind) : this.any();
  }

  /** A hostile string. */
  string(): Junk {
    return this.of('string');
  }

  /** A hostile number. */
  number(): Junk {
    return this.of('number');
  }

  /** Every label of `kind` (for tests that check the catalogue covers what it should). */
  static labels(kind: JunkKind): readonly string[] {
    return CATALOG[kind].map(([label]) => label);
  }
}
