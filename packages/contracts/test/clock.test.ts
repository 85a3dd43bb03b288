import { describe, expect, it } from '@jest/globals';
import { InvalidArgumentError } from '../src/index.js';
import { ManualClock, systemClock } from '../src/memory.js';

describe('clocks', () => {
  it('systemClock reads Date.now()', () => {
    const before = Date.now();
    const now = systemClock.now();
    expect(now).toBeGreaterThanOrEqual(before);
    expect(now).toBeLessThanOrEqual(Date.now());
  });

  it('ManualClock moves only when told, never backwards', () => {
    const clock = new ManualClock(10);
    expect(clock.now()).toBe(10);
    expect(clock.advance(5)).toBe(15);
    expect(clock.set(100)).toBe(100);
    expect(clock.now()).toBe(100);
    expect(() => clock.advance(-1)).toThrow(InvalidArgumentError);
    expect(() => clock.advance(Number.NaN)).toThrow(InvalidArgumentError);
    expect(() => clock.set(99)).toThrow(InvalidArgumentError);
    expect(() => new ManualClock(Number.POSITIVE_INFINITY)).toThrow(InvalidArgumentError);
    expect(new ManualClock().now()).toBe(0);
  });
});
