import net from 'node:net';
import util from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { isInfrastructureError } from '@voelgoed/contracts';
import { readAll, waitFor } from '@voelgoed/testkit';
import { createHttpClient, HttpStatusError } from '../src/index.js';
import { rejectionOf, TRANSPORTS } from './helpers.js';

// A response body that fails is a typed error on both transports, never a hang and never a
// vendor error. Found by an independent check: got lost a body error that came with the head
// (get() waited out timeoutMs, stream() never settled), stream() hung on an error status whose
// body never ended, and a failing stream() body reached the caller as got's or undici's own error.

/** What the server writes for each path (a raw socket: it can send what node:http would not). */
const REPLIES: Record<string, string> = {
  '/bad-chunk': 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\nZZZ\r\nbad\r\n',
  '/past-length': 'HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabcdefgh',
  '/gzip-bad-chunk':
    'HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\nZZZ\r\nbad\r\n',
  // These never end: the test cuts the connection or aborts the request.
  '/cut': 'HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\nabc',
  '/trickle': 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n',
  '/404-stall':
    'HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\nf\r\nnot found, and \r\n',
};

describe.each(TRANSPORTS)('a response body that fails, over %s', (transport) => {
  let server: net.Server;
  let origin: string;
  const sockets = new Set<net.Socket>();
  /** The path of every request the server received (a path it has no reply for is never answered). */
  const received: string[] = [];

  beforeAll(async () => {
    server = net.createServer((socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => {});
      socket.on('data', (chunk) => {
        const path = /^[A-Z]+ ([^ ?]+)/.exec(chunk.toString('latin1'))?.[1];
        if (path !== undefined) received.push(path);
        const reply = path === undefined ? undefined : REPLIES[path];
        if (reply !== undefined) socket.write(reply);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    origin = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
  });
  afterAll(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => server.close(resolve));
  });

  /** Cuts every open connection (the server side of a body being read). */
  const cutAll = () => {
    for (const socket of sockets) socket.destroy();
  };

  it.each(['/bad-chunk', '/gzip-bad-chunk'])(
    'a malformed body that comes with the head (%s) fails at once with CONNECTION',
    async (path) => {
      // A timeout far past the test's own: only the body's error can end these in time.
      const c = createHttpClient({ transport, retry: false, timeoutMs: 120_000 });
      try {
        const read = await rejectionOf(c.get(`${origin}${path}`));
        expect(read).toMatchObject({ code: 'CONNECTION', maybeExecuted: true, retryable: true });
        const streamed = await rejectionOf(
          c.stream({ url: `${origin}${path}` }).then((r) => readAll(r.body)),
        );
        expect(streamed).toMatchObject({ code: 'CONNECTION', maybeExecuted: true });
      } finally {
        await c.close();
      }
    },
  );

  it('bytes past Content-Length that come with the head end it at once: the declared body or CONNECTION', async () => {
    // undici takes the 3 declared bytes and drops the connection; Node's parser (under got)
    // fails the request. Either is a fair answer; waiting out the timeout is not.
    const c = createHttpClient({ transport, retry: false, timeoutMs: 120_000 });
    const outcome = (error: unknown) => (error as { code?: unknown }).code;
    try {
      const read = await c.get(`${origin}/past-length`).then((r) => r.text(), outcome);
      expect(['abc', 'CONNECTION']).toContain(read);
      const streamed = await c
        .stream({ url: `${origin}/past-length` })
        .then((r) => readAll(r.body))
        .then((bytes) => bytes.toString(), outcome);
      expect(['abc', 'CONNECTION']).toContain(streamed);
    } finally {
      await c.close();
    }
  });

  it('a stream() body cut by the server fails with CONNECTION, no secret in it', async () => {
    const c = createHttpClient({
      transport,
      retry: false,
      headers: { authorization: 'Bearer TOP-SECRET-TOKEN' },
    });
    try {
      const response = await c.stream({ url: `${origin}/cut?api_key=QUERY-SECRET` });
      const error = await rejectionOf(
        (async () => {
          for await (const _chunk of response.body) cutAll();
        })(),
      );
      expect(isInfrastructureError(error)).toBe(true);
      expect(error).toMatchObject({ code: 'CONNECTION', maybeExecuted: true });
      const dump = util.inspect(error, { depth: 8, showHidden: true });
      expect(dump).not.toContain('TOP-SECRET-TOKEN');
      expect(dump).not.toContain('QUERY-SECRET');
    } finally {
      await c.close();
    }
  });

  it('close() ends at once, failing a stream() body being read and a request waiting for its head with CONNECTION', async () => {
    // A timeout far past the test's own: only close() can end these in time.
    const c = createHttpClient({ transport, retry: false, timeoutMs: 120_000 });
    let closing: Promise<void> | undefined;
    try {
      const response = await c.stream({ url: `${origin}/trickle` });
      // Never answered; sent before close() so that it is in flight, not merely queued.
      const waiting = rejectionOf(c.get(`${origin}/silent`));
      await waitFor('the request to be received', async () => received.includes('/silent') || undefined);
      const reading = rejectionOf(
        (async () => {
          for await (const _chunk of response.body) closing ??= c.close();
        })(),
      );
      expect(await reading).toMatchObject({ code: 'CONNECTION', maybeExecuted: true });
      await closing;
      expect(await waiting).toMatchObject({ code: 'CONNECTION', maybeExecuted: true });
      expect(isInfrastructureError(await rejectionOf(c.get(`${origin}/trickle`)), 'CONNECTION')).toBe(true);
    } finally {
      await c.close();
    }
    // A close() that waits for the open body never ends: fail well before the suite's timeout.
  }, 15_000);

  it("the caller's abort while a stream() body is read fails it with ABORTED", async () => {
    const c = createHttpClient({ transport, retry: false });
    const controller = new AbortController();
    try {
      const response = await c.stream({ url: `${origin}/trickle`, signal: controller.signal });
      const error = await rejectionOf(
        (async () => {
          for await (const _chunk of response.body) controller.abort();
        })(),
      );
      expect(isInfrastructureError(error)).toBe(true);
      expect(error).toMatchObject({ code: 'ABORTED' });
    } finally {
      await c.close();
    }
  });

  it('stream() of an error status whose body never ends: HttpStatusError within timeoutMs, slot released', async () => {
    // timeoutMs bounds reading the error's excerpt too; the status is what the caller gets.
    const c = createHttpClient({
      transport,
      retry: false,
      timeoutMs: 2000,
      bulkhead: { maxConcurrent: 1, maxQueued: 0 },
    });
    try {
      const error = await rejectionOf(c.stream({ url: `${origin}/404-stall` }));
      expect(error).toBeInstanceOf(HttpStatusError);
      expect(error).toMatchObject({ code: 'HTTP_STATUS', status: 404 });
      expect((error as unknown as HttpStatusError).response.body.text()).toBe('not found, and ');
      // The bulkhead's one slot is free again: a second request is let through, not refused.
      const again = await rejectionOf(c.stream({ url: `${origin}/404-stall` }));
      expect(again).toMatchObject({ code: 'HTTP_STATUS', status: 404 });
    } finally {
      await c.close();
    }
  });
});
