import http from 'node:http';
import net from 'node:net';
import { afterAll, describe, expect, it } from '@jest/globals';
import { faults, type HttpServer, startHttpServer, stopAll } from '../src/index.js';

afterAll(async () => {
  await stopAll();
});

/** A GET with node:http; resolves with the status, headers and each body piece as it arrived. */
function get(
  url: string,
): Promise<{ status: number; headers: http.IncomingHttpHeaders; pieces: string[]; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent: false }, (res) => {
      const pieces: string[] = [];
      res.setEncoding('utf8');
      res.on('data', (piece: string) => pieces.push(piece));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, pieces, body: pieces.join('') }),
      );
      res.on('error', reject);
    });
    req.on('error', reject);
  });
}

function tryConnect(port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve('connected');
    });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? 'error'));
  });
}

async function statuses(server: HttpServer, n: number): Promise<number[]> {
  const seen: number[] = [];
  for (let i = 0; i < n; i++) seen.push((await fetch(server.url)).status);
  return seen;
}

describe('startHttpServer', () => {
  it('answers 200 ok by default on 127.0.0.1 and a free port, and logs every request with its body', async () => {
    const server = await startHttpServer();
    expect(server.origin).toBe(`http://127.0.0.1:${server.port}`);
    expect(server.url).toBe(`${server.origin}/`);
    const response = await fetch(new URL('/orders?page=2', server.url), {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-request-id': 'abc' },
      body: JSON.stringify({ hello: 'world' }),
    });
    expect(response.status).toBe(200);
    expect(await response.text()).toBe('ok');
    expect(server.requests).toHaveLength(1);
    const [recorded] = server.requests;
    expect(recorded!.method).toBe('POST');
    expect(recorded!.url).toBe('/orders?page=2');
    expect(recorded!.headers['x-request-id']).toBe('abc');
    expect(JSON.parse(recorded!.body.toString())).toEqual({ hello: 'world' });
    await server.stop();
  });

  it('setHandler() changes the answer for the next requests; a throwing handler gives a 500', async () => {
    const server = await startHttpServer(faults.json(200, { n: 1 }));
    expect(await (await fetch(server.url)).json()).toEqual({ n: 1 });
    server.setHandler(() => {
      throw new Error('boom');
    });
    const failed = await fetch(server.url);
    expect(failed.status).toBe(500);
    expect(await failed.text()).toMatch(/boom/);
    await server.stop();
  });

  it('stop() closes hung and keep-alive connections and never hangs; the port then refuses', async () => {
    const server = await startHttpServer(faults.hang());
    const keepAlive = new http.Agent({ keepAlive: true });
    const pending = new Promise<string>((resolve) => {
      const req = http.get(server.url, { agent: keepAlive }, () => resolve('answered'));
      req.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? 'error'));
    });
    // An idle connection that never sent a request is closed too.
    const idle = net.connect({ host: '127.0.0.1', port: server.port });
    await new Promise((resolve) => idle.once('connect', resolve));
    const idleClosed = new Promise((resolve) => idle.once('close', resolve));
    while (server.requests.length === 0) await new Promise((r) => setTimeout(r, 10));
    await server.stop();
    expect(await pending).toBe('ECONNRESET');
    await idleClosed;
    expect(await tryConnect(server.port)).toBe('ECONNREFUSED');
    await server.stop(); // twice is fine
    keepAlive.destroy();
  });

  it('stopAll() stops a server nobody stopped', async () => {
    const server = await startHttpServer();
    expect(await tryConnect(server.port)).toBe('connected');
    await stopAll();
    expect(await tryConnect(server.port)).toBe('ECONNREFUSED');
  });
});

