import { describe, expect, it } from '@jest/globals';
import { InfrastructureError, isInfrastructureError } from '@voelgoed/contracts';
import { invalidArgument } from '../src/index.js';

describe('@voelgoed/storage errors', () => {
  it('are InfrastructureErrors of @voelgoed/contracts, prefixed with the adapter', () => {
    const error = invalidArgument('key must not be empty');
    expect(error).toBeInstanceOf(InfrastructureError);
    expect(isInfrastructureError(error)).toBe(true);
    expect(error.code).toBe('INVALID_ARGUMENT');
    expect(error.retryable).toBe(false);
    expect(error.message).toBe('[voelgoed:storage] key must not be empty');
  });
});
