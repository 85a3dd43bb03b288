import { describe, expect, it } from '@jest/globals';
import {
  AuthenticationError,
  ConnectionError,
  errorCodeOf,
  HttpErrorBody,
  HttpStatusError,
  InfrastructureError,
  isInfrastructureError,
} from '../src/index.js';
import { FakeHttpClient } from '../src/memory.js';

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

describe('HttpStatusError body', () => {
  const utf8 = (text: string) => new TextEncoder().encode(text);

  it('keeps the bytes (a view, not a copy) and decodes them with text() and json()', () => {
    const bytes = utf8('xx{"error":"card_declined","amount":1200}');
    const error = new HttpStatusError('declined', { status: 402, headers: {}, body: bytes.subarray(2) });
    const { body } = error.response;
    expect(body).toBeInstanceOf(Uint8Array);
    expect(body).toBeInstanceOf(HttpErrorBody);
    expect(body.buffer).toBe(bytes.buffer);
    expect(Buffer.from(body).toString('utf8')).toBe('{"error":"card_declined","amount":1200}');
    expect(body.text()).toBe('{"error":"card_declined","amount":1200}');
    expect(body.json<{ error: string }>().error).toBe('card_declined');
  });

  it('decodes UTF-8 beyond ASCII, and an empty body as an empty string', () => {
    const error = new HttpStatusError('x', { status: 500, headers: {}, body: utf8('fout: ë €') });
    expect(error.response.body.text()).toBe('fout: ë €');
    expect(
      new HttpStatusError('x', { status: 500, headers: {}, body: new Uint8Array() }).response.body.text(),
    ).toBe('');
  });

  it('json() of a body that is not JSON throws INVALID_ARGUMENT, as HttpResponse.json() does', () => {
    const error = new HttpStatusError('x', {
      status: 502,
      headers: {},
      body: utf8('<html>Bad Gateway</html>'),
    });
    let thrown: unknown;
    try {
      error.response.body.json();
    } catch (caught) {
      thrown = caught;
    }
    expect(isInfrastructureError(thrown, 'INVALID_ARGUMENT')).toBe(true);
    expect((thrown as Error).message).not.toContain('Bad Gateway');
  });

  it('has the same shape from the FakeHttpClient of the memory twins', async () => {
    const http = new FakeHttpClient({ baseUrl: 'https://tickets.example' });
    http.enqueue({ status: 409, json: { error: 'seat_taken' } });
    const error = await http.post('/holds', { json: {} }).catch((caught: unknown) => caught);
    expect(isInfrastructureError(error, 'HTTP_STATUS')).toBe(true);
    const status = error as HttpStatusError;
    expect(status.response.body).toBeInstanceOf(HttpErrorBody);
    expect(status.response.body.json()).toEqual({ error: 'seat_taken' });
  });
});

describe('errorCodeOf', () => {
  it('reports a string code, else UNKNOWN, and never throws', () => {
    expect(errorCodeOf(new InfrastructureError('SOME_CODE', 'x'))).toBe('SOME_CODE');
    expect(errorCodeOf(Object.assign(new Error('x'), { code: 'E_HANDLER' }))).toBe('E_HANDLER');
    expect(errorCodeOf(Object.assign(new Error('x'), { code: 42 }))).toBe('UNKNOWN');
    expect(errorCodeOf(new Error('x'))).toBe('UNKNOWN');
    expect(errorCodeOf(null)).toBe('UNKNOWN');
    expect(errorCodeOf(undefined)).toBe('UNKNOWN');
    expect(errorCodeOf('text')).toBe('UNKNOWN');
    const hostile = {
      get code(): string {
        throw new Error('boom');
      },
    };
    expect(errorCodeOf(hostile)).toBe('UNKNOWN');
  });
});
