import { describe, expect, it } from '@jest/globals';
import {
  HttpStatusError as ContractsHttpStatusError,
  ErrorCodes,
  InfrastructureError,
  isInfrastructureError,
} from '@voelgoed/contracts';
import { invalidArgument } from '../src/errors.js';
import * as http from '../src/index.js';
import {
  ForbiddenTargetError,
  HttpErrorCodes,
  HttpStatusError,
  HttpTimeoutError,
  isHttpError,
  TimeoutError,
  TooManyRedirectsError,
  WebhookVerificationError,
} from '../src/index.js';

describe('@voelgoed/http errors', () => {
  it('are InfrastructureErrors of @voelgoed/contracts, prefixed with the adapter', () => {
    const error = invalidArgument('key must not be empty');
    expect(error).toBeInstanceOf(InfrastructureError);
    expect(isInfrastructureError(error)).toBe(true);
    expect(error.code).toBe('INVALID_ARGUMENT');
    expect(error.retryable).toBe(false);
    expect(error.message).toBe('[voelgoed:http] key must not be empty');
  });

  it('re-exports the contracts classes it throws, and no internal helpers', () => {
    expect(HttpStatusError).toBe(ContractsHttpStatusError);
    expect(new HttpTimeoutError('t', 'connect')).toBeInstanceOf(TimeoutError);
    expect(Object.keys(http)).not.toEqual(expect.arrayContaining(['invalidArgument']));
    expect(Object.keys(http)).not.toEqual(expect.arrayContaining(['MESSAGE_PREFIX']));
  });

  it('isHttpError tells each of its own codes apart, and the contracts codes', () => {
    const redirects = new TooManyRedirectsError('x');
    const forbidden = new ForbiddenTargetError('x');
    const signature = new WebhookVerificationError('no_matching_signature', 'x');
    expect([redirects.code, forbidden.code, signature.code]).toEqual([
      HttpErrorCodes.TOO_MANY_REDIRECTS,
      HttpErrorCodes.FORBIDDEN_TARGET,
      HttpErrorCodes.SIGNATURE_INVALID,
    ]);
    expect(isHttpError(redirects, 'TOO_MANY_REDIRECTS')).toBe(true);
    expect(isHttpError(redirects, 'FORBIDDEN_TARGET')).toBe(false);
    expect(isHttpError(forbidden, 'FORBIDDEN_TARGET')).toBe(true);
    expect(isHttpError(signature, 'SIGNATURE_INVALID')).toBe(true);
    expect(isHttpError(new HttpTimeoutError('t', 'deadline'), ErrorCodes.TIMEOUT)).toBe(true);
    expect(isHttpError(redirects)).toBe(true);
    expect(isHttpError(new Error('plain'))).toBe(false);
    expect(isHttpError({ code: 'TOO_MANY_REDIRECTS' }, 'TOO_MANY_REDIRECTS')).toBe(false);
  });
});
