import { describe, expect, it } from '@jest/globals';
import { InfrastructureError, isInfrastructureError } from '../src/index.js';

describe('InfrastructureError', () => {
  it('carries a stable code, retryable flag and cause', () => {
    const cause = new Error('ECONNREFUSED');
    const error = new InfrastructureError('CONNECTION', '[voelgoed:redis] connection refused', {
      retryable: true,
      cause,
    });
    expect(error).toBeInstanceOf(Error);
    expect(error.code).toBe('CONNECTION');
    expect(error.retryable).toBe(true);
    expect(error.cause).toBe(cause);
    expect(error.name).toBe('InfrastructureError');
    expect(error.message).toBe('[voelgoed:redis] connection refused');
  });

  it('is not retryable unless said so', () => {
    expect(new InfrastructureError('INVALID_ARGUMENT', 'bad').retryable).toBe(false);
  });

  it('is recognised through the registry brand, as a second copy of the package would make it', () => {
    const fromOtherCopy = Object.assign(new Error('x'), {
      code: 'TIMEOUT',
      [Symbol.for('@voelgoed/error')]: true,
    });
    expect(isInfrastructureError(fromOtherCopy)).toBe(true);
    expect(isInfrastructureError(new InfrastructureError('TIMEOUT', 'x'))).toBe(true);
    expect(isInfrastructureError(new Error('plain'))).toBe(false);
    expect(isInfrastructureError({ code: 'TIMEOUT' })).toBe(false);
    expect(isInfrastructureError(null)).toBe(false);
  });
});
