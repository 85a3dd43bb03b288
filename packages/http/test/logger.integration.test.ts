import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import type { Logger } from '@voelgoed/contracts';
import { MemoryJobQueue } from '@voelgoed/contracts/memory';
import { captureLogger, faults, type HttpServer, startHttpServer, waitFor } from '@voelgoed/testkit';
import { createDurableWebhookSender, createHttpClient } from '../src/index.js';
import { rejectionOf, TRANSPORTS } from './helpers.js';

const AUTH = 'Bearer logger-sweep-token-31337';
const SECRET = `whsec_${Buffer.from('logger-sweep-signing-key-42').toString('base64')}`;

let server: HttpServer;
beforeAll(async () => {
  server = await startHttpServer();
});
afterAll(async () => {
  await server.stop();
});

/** Waits until the breaker of `origin` reports `state` (it half-opens once `openMs` has passed). */
async function untilState(read: () => string, state: string): Promise<void> {
  await waitFor(`circuit ${state}`, async () => (read() === state ? true : undefined), { intervalMs: 20 });
}

describe.each(TRANSPORTS)('http client logger over %s', (transport) => {
  it('logs the breaker opening (warn), half-opening and closing (info) for its origin, and no secret', async () => {
    server.setHandler(faults.statusSequence([500]));
    const { logger, lines } = captureLogger();
    const client = createHttpClient({
      transport,
      retry: false,
      headers: { authorization: AUTH },
      circuitBreaker: { consecutiveFailures: 3, openMs: 200, halfOpenProbes: 1 },
      logger,
    });
    try {
      const url = `${server.origin}/pay?api_key=query-secret-777`;
      for (let i = 0; i < 3; i++)
        await rejectionOf(client.get(url, { headers: { 'x-api-key': 'hdr-secret' } }));
      expect(lines).toEqual([
        {
          level: 'warn',
          obj: { origin: server.origin, from: 'closed', to: 'open', failures: 3, openMs: 200 },
          msg: 'http circuit opened',
        },
      ]);
      await untilState(() => client.circuitState(server.origin), 'half_open');
      server.setHandler(faults.json(200, { ok: true }));
      expect((await client.get(url)).status).toBe(200);
      expect(lines.slice(1)).toEqual([
        {
          level: 'info',
          obj: { origin: server.origin, from: 'open', to: 'half_open' },
          msg: 'http circuit half-open, probing',
        },
        {
          level: 'info',
          obj: { origin: server.origin, from: 'half_open', to: 'closed' },
          msg: 'http circuit closed',
        },
      ]);
      // Nothing per request: more calls add no line.
      for (let i = 0; i < 5; i++) await client.get(url);
      expect(lines).toHaveLength(3);
      const text = JSON.stringify(lines);
      for (const secret of ['logger-sweep-token', 'query-secret-777', 'hdr-secret', '/pay']) {
        expect(text).not.toContain(secret);
      }
    } finally {
      await client.close();
    }
  });

  it('keeps its breaker working when the logger throws', async () => {
    server.setHandler(faults.statusSequence([500]));
    let calls = 0;
    const boom = () => {
      calls += 1;
      throw new Error('logger down');
    };
    const client = createHttpClient({
      transport,
      retry: false,
      circuitBreaker: { consecutiveFailures: 2, openMs: 60_000 },
      logger: { debug: boom, info: boom, warn: boom, error: boom },
    });
    try {
      for (let i = 0; i < 2; i++)
        expect((await rejectionOf(client.get(`${server.origin}/x`))).status).toBe(500);
      expect(calls).toBe(1);
      expect(client.circuitState(server.origin)).toBe('open');
      expect((await rejectionOf(client.get(`${server.origin}/x`))).code).toBe('CIRCUIT_OPEN');
    } finally {
      await client.close();
    }
  });
});

