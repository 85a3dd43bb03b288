import { expect } from '@jest/globals';
import { isInfrastructureError } from '../../src/index.js';

/** The message prefix the rule tests pass to the rules. */
export const P = '[voelgoed:test]';

/** The INVALID_ARGUMENT error `action` throws, its message starting with {@link P}; fails if it throws none. */
export function refusal(action: () => unknown): Error {
  try {
    action();
  } catch (error) {
    expect(isInfrastructureError(error, 'INVALID_ARGUMENT')).toBe(true);
    expect((error as Error).message.startsWith(`${P} `)).toBe(true);
    return error as Error;
  }
  throw new Error('expected INVALID_ARGUMENT');
}
