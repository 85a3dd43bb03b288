import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { ErrorCodes, type HttpStatusError } from '../errors.js';
import type { HttpResponse } from '../ports/http.js';
import { expect } from './assert.js';
import { type Echo, type HttpCheck, readAll } from './http-client-support.js';
import { CONFORMANCE_JSON, largeBody } from './http-conformance-server.js';
import { expectInfrastructureError } from './shared.js';

const { HTTP_STATUS } = ErrorCodes;

/** Checks of responses: status, headers, body and URL, for every method. */
export function responseChecks(): HttpCheck[] {
  return [
    {
      name: 'GET gives status, lower-case headers, the body, text() and json()',
      async run({ client }) {
        const response = await client.get('/json');
        expect(response.status).toBe(200);
        expect(response.headers['content-type']).toMatch(/^application\/json/);
        for (const name of Object.keys(response.headers)) expect(name).toBe(name.toLowerCase());
        expect(response.json()).toEqual(CONFORMANCE_JSON);
        expect(JSON.parse(response.text())).toEqual(CONFORMANCE_JSON);
        expect(JSON.parse(Buffer.from(response.body).toString('utf8'))).toEqual(CONFORMANCE_JSON);
        expect(response.attempts).toBe(1);
      },
    },
    {
      name: 'response.url is the absolute URL, query included',
      async run({ client, baseUrl }) {
        const response = await client.get('/echo', { query: { x: 1 } });
        expect(response.url).toBe(new URL('/echo?x=1', baseUrl).href);
      },
    },
    {
      name: 'every method reaches the server (helpers and request)',
      async run({ client }) {
        const seen: string[] = [];
        const echo = (r: HttpResponse) => seen.push(r.json<Echo>().method);
        echo(await client.get('/echo'));
        echo(await client.post('/echo'));
        echo(await client.put('/echo'));
        echo(await client.patch('/echo'));
        echo(await client.delete('/echo'));
        echo(await client.request({ method: 'OPTIONS', url: '/echo' }));
        expect(seen).toEqual(['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);
        const head = await client.request({ method: 'HEAD', url: '/echo' });
        expect(head.status).toBe(200);
        expect(head.body.length).toBe(0);
      },
    },
  ];
}

/** Checks of requests: the query, the body in each form, and the headers arrive as given. */
export function requestChecks(): HttpCheck[] {
  return [
    {
      name: 'query values are encoded and added to the query already in the URL',
      async run({ client }) {
        const response = await client.get('/echo?z=0', {
          query: { a: 1, b: 'x y&z=ü', c: [1, 'two'], d: undefined, e: true },
        });
        expect(response.json<Echo>().query).toEqual({
          z: '0',
          a: '1',
          b: 'x y&z=ü',
          c: ['1', 'two'],
          e: 'true',
        });
      },
    },
    {
      name: 'a json body is sent as JSON with content-type application/json',
      async run({ client }) {
        const payload = { a: 1, s: 'é ✓', list: [true, null] };
        const echo = (await client.post('/echo', { json: payload })).json<Echo>();
        expect(echo.headers['content-type']).toMatch(/^application\/json/);
        expect(JSON.parse(echo.body)).toEqual(payload);
      },
    },
    {
      name: 'string, binary and stream bodies arrive byte for byte',
      async run({ client }) {
        const binary = Buffer.from(Array.from({ length: 512 }, (_, i) => i % 256));
        const fromBytes = (await client.put('/echo', { body: new Uint8Array(binary) })).json<Echo>();
        expect(Buffer.from(fromBytes.bodyBase64, 'base64').equals(binary)).toBe(true);
        const fromString = (await client.post('/echo', { body: 'plain ✓ text' })).json<Echo>();
        expect(fromString.body).toBe('plain ✓ text');
        const fromStream = (
          await client.post('/echo', { body: Readable.from([binary.subarray(0, 100), binary.subarray(100)]) })
        ).json<Echo>();
        expect(Buffer.from(fromStream.bodyBase64, 'base64').equals(binary)).toBe(true);
      },
    },
    {
      name: 'request headers arrive; response headers are lower-case with repeats joined',
      async run({ client }) {
        const response = await client.get('/echo', {
          headers: { 'X-Custom-Header': 'value 1', 'x-skip': undefined },
        });
        const echo = response.json<Echo>();
        expect(echo.headers['x-custom-header']).toBe('value 1');
        expect(echo.headers['x-skip']).toBeUndefined();
        expect(response.headers['x-echo-repeat']).toBe('a, b');
      },
    },
  ];
}

/** Checks of `stream()`: the body as a Readable, and error statuses as for the other calls. */
export function streamChecks(): HttpCheck[] {
  return [
    {
      name: 'stream() gives the body as a Readable',
      async run({ client }) {
        const bytes = 1024 * 1024 + 7;
        const response = await client.stream({ url: `/large?bytes=${bytes}` });
        expect(response.status).toBe(200);
        expect(response.attempts).toBe(1);
        const body = await readAll(response.body);
        expect(body.length).toBe(bytes);
        const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
        expect(sha(body)).toBe(sha(largeBody(bytes)));
      },
    },
    {
      name: 'stream() rejects an error status with HttpStatusError',
      async run({ client }) {
        const error = (await expectInfrastructureError(
          () => client.stream({ url: '/status/404' }),
          HTTP_STATUS,
        )) as HttpStatusError;
        expect(error.status).toBe(404);
      },
    },
  ];
}

/** Checks of concurrent requests: answers never cross. */
export function concurrencyChecks(): HttpCheck[] {
  return [
    {
      name: '20 concurrent requests each get their own answer',
      async run({ client }) {
        const responses = await Promise.all(
          Array.from({ length: 20 }, (_, i) => client.post('/echo', { query: { i }, json: { i } })),
        );
        responses.forEach((response, i) => {
          const echo = response.json<Echo>();
          expect(echo.query).toEqual({ i: String(i) });
          expect(JSON.parse(echo.body)).toEqual({ i });
        });
      },
    },
  ];
}