describe('http logger defaults and input', () => {
  it('logs nothing by default (no console output) and refuses a logger that is not one', async () => {
    expect(() => createHttpClient({ logger: { info() {} } as unknown as Logger })).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    );
    server.setHandler(faults.statusSequence([500]));
    const spies = (['debug', 'info', 'log', 'warn', 'error'] as const).map((m) =>
      jest.spyOn(console, m).mockImplementation(() => {}),
    );
    const client = createHttpClient({
      retry: false,
      circuitBreaker: { consecutiveFailures: 1, openMs: 60_000 },
    });
    try {
      await rejectionOf(client.get(`${server.origin}/quiet`));
      expect(client.circuitState(server.origin)).toBe('open');
      for (const spy of spies) expect(spy).not.toHaveBeenCalled();
    } finally {
      for (const spy of spies) spy.mockRestore();
      await client.close();
    }
  });
});

describe('durable webhook sender logger', () => {
  it('warns when a delivery is dead-lettered: id, host, attempts, status; no secret, payload, path or query', async () => {
    server.requests.length = 0;
    server.setHandler(faults.statusSequence([503]));
    const { logger, lines } = captureLogger();
    const queue = new MemoryJobQueue(`wh-log-${randomUUID()}`);
    const sender = createDurableWebhookSender(queue, {
      secret: SECRET,
      allowHttp: true,
      allowPrivateNetworks: true,
      schedule: [10],
      jitter: 0,
      headers: { authorization: AUTH },
      logger,
    });
    try {
      const url = `${server.origin}/hooks/tenant-path?token=url-secret-555`;
      await sender.deliver({ url, id: 'msg_logged', payload: { card: 'payload-secret-4242' } });
      sender.start();
      await waitFor('the dead-letter line', async () => (lines.length > 0 ? true : undefined));
      expect(lines).toEqual([
        {
          level: 'warn',
          obj: {
            webhookId: 'msg_logged',
            host: new URL(server.origin).host,
            attempts: 2,
            status: 503,
            errorCode: 'HTTP_STATUS',
          },
          msg: 'webhook delivery dead-lettered',
        },
      ]);
      expect(server.requests).toHaveLength(2);
      const text = JSON.stringify(lines);
      for (const secret of [
        SECRET,
        SECRET.slice(6),
        'logger-sweep-token',
        'url-secret-555',
        'payload-secret-4242',
        'tenant-path',
      ]) {
        expect(text).not.toContain(secret);
      }
    } finally {
      await sender.close({ graceMs: 0 });
      await queue.close({ graceMs: 0 });
    }
  });
});

describe('webhook senders and callbacks that throw', () => {
  it('durable: a throwing onAttempt or onOutcome is logged (warn, no payload or secret) and changes nothing', async () => {
    server.requests.length = 0;
    server.setHandler(faults.json(204, {}));
    const { logger, lines } = captureLogger();
    const queue = new MemoryJobQueue(`wh-cb-${randomUUID()}`);
    const boom = (what: string) => () => {
      throw new Error(`${what} sink down`);
    };
    const sender = createDurableWebhookSender(queue, {
      secret: SECRET,
      allowHttp: true,
      allowPrivateNetworks: true,
      onAttempt: boom('attempts'),
      onOutcome: boom('outcomes'),
      logger,
    });
    try {
      await sender.deliver({
        url: `${server.origin}/hooks?token=url-secret-555`,
        id: 'msg_cb',
        payload: { card: 'payload-secret-4242' },
      });
      sender.start();
      await waitFor('both callback lines', async () => (lines.length >= 2 ? true : undefined));
      await queue.drain({ timeoutMs: 10_000 });
      expect(lines).toEqual([
        {
          level: 'warn',
          obj: { webhookId: 'msg_cb', callback: 'onAttempt', error: 'Error: attempts sink down' },
          msg: 'webhook onAttempt callback threw (ignored)',
        },
        {
          level: 'warn',
          obj: { webhookId: 'msg_cb', callback: 'onOutcome', error: 'Error: outcomes sink down' },
          msg: 'webhook onOutcome callback threw (ignored)',
        },
      ]);
      expect(server.requests).toHaveLength(1);
      expect(await queue.counts()).toMatchObject({ waiting: 0, delayed: 0, active: 0, deadLettered: 0 });
      const text = JSON.stringify(lines);
      for (const secret of [SECRET.slice(6), 'url-secret-555', 'payload-secret-4242']) {
        expect(text).not.toContain(secret);
      }
    } finally {
      await sender.close({ graceMs: 0 });
      await queue.close({ graceMs: 0 });
    }
  });
});
