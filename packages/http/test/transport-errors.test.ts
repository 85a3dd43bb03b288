import { validateHeaderName, validateHeaderValue } from 'node:http';
import { describe, expect, it } from '@jest/globals';
import { isInfrastructureError } from '@voelgoed/contracts';
import { errors as undiciErrors } from 'undici';
import { mapTransportError } from '../src/transport-errors.js';

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected a throw');
}

describe('mapTransportError', () => {
  const url = new URL('http://example.com/path?token=s3cr3t');

  // The request is checked before it reaches a transport; should a transport still refuse one,
  // it is the caller's mistake: never a retryable ConnectionError the breaker would count.
  it.each([
    ['Node: a character past latin1', () => thrown(() => validateHeaderValue('x-name', 'Zoë Ω'))],
    ['Node: an invalid header name', () => thrown(() => validateHeaderName('bad name'))],
    ['undici: an invalid argument', () => new undiciErrors.InvalidArgumentError('invalid x-name header')],
    ['undici: not supported', () => new undiciErrors.NotSupportedError('expect header not supported')],
  ])(
    'maps a request the transport refused to send (%s) to INVALID_ARGUMENT, other failures to CONNECTION',
    (_name, make) => {
      const error = mapTransportError(make(), 'GET', url, false);
      expect(isInfrastructureError(error, 'INVALID_ARGUMENT')).toBe(true);
      expect(error.retryable).toBe(false);
      expect(error.message).toMatch(
        /^\[voelgoed:http\] GET http:\/\/example.com\/path: the transport refused/,
      );
      expect(error.message).not.toContain('s3cr3t');
      // Other failures stay connection failures.
      const reset = Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
      expect(isInfrastructureError(mapTransportError(reset, 'GET', url, false), 'CONNECTION')).toBe(true);
    },
  );
});

describe('whether a failed request may have been sent', () => {
  const url = new URL('https://example.com/charge');
  const failure = (code: string, nested = false) => {
    const error = Object.assign(new Error(`failed: ${code}`), { code });
    return nested ? new Error('request failed', { cause: error }) : error;
  };

  it.each([
    ['ECONNREFUSED', false],
    ['ENOTFOUND', false],
    ['EAI_AGAIN', false],
    ['EHOSTUNREACH', false],
    ['UNABLE_TO_VERIFY_LEAF_SIGNATURE', false],
    ['ERR_TLS_CERT_ALTNAME_INVALID', false],
    ['DEPTH_ZERO_SELF_SIGNED_CERT', false],
    ['ECONNRESET', true],
    ['EPIPE', true],
    ['UND_ERR_SOCKET', true],
    ['ERR_STREAM_PREMATURE_CLOSE', true],
  ])('%s: maybeExecuted %s (also when the code is in a cause)', (code, sent) => {
    for (const nested of [false, true]) {
      const error = mapTransportError(failure(code, nested), 'POST', url, false);
      expect(isInfrastructureError(error, 'CONNECTION')).toBe(true);
      expect((error as { maybeExecuted?: boolean }).maybeExecuted).toBe(sent);
    }
  });

  it('a failure without any code may have been sent', () => {
    const error = mapTransportError(new Error('socket hang up'), 'POST', url, false);
    expect((error as { maybeExecuted?: boolean }).maybeExecuted).toBe(true);
  });
});