describe('faults', () => {
  it('statusSequence: the statuses in turn, then the last one again; Retry-After on the non-2xx ones', async () => {
    const server = await startHttpServer(faults.statusSequence([503, 503, 200], { retryAfter: 2 }));
    const first = await fetch(server.url);
    expect(first.status).toBe(503);
    expect(first.headers.get('retry-after')).toBe('2');
    expect(await first.json()).toEqual({ status: 503 });
    expect(await statuses(server, 3)).toEqual([503, 200, 200]);
    const later = await fetch(server.url);
    expect(later.headers.get('retry-after')).toBeNull();
    await server.stop();
  });

  it('statusSequence counts per server, and takes a custom body', async () => {
    const handler = faults.statusSequence([500, 204], { body: 'custom' });
    const a = await startHttpServer(handler);
    const b = await startHttpServer(handler);
    expect(await statuses(a, 2)).toEqual([500, 204]);
    const fromB = await fetch(b.url);
    expect(fromB.status).toBe(500);
    expect(await fromB.text()).toBe('custom');
    await Promise.all([a.stop(), b.stop()]);
  });

  it('retryAfter: delta seconds, or an HTTP-date, with 503 or the status given', async () => {
    const server = await startHttpServer(faults.retryAfter(5));
    const seconds = await fetch(server.url);
    expect(seconds.status).toBe(503);
    expect(seconds.headers.get('retry-after')).toBe('5');
    const when = new Date(Date.UTC(2030, 0, 2, 3, 4, 5));
    server.setHandler(faults.retryAfter(when, 429));
    const dated = await fetch(server.url);
    expect(dated.status).toBe(429);
    expect(dated.headers.get('retry-after')).toBe('Wed, 02 Jan 2030 03:04:05 GMT');
    expect(new Date(dated.headers.get('retry-after')!).getTime()).toBe(when.getTime());
    await server.stop();
  });

  it('reset: the client sees ECONNRESET (node:http) or a failed fetch', async () => {
    const server = await startHttpServer(faults.reset());
    await expect(get(server.url)).rejects.toMatchObject({ code: 'ECONNRESET' });
    await expect(fetch(server.url)).rejects.toMatchObject({
      message: 'fetch failed',
      cause: { code: 'ECONNRESET' },
    });
    expect(server.requests).toHaveLength(2);
    await server.stop();
  });

  it('sequence composes: a reset first, then an answer (what a retrying client meets)', async () => {
    const server = await startHttpServer(faults.sequence([faults.reset(), faults.json(200, { ok: true })]));
    await expect(get(server.url)).rejects.toMatchObject({ code: 'ECONNRESET' });
    const second = await get(server.url);
    expect(second.status).toBe(200);
    expect(JSON.parse(second.body)).toEqual({ ok: true });
    await server.stop();
  });

  it('hang: no answer ever, so the client-side AbortSignal timeout fires', async () => {
    const server = await startHttpServer(faults.hang());
    await expect(fetch(server.url, { signal: AbortSignal.timeout(200) })).rejects.toMatchObject({
      name: 'TimeoutError',
    });
    expect(server.requests).toHaveLength(1);
    await server.stop();
  });

  it('slowBody: the body arrives in pieces, and whole', async () => {
    const server = await startHttpServer(faults.slowBody(['one,', 'two,', 'three,', 'four'], 40));
    const response = await get(server.url);
    expect(response.status).toBe(200);
    expect(response.body).toBe('one,two,three,four');
    expect(response.pieces.length).toBeGreaterThan(1);
    await server.stop();
  });

  it('delay: answers with the wrapped handler, later', async () => {
    const server = await startHttpServer(faults.delay(50, faults.json(201, { created: true })));
    const response = await fetch(server.url);
    expect(response.status).toBe(201);
    expect(await response.json()).toEqual({ created: true });
    await server.stop();
  });

  it('stop() during a delay ends the request at once: the client sees a failure', async () => {
    const server = await startHttpServer(faults.delay(60_000, faults.json(200, {})));
    const pending = fetch(server.url).then(
      () => 'answered',
      () => 'failed',
    );
    while (server.requests.length === 0) await new Promise((r) => setTimeout(r, 10));
    await server.stop();
    expect(await pending).toBe('failed');
  });

  it('json: status, JSON body (strings too) and extra headers', async () => {
    const server = await startHttpServer(faults.json(418, { teapot: true }, { 'x-extra': 'yes' }));
    const response = await fetch(server.url);
    expect(response.status).toBe(418);
    expect(response.headers.get('content-type')).toBe('application/json');
    expect(response.headers.get('x-extra')).toBe('yes');
    expect(await response.json()).toEqual({ teapot: true });
    server.setHandler(faults.json(200, 'text'));
    expect(await (await fetch(server.url)).json()).toBe('text');
    await server.stop();
  });
});
