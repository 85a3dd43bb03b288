import { describe, expect, it } from '@jest/globals';
import { readList, readOptions, readRecord, readSignal } from '../src/index.js';
import { P, refusal } from './support/refusal.js';

function throwingGetter(field: string): object {
  return Object.defineProperty({}, field, {
    enumerable: true,
    get() {
      throw new Error('getter');
    },
  });
}

describe('readOptions', () => {
  it('reads the named fields once; undefined options are none', () => {
    let reads = 0;
    const options = {
      get a() {
        reads++;
        return 1;
      },
      other: undefined,
    };
    expect(readOptions(options, ['a', 'b'] as const, 'opts', P)).toEqual({ a: 1, b: undefined });
    expect(reads).toBe(1);
    expect(readOptions(undefined, ['a'] as const, 'opts', P)).toEqual({});
  });

  it('refuses a field it does not know (a misspelt option), unless its value is undefined', () => {
    expect(refusal(() => readOptions({ a: 1, idd: 'x' }, ['a', 'id'], 'opts', P)).message).toBe(
      `${P} opts has an unknown field "idd" (known: one of a, id)`,
    );
    expect(refusal(() => readOptions({ x: null }, [], 'opts', P)).message).toBe(
      `${P} opts has an unknown field "x" (known: none)`,
    );
    // Inherited fields are not the caller's: only own enumerable ones count.
    const inherited = Object.create({ inheritedField: 1 }) as object;
    expect(readOptions(inherited, ['a'], 'opts', P)).toEqual({ a: undefined });
    expect(readOptions({ a: 1, spread: undefined }, ['a'], 'opts', P)).toEqual({ a: 1 });
    const { proxy, revoke } = Proxy.revocable({}, {});
    revoke();
    expect(refusal(() => readOptions(proxy, [], 'opts', P)).message).toBe(`${P} opts could not be read`);
    expect(refusal(() => readOptions(throwingGetter('zz'), ['a'], 'opts', P)).message).toBe(
      `${P} opts.zz could not be read`,
    );
  });

  it('refuses a non-object and a field that cannot be read, naming it', () => {
    expect(refusal(() => readOptions(null, ['a'], 'opts', P)).message).toBe(`${P} opts must be an object`);
    expect(refusal(() => readOptions('x', ['a'], 'opts', P)).message).toBe(`${P} opts must be an object`);
    const error = refusal(() => readOptions(throwingGetter('a'), ['a'], 'opts', P));
    expect(error.message).toBe(`${P} opts.a could not be read`);
    expect((error as Error & { cause?: unknown }).cause).toBeInstanceOf(Error);
  });
});

describe('readList', () => {
  it('copies an array, checking each element with its index', () => {
    const seen: number[] = [];
    const out = readList(['a', 'b'], 'keys', P, (item, i) => {
      seen.push(i);
      return String(item).toUpperCase();
    });
    expect(out).toEqual(['A', 'B']);
    expect(seen).toEqual([0, 1]);
  });

  it('refuses a non-array, an unreadable array and an unreadable element', () => {
    expect(refusal(() => readList({ length: 1 }, 'keys', P, String)).message).toBe(
      `${P} keys must be an array`,
    );
    const { proxy, revoke } = Proxy.revocable<unknown[]>([], {});
    revoke();
    expect(refusal(() => readList(proxy, 'keys', P, String)).message).toBe(`${P} keys could not be read`);
    const holey = ['a'];
    Object.defineProperty(holey, 1, {
      get() {
        throw new Error('getter');
      },
    });
    expect(refusal(() => readList(holey, 'keys', P, String)).message).toBe(`${P} keys[1] could not be read`);
  });
});

describe('readRecord', () => {
  it('gives the entries of a plain or null-prototype object', () => {
    expect(readRecord({ a: 1 }, 'entries', P)).toEqual([['a', 1]]);
    const bare = Object.assign(Object.create(null) as object, { b: 2 });
    expect(readRecord(bare, 'entries', P)).toEqual([['b', 2]]);
  });

  it('refuses anything else with what was expected, and what cannot be read', () => {
    expect(refusal(() => readRecord(new Map(), 'entries', P)).message).toBe(
      `${P} entries must be an array of [key, value] pairs or a plain object`,
    );
    expect(refusal(() => readRecord([], 'metadata', P, 'a plain object of strings')).message).toBe(
      `${P} metadata must be a plain object of strings`,
    );
    expect(refusal(() => readRecord(throwingGetter('a'), 'entries', P)).message).toBe(
      `${P} entries could not be read`,
    );
  });
});

describe('readSignal', () => {
  it('passes undefined and a real AbortSignal through', () => {
    const signal = new AbortController().signal;
    expect(readSignal(undefined, P)).toBeUndefined();
    expect(readSignal(signal, P)).toBe(signal);
    expect(readSignal(AbortSignal.abort(), P)?.aborted).toBe(true);
  });

  it.each([
    ['a look-alike', { aborted: true }],
    ['an object made from the prototype', Object.create(AbortSignal.prototype)],
    ['null', null],
    ['a string', 'signal'],
  ])('refuses %s', (_, signal) => {
    expect(refusal(() => readSignal(signal, P)).message).toBe(`${P} signal must be an AbortSignal`);
  });
});
