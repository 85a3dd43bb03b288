// The body of a get hands the HTTP response through (no wrapper stream): these check, against a
// local HTTP server answering like S3, that what the wrapper was for still holds: a body cut
// short errors with a typed error, a body a caller destroys closes its connection, a range
// answered whole is cut to the range.
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { isInfrastructureError } from '@voelgoed/contracts';
import { readAll } from '@voelgoed/testkit';
import type { S3Storage } from '../src/index.js';
import { bytes, fakeS3Storage } from './helpers.js';

const OBJECT = bytes(4096);
let server: http.Server;
let port: number;
const sockets = new Set<Socket>();
let closedSockets = 0;
const opened: S3Storage[] = [];

beforeAll(async () => {
  server = http.createServer((req, res) => {
    const headers = {
      'content-type': 'application/octet-stream',
      etag: '"0123456789abcdef0123456789abcdef"',
      'last-modified': new Date(0).toUTCString(),
      'content-length': String(OBJECT.length),
    };
    if (req.url?.includes('/short')) {
      // Announces 4096 bytes, sends 1000, then drops the connection.
      res.writeHead(200, headers);
      res.write(OBJECT.subarray(0, 1000), () => setTimeout(() => req.socket.destroy(), 20));
      return;
    }
    if (req.url?.includes('/slow')) {
      // Sends the first half, the rest never (until the client gives up).
      res.writeHead(200, headers);
      res.write(OBJECT.subarray(0, 2048));
      return;
    }
    // Ignores any Range: the whole object with 200.
    res.writeHead(200, headers);
    res.end(OBJECT);
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => {
      sockets.delete(socket);
      closedSockets++;
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});

afterAll(async () => {
  for (const s of opened) await s.close();
  for (const socket of sockets) socket.destroy();
  await new Promise((resolve) => server.close(resolve));
});

function storage(): S3Storage {
  const s = fakeS3Storage(port, 'body-bucket', { region: 'us-east-1', pathStyle: true });
  opened.push(s);
  return s;
}

describe('S3 get body, handed through', () => {
  it('reads a whole body, and cuts a range answered whole to the range', async () => {
    const s = storage();
    const whole = await s.get('whole');
    expect(whole.size).toBe(4096);
    expect((await readAll(whole.body)).equals(OBJECT)).toBe(true);
    const range = await s.getRange('whole', 100, 1099);
    expect((await readAll(range.body)).equals(OBJECT.subarray(100, 1100))).toBe(true);
  });

  it('a body cut short errors with a typed, retryable CONNECTION error, not an early end', async () => {
    const s = storage();
    const { body } = await s.get('short');
    const error = await readAll(body).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isInfrastructureError(error, 'CONNECTION')).toBe(true);
    expect((error as { retryable?: boolean }).retryable).toBe(true);
  });

  it("aborting get's signal while the body is read fails it with ABORTED, not a retryable CONNECTION", async () => {
    const s = storage();
    const controller = new AbortController();
    const { body } = await s.get('slow', { signal: controller.signal });
    // The server sent half the body and holds the rest: the abort is what ends it.
    await new Promise<void>((resolve) => body.once('data', () => resolve()));
    controller.abort();
    const error = await readAll(body).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isInfrastructureError(error, 'ABORTED')).toBe(true);
    expect((error as { retryable?: boolean }).retryable).toBe(false);
    // getRange's body (cut from a range answered whole) too.
    const ranged = new AbortController();
    const range = await s.getRange('slow', 0, 4000, { signal: ranged.signal });
    await new Promise<void>((resolve) => range.body.once('data', () => resolve()));
    ranged.abort();
    const rangeError = await readAll(range.body).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isInfrastructureError(rangeError, 'ABORTED')).toBe(true);
  });

  it('a body held unread (no listener yet) when the signal aborts or the storage closes: typed on read, no crash', async () => {
    // getRange's body cut from a range answered whole used to emit its error with no listener
    // (the process ended); get's handed the raw ECONNRESET to a reader that came later.
    for (const cut of ['abort', 'close'] as const) {
      for (const op of ['get', 'getRange'] as const) {
        const s = storage();
        const controller = new AbortController();
        const { body } =
          op === 'get'
            ? await s.get('slow', { signal: controller.signal })
            : await s.getRange('slow', 0, 4000, { signal: controller.signal });
        if (cut === 'abort') controller.abort();
        else await s.close();
        // A turn for the destroyed connection to reach the body before anyone reads it.
        await new Promise((resolve) => setImmediate(resolve));
        await new Promise((resolve) => setTimeout(resolve, 20));
        const error = await readAll(body).then(
          () => undefined,
          (e: unknown) => e,
        );
        const want = cut === 'abort' ? 'ABORTED' : 'CONNECTION';
        expect({ cut, op, code: (error as { code?: string })?.code }).toEqual({ cut, op, code: want });
        expect(isInfrastructureError(error)).toBe(true);
      }
    }
  });

  it('destroying a body closes its connection', async () => {
    const s = storage();
    const { body } = await s.get('slow');
    const before = closedSockets;
    await new Promise<void>((resolve) => body.once('data', () => resolve()));
    body.destroy();
    await new Promise<void>((resolve, reject) => {
      const started = Date.now();
      const poll = () => {
        if (closedSockets > before) resolve();
        else if (Date.now() - started > 10_000) reject(new Error('the connection stayed open'));
        else setTimeout(poll, 10);
      };
      poll();
    });
    expect(closedSockets).toBeGreaterThan(before);
  });
});
