import { describe, expect, it } from '@jest/globals';
import { fieldsOf } from '../src/index.js';

interface Options {
  a?: number;
  b: string;
  c?: boolean;
}

describe('fieldsOf', () => {
  it('returns the list it is given when it names every field of the type', () => {
    expect(fieldsOf<Options>()(['a', 'b', 'c'])).toEqual(['a', 'b', 'c']);
  });

  it('does not compile when a field is left out or one is named that the type lacks', () => {
    // The typecheck (`tsc --noEmit` over test/) fails if either line compiles.
    // @ts-expect-error c is left out
    const missing = fieldsOf<Options>()(['a', 'b']);
    // @ts-expect-error d is no field of Options
    const extra = fieldsOf<Options>()(['a', 'b', 'c', 'd']);
    expect([missing.length, extra.length]).toEqual([2, 4]);
  });
});
