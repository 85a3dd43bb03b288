import { expect, it } from '@jest/globals';
import * as contracts from '@voelgoed/contracts';
import { ErrorCodes } from '@voelgoed/contracts';
import { describeAdapterErrors } from '@voelgoed/testkit/adapter-errors';
import { invalidArgument } from '../src/errors.js';
import * as http from '../src/index.js';
import {
  ForbiddenTargetError,
  HttpErrorCodes,
  HttpTimeoutError,
  isHttpError,
  TimeoutError,
  TooManyRedirectsError,
  WebhookVerificationError,
} from '../src/index.js';

const adapter = {
  packageName: '@voelgoed/http',
  prefix: '[voelgoed:http]',
  module: http,
  contracts,
  invalidArgument,
  reExports: ['HttpStatusError'],
  internals: ['invalidArgument', 'MESSAGE_PREFIX'],
  moreReExportChecks: () => {
    expect(new HttpTimeoutError('t', 'connect')).toBeInstanceOf(TimeoutError);
  },
};

describeAdapterErrors(adapter, () => {
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
