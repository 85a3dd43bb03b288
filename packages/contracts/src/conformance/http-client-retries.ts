import { randomUUID } from 'node:crypto';
import { ErrorCodes, type HttpStatusError } from '../errors.js';
import { expect } from './assert.js';
import { attempts, type Echo, type HttpCheck, RETRY } from './http-client-support.js';
import { expectInfrastructureError } from './shared.js';

const { HTTP_STATUS } = ErrorCodes;

/** Checks of retries: a retryable answer to an idempotent request is retried, unless `retry: false`. */
export function retryChecks(): HttpCheck[] {
  return [
    {
      name: 'a GET answered 503 (Retry-After: 0) is retried until it succeeds',
      async run({ client }) {
        const id = randomUUID();
        const response = await client.get(`/sequence/${id}`, { retry: RETRY });
        expect(response.status).toBe(200);
        expect(response.json()).toEqual({ attempt: 3 });
        expect(response.attempts).toBe(3);
        expect((await attempts(client, id)).count).toBe(3);
      },
    },
    {
      name: 'retry: false makes a single attempt',
      async run({ client }) {
        const id = randomUUID();
        const error = (await expectInfrastructureError(
          () => client.get(`/sequence/${id}`, { retry: false }),
          HTTP_STATUS,
        )) as HttpStatusError;
        expect(error.status).toBe(503);
        expect((await attempts(client, id)).count).toBe(1);
      },
    },
  ];
}

/** Checks of idempotency keys: a POST is retried only with one, and the key is the same on every attempt. */
export function idempotencyKeyChecks(): HttpCheck[] {
  return [
    {
      name: 'a POST without an idempotency key is not retried',
      async run({ client }) {
        const id = randomUUID();
        const error = (await expectInfrastructureError(
          () => client.post(`/sequence/${id}`, { json: { n: 1 }, retry: RETRY }),
          HTTP_STATUS,
        )) as HttpStatusError;
        expect(error.status).toBe(503);
        const seen = await attempts(client, id);
        expect(seen.count).toBe(1);
        expect(seen.idempotencyKeys).toEqual([null]);
      },
    },
    {
      name: 'a POST with idempotencyKey: true is retried, with the same Idempotency-Key on every attempt',
      async run({ client }) {
        const id = randomUUID();
        const response = await client.post(`/sequence/${id}`, {
          json: { n: 1 },
          idempotencyKey: true,
          retry: RETRY,
        });
        expect(response.status).toBe(200);
        expect(response.attempts).toBe(3);
        const seen = await attempts(client, id);
        expect(seen.count).toBe(3);
        const [first] = seen.idempotencyKeys;
        expect(typeof first).toBe('string');
        expect(first?.length).toBeGreaterThan(0);
        expect(seen.idempotencyKeys).toEqual([first, first, first]);
        const other = randomUUID();
        await client.post(`/sequence/${other}`, { idempotencyKey: true, retry: RETRY });
        expect((await attempts(client, other)).idempotencyKeys[0]).not.toBe(first);
      },
    },
    {
      name: 'a given idempotency key is sent as the Idempotency-Key header',
      async run({ client }) {
        const echo = (await client.post('/echo', { json: {}, idempotencyKey: 'order-123' })).json<Echo>();
        expect(echo.headers['idempotency-key']).toBe('order-123');
        const plain = (await client.post('/echo', { json: {} })).json<Echo>();
        expect(plain.headers['idempotency-key']).toBeUndefined();
      },
    },
  ];
}
