import { describe, expect, it } from '@jest/globals';
import * as contracts from '@voelgoed/contracts';
import { InfrastructureError, isInfrastructureError } from '@voelgoed/contracts';
import { invalidArgument } from '../src/errors.js';
import * as lock from '../src/index.js';
import { LockNotAcquiredError, LockTimeoutError } from '../src/index.js';

describe('@voelgoed/lock errors', () => {
  it('are InfrastructureErrors of @voelgoed/contracts, prefixed with the adapter', () => {
    const error = invalidArgument('key must not be empty');
    expect(error).toBeInstanceOf(InfrastructureError);
    expect(isInfrastructureError(error)).toBe(true);
    expect(error.code).toBe('INVALID_ARGUMENT');
    expect(error.retryable).toBe(false);
    expect(error.message).toBe('[voelgoed:lock] key must not be empty');
  });

  it('re-exports the contracts classes it throws, and no internal helpers', () => {
    expect(LockTimeoutError).toBe(contracts.LockTimeoutError);
    expect(lock.LockLostError).toBe(contracts.LockLostError);
    const error = new LockNotAcquiredError('contention', ['r'], 3);
    expect(isInfrastructureError(error, 'LOCK_TIMEOUT')).toBe(true);
    expect(error).toBeInstanceOf(LockTimeoutError);
    for (const helper of ['invalidArgument', 'MESSAGE_PREFIX']) {
      expect(Object.keys(lock)).not.toContain(helper);
    }
  });
});
