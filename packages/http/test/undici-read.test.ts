import { Readable } from 'node:stream';
import { describe, expect, it } from '@jest/globals';
import { readAll } from '@voelgoed/testkit';
import type { Dispatcher } from 'undici';
import type { BufferedTransportResponse, ReadControl, TransportResponse } from '../src/index.js';
import { bodilessBody, ReadHandler } from '../src/undici-read.js';

/** A dispatch controller that records aborts, as undici's would be driven by a connection. */
function controller(): Dispatcher.DispatchController & { aborted: unknown[] } {
  const aborted: unknown[] = [];
  return {
    aborted,
    paused: false,
    reason: null,
    abort: (reason: Error) => {
      aborted.push(reason);
    },
    pause: () => {},
    resume: () => {},
  } as unknown as Dispatcher.DispatchController & { aborted: unknown[] };
}

function handler(limit = 100) {
  const tooLarge = new Error('too large');
  const control: ReadControl = {
    setAbort: () => {},
    onHead: () => limit,
    tooLarge: () => tooLarge,
  };
  let settle!: {
    resolve: (r: TransportResponse | BufferedTransportResponse) => void;
    reject: (e: unknown) => void;
  };
  const result = new Promise<TransportResponse | BufferedTransportResponse>((resolve, reject) => {
    settle = { resolve, reject };
  });
  const h = new ReadHandler(
    { method: 'GET', url: new URL('http://127.0.0.1:1/x'), headers: {}, body: undefined, control },
    (r) => settle.resolve(r),
    (e) => settle.reject(e),
  );
  return { h, result, tooLarge };
}

describe('undici ReadHandler', () => {
  it('reads the body into one buffer with flattened headers', async () => {
    const { h, result } = handler();
    const c = controller();
    h.onRequestStart(c);
    h.onResponseStart(c, 200, { 'content-type': 'text/plain', 'set-cookie': ['a=1', 'b=2'] });
    h.onResponseData(c, Buffer.from('hel'));
    h.onResponseData(c, Buffer.from('lo'));
    h.onResponseEnd();
    const response = (await result) as BufferedTransportResponse;
    expect(response.status).toBe(200);
    expect(response.headers).toEqual({ 'content-type': 'text/plain', 'set-cookie': 'a=1, b=2' });
    expect(response.bytes.toString()).toBe('hello');
  });

  it('takes the headers from the fourth argument when an early undici 7 passes the status message third', async () => {
    const { h, result } = handler();
    const c = controller();
    h.onRequestStart(c);
    h.onResponseStart(c, 201, 'Created', { 'content-length': '2' });
    h.onResponseData(c, Buffer.from('ok'));
    h.onResponseEnd();
    const response = (await result) as BufferedTransportResponse;
    expect(response.headers).toEqual({ 'content-length': '2' });
  });

  it('settles at once when aborted before the request started, and aborts it when it starts', async () => {
    const { h, result } = handler();
    const reason = new Error('timed out');
    h.abort(reason);
    await expect(result).rejects.toBe(reason);
    const c = controller();
    h.onRequestStart(c);
    expect(c.aborted).toEqual([reason]);
  });

  it('aborts with the control’s error past the byte limit', async () => {
    const { h, result, tooLarge } = handler(4);
    const c = controller();
    h.onRequestStart(c);
    h.onResponseStart(c, 200, {});
    h.onResponseData(c, Buffer.from('abc'));
    h.onResponseData(c, Buffer.from('de'));
    await expect(result).rejects.toBe(tooLarge);
    expect(c.aborted).toEqual([tooLarge]);
  });

  // undici 7 fails a 204 or 304 that declares a Content-Length once the (empty) message completes;
  // undici 8 ends it. The calls below are undici 7's, in its order, with its error.
  const mismatch = () =>
    Object.assign(new Error('Response body length does not match content-length header'), {
      code: 'UND_ERR_RES_CONTENT_LENGTH_MISMATCH',
    });

  it('ends a 204 or 304 that undici 7 fails for its declared Content-Length; fails other errors', async () => {
    for (const status of [204, 304]) {
      const read = handler();
      const c = controller();
      read.h.onRequestStart(c);
      read.h.onResponseStart(c, status, { 'content-length': '1234', etag: '"v1"' });
      read.h.onResponseError(c, mismatch());
      const response = (await read.result) as BufferedTransportResponse;
      expect([response.status, response.headers, response.bytes.length]).toEqual([
        status,
        { 'content-length': '1234', etag: '"v1"' },
        0,
      ]);

      const streamed = handler(-1);
      streamed.h.onRequestStart(c);
      streamed.h.onResponseStart(c, status, { 'content-length': '1234' });
      const head = (await streamed.result) as TransportResponse;
      streamed.h.onResponseError(c, mismatch());
      expect([head.status, (await readAll(head.body)).length]).toEqual([status, 0]);

      // undici's request(): the body it hands over errors the same way.
      const source = new Readable({ read() {} });
      const body = bodilessBody(status, source);
      source.destroy(mismatch());
      expect((await readAll(body)).length).toBe(0);
    }

    // Still failed: a length mismatch on a status that has a body, and any other error on a 304.
    const read = handler();
    const c = controller();
    read.h.onRequestStart(c);
    read.h.onResponseStart(c, 200, { 'content-length': '1234' });
    read.h.onResponseError(c, mismatch());
    await expect(read.result).rejects.toMatchObject({ code: 'CONNECTION' });

    const reset = handler();
    reset.h.onRequestStart(c);
    reset.h.onResponseStart(c, 304, {});
    reset.h.onResponseError(c, Object.assign(new Error('other side closed'), { code: 'UND_ERR_SOCKET' }));
    await expect(reset.result).rejects.toMatchObject({ code: 'CONNECTION' });

    const source = new Readable({ read() {} });
    const body = bodilessBody(304, source);
    const other = new Error('other side closed');
    source.destroy(other);
    await expect(readAll(body)).rejects.toBe(other);
  });
});
