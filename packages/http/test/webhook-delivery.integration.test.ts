import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { isInfrastructureError } from '@voelgoed/contracts';
import { faults, type HttpServer, startHttpServer } from '@voelgoed/testkit';
import { createWebhookSender, deliverWebhook, verifyWebhook, type WebhookAttempt } from '../src/index.js';
import { rejectionOf, TRANSPORTS } from './helpers.js';

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  return undefined;
}

const SECRET = `whsec_${Buffer.from('delivery-test-signing-key-42').toString('base64')}`;

describe.each(TRANSPORTS)('webhook delivery over %s', (transport) => {
  let server: HttpServer;
  let elsewhere: HttpServer;
  const local = { transport, secret: SECRET, allowHttp: true, allowPrivateNetworks: true, schedule: [5, 5] };

  beforeAll(async () => {
    server = await startHttpServer();
    elsewhere = await startHttpServer();
  });
  afterAll(async () => {
    await server.stop();
    await elsewhere.stop();
  });

  function answer(handler: Parameters<HttpServer['setHandler']>[0]): void {
    server.requests.length = 0;
    server.setHandler(handler);
  }

  it('signs and posts; the receiver verifies the signature on the raw body', async () => {
    answer(faults.json(204, {}));
    const result = await deliverWebhook(
      { url: `${server.origin}/hooks`, payload: { type: 'ping', n: 1 } },
      local,
    );
    expect(result.outcome).toBe('delivered');
    expect(result.attempts).toHaveLength(1);
    const seen = server.requests[0]!;
    expect(seen.headers['content-type']).toBe('application/json');
    const verified = verifyWebhook({ payload: seen.body, headers: seen.headers, secret: SECRET });
    expect(verified.id).toBe(result.id);
    expect(JSON.parse(seen.body.toString())).toEqual({ type: 'ping', n: 1 });
  });

  it('retries 429/502/503/504 and network errors on the schedule, with the same id, reporting each attempt', async () => {
    answer(
      faults.sequence([faults.reset(), faults.json(429, {}), faults.json(503, {}), faults.json(200, {})]),
    );
    const seen: WebhookAttempt[] = [];
    const sender = createWebhookSender({ ...local, schedule: [5, 5, 5, 5], onAttempt: (a) => seen.push(a) });
    try {
      const result = await sender.deliver({
        url: `${server.origin}/hooks`,
        payload: 'raw text',
        id: 'msg_fixed',
      });
      expect(result.outcome).toBe('delivered');
      expect(seen.map((a) => [a.attempt, a.outcome, a.status ?? a.errorCode])).toEqual([
        [1, 'retry', 'CONNECTION'],
        [2, 'retry', 429],
        [3, 'retry', 503],
        [4, 'delivered', 200],
      ]);
      expect(seen[0]!.nextDelayMs).toBeGreaterThanOrEqual(4);
      expect(new Set(server.requests.map((r) => r.headers['webhook-id']))).toEqual(new Set(['msg_fixed']));
      for (const r of server.requests) {
        expect(() => verifyWebhook({ payload: r.body, headers: r.headers, secret: SECRET })).not.toThrow();
      }
    } finally {
      await sender.close();
    }
  });

  it('classifies 410 as gone and other 4xx as failed, without retrying', async () => {
    answer(faults.json(410, {}));
    expect((await deliverWebhook({ url: `${server.origin}/h`, payload: {} }, local)).outcome).toBe('gone');
    answer(faults.json(400, {}));
    const failed = await deliverWebhook({ url: `${server.origin}/h`, payload: {} }, local);
    expect([failed.outcome, failed.attempts.length, server.requests.length]).toEqual(['failed', 1, 1]);
  });

  it('gives up as exhausted when the schedule runs out', async () => {
    answer(faults.json(503, {}));
    const result = await deliverWebhook({ url: `${server.origin}/h`, payload: {} }, local);
    expect(result.outcome).toBe('exhausted');
    expect(server.requests).toHaveLength(3);
  });

  it('follows no redirects', async () => {
    elsewhere.requests.length = 0;
    answer(faults.json(307, {}, { location: `${elsewhere.origin}/steal` }));
    const result = await deliverWebhook({ url: `${server.origin}/h`, payload: {} }, local);
    expect(result.outcome).toBe('failed');
    expect(result.attempts[0]!.status).toBe(307);
    expect(elsewhere.requests).toHaveLength(0);
  });

  it('refuses http unless allowed, and loopback/private targets (literal or resolved) unless allowed', async () => {
    answer(faults.json(200, {}));
    const https = await rejectionOf(
      deliverWebhook({ url: `${server.origin}/h`, payload: {} }, { transport, secret: SECRET }),
    );
    expect(isInfrastructureError(https, 'INVALID_ARGUMENT')).toBe(true);
    const guarded = { transport, secret: SECRET, allowHttp: true, schedule: [5] };
    for (const url of [
      `${server.origin}/h`,
      `http://localhost:${server.port}/h`,
      `http://[::ffff:127.0.0.1]:${server.port}/h`,
      'http://169.254.169.254/latest/meta-data/',
      'http://10.0.0.1/h',
    ]) {
      const result = await deliverWebhook({ url, payload: {} }, guarded);
      expect(result.outcome).toBe('refused');
      expect(result.attempts).toHaveLength(1);
      expect(result.attempts[0]!.errorCode).toBe('FORBIDDEN_TARGET');
    }
    expect(server.requests).toHaveLength(0);
  });

  it('refuses at creation what the durable sender refuses: a non-function onAttempt, a schedule a timer cannot hold', async () => {
    answer(faults.json(204, {}));
    for (const options of [
      { onAttempt: 'log' as never },
      { onAttempt: {} as never },
      { schedule: [3e9] },
      // 2^31 - 1 ms is what a timer holds, jitter included.
      { schedule: [2 ** 31 - 1], jitter: 0.2 },
      { schedule: ['5' as never] },
      { jitter: '0.1' as never },
      { allowHttp: 'false' as never },
      { allowPrivateNetworks: 1 as never },
    ]) {
      const error = thrown(() => createWebhookSender({ ...local, ...options }));
      expect([options, isInfrastructureError(error, 'INVALID_ARGUMENT')]).toEqual([options, true]);
      const deliver = deliverWebhook({ url: `${server.origin}/h`, payload: {} }, { ...local, ...options });
      expect(isInfrastructureError(await rejectionOf(deliver), 'INVALID_ARGUMENT')).toBe(true);
    }
    // A misspelt message field (an id that would be replaced by a random one) is refused too.
    for (const message of [
      { url: `${server.origin}/h`, payload: {}, idd: 'order-1' },
      { url: `${server.origin}/h`, payload: {}, header: { 'x-a': '1' } },
    ]) {
      const deliver = deliverWebhook(message as never, local);
      expect([message, isInfrastructureError(await rejectionOf(deliver), 'INVALID_ARGUMENT')]).toEqual([
        message,
        true,
      ]);
    }
    expect(server.requests).toHaveLength(0);
    // The longest wait that fits.
    await createWebhookSender({ ...local, schedule: [Math.floor((2 ** 31 - 1) / 1.2)] }).close();
  });

  it('ignores an onAttempt that throws: the outcome and the retry schedule are what they would be', async () => {
    const calls: number[] = [];
    const onAttempt = (a: WebhookAttempt) => {
      calls.push(a.attempt);
      throw new Error('metrics down');
    };
    const sender = createWebhookSender({ ...local, schedule: [5, 5], onAttempt });
    try {
      answer(faults.json(200, {}));
      const delivered = await sender.deliver({ url: `${server.origin}/h`, payload: { a: 1 } });
      expect([delivered.outcome, delivered.attempts.length, server.requests.length]).toEqual([
        'delivered',
        1,
        1,
      ]);
      answer(faults.sequence([faults.json(500, {}), faults.json(200, {})]));
      const retried = await sender.deliver({ url: `${server.origin}/h`, payload: { a: 2 } });
      expect(retried.attempts.map((a) => [a.attempt, a.outcome])).toEqual([
        [1, 'retry'],
        [2, 'delivered'],
      ]);
      expect(server.requests).toHaveLength(2);
      expect(calls).toEqual([1, 1, 2]);
    } finally {
      await sender.close();
    }
  });

  it('refuses malformed headers and payloads before any request', async () => {
    answer(faults.json(204, {}));
    expect(() => createWebhookSender({ ...local, headers: { 'x-name': 'Zoë Ω' } })).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    );
    const sender = createWebhookSender(local);
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    try {
      for (const message of [
        { url: `${server.origin}/h`, payload: {}, headers: 'abc' as never },
        { url: `${server.origin}/h`, payload: circular },
        { url: `${server.origin}/h`, payload: { amount: 10n } },
      ]) {
        const error = await rejectionOf(sender.deliver(message));
        expect(isInfrastructureError(error, 'INVALID_ARGUMENT')).toBe(true);
      }
      expect(server.requests).toHaveLength(0);
    } finally {
      await sender.close();
    }
  });

  // The receiver has answered once its status is in: what its body does after that (too large
  // to read, never ending, cut) is not a failure to deliver, and must not send the webhook again.
  it.each<[string, number, 'big' | 'stall' | 'cut', string]>([
    ['a 2xx with a 100 KiB body', 200, 'big', 'delivered'],
    ['a 410 with a 100 KiB body', 410, 'big', 'gone'],
    ['a 400 with a 100 KiB body', 400, 'big', 'failed'],
    ['a 2xx whose body never ends', 200, 'stall', 'delivered'],
    ['a 2xx whose body is cut after the head', 200, 'cut', 'delivered'],
    ['a 410 whose body is cut after the head', 410, 'cut', 'gone'],
  ])('classifies %s on its status, sent once', async (_name, status, body, outcome) => {
    answer((_req, res) => {
      if (body === 'big') {
        res.writeHead(status, { 'content-type': 'text/html' }).end('x'.repeat(100 * 1024));
        return;
      }
      res.writeHead(status, { 'content-type': 'text/plain', 'content-length': '10' });
      // Two of the ten bytes promised; then nothing more, or the connection closed.
      res.write('ok', () => {
        if (body === 'cut') res.destroy();
      });
    });
    const seen: WebhookAttempt[] = [];
    const sender = createWebhookSender({ ...local, timeoutMs: 5_000, onAttempt: (a) => seen.push(a) });
    try {
      const result = await sender.deliver({ url: `${server.origin}/hooks`, payload: { n: 1 } });
      expect(result.outcome).toBe(outcome);
      expect(seen.map((a) => [a.outcome, a.status, a.errorCode])).toEqual([[outcome, status, undefined]]);
      expect(server.requests).toHaveLength(1);
    } finally {
      await sender.close();
    }
  });
});
