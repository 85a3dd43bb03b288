import { describe, expect, it } from '@jest/globals';
import type { Dispatcher } from 'undici';
import type { BufferedTransportResponse, ReadControl, TransportResponse } from '../src/index.js';
import { ReadHandler } from '../src/undici-read.js';

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
});
