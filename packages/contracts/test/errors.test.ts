import { describe, expect, it } from '@jest/globals';
import {
  AuthenticationError,
  ConnectionError,
  InfrastructureError,
  isInfrastructureError,
} from '../src/index.js';

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

  it('a ConnectionError is retryable unless the request may have reached the server', () => {
    const before = new ConnectionError('refused');
    expect(before.retryable).toBe(true);
    expect(before.maybeExecuted).toBe(false);
    const after = new ConnectionError('lost mid-command', { maybeExecuted: true });
    expect(after.retryable).toBe(false);
    expect(after.maybeExecuted).toBe(true);
    // A read-only request may say so itself: running it twice changes nothing.
    expect(new ConnectionError('lost mid-GET', { maybeExecuted: true, retryable: true }).retryable).toBe(
      true,
    );
  });

  it('an AuthenticationError has code AUTH and is never retryable', () => {
    const error = new AuthenticationError('[voelgoed:redis] WRONGPASS');
    expect(error.code).toBe('AUTH');
    expect(error.retryable).toBe(false);
    expect(isInfrastructureError(error, 'AUTH')).toBe(true);
  });
});
