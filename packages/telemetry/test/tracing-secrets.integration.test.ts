import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createHttpClient, createWebhookSender } from '@voelgoed/http';
import { createRedisLock } from '@voelgoed/lock';
import { createRedisClient } from '@voelgoed/redis';
import { faults, type HttpServer, type RedisServer, startHttpServer, startRedis } from '@voelgoed/testkit';
import { spanText, startTracing, type TracingHarness } from './tracing-setup.js';

// Known secrets go through every traced path; none may appear in any span's name, attributes,
// status, events or links.

const redisPassword = `redis-pw-${randomBytes(8).toString('hex')}`;
const bearer = `bearer-${randomBytes(8).toString('hex')}`;
const basicPassword = `basic-pw-${randomBytes(8).toString('hex')}`;
const signature = `sig${randomBytes(8).toString('hex')}`;
const webhookKey = randomBytes(24);
const webhookSecret = `whsec_${webhookKey.toString('base64')}`;
const cookie = `session=${randomBytes(8).toString('hex')}`;

let redis: RedisServer;
let server: HttpServer;
let tracing: TracingHarness;

beforeAll(async () => {
  [redis, server] = await Promise.all([
    startRedis({ args: ['--requirepass', redisPassword] }),
    startHttpServer(faults.statusSequence([401, 200])),
  ]);
  tracing = startTracing({ lock: { recordResources: true } });
});
afterAll(async () => {
  await tracing?.close();
  await Promise.all([redis?.stop(), server?.stop()]);
});

describe('secret sweep over every span', () => {
  it('finds no password, Authorization, cookie, signed URL query or webhook secret or signature', async () => {
    const url = `redis://:${redisPassword}@127.0.0.1:${redis.port}`;
    const client = createRedisClient({ url });
    const locks = createRedisLock({ clients: [client] });
    try {
      await client.command(['SET', 'k', 'v']);
      // The password as an argument (set to what it is): the span has the command's name only.
      await client.command(['CONFIG', 'SET', 'requirepass', redisPassword]);
      await client.pipeline([['ECHO', redisPassword], ['PING']]);
      await expect(client.command(['NOSUCHCOMMAND', redisPassword])).rejects.toThrow();
      const lock = await locks.acquire('resource-name', 5000);
      await lock.release();
    } finally {
      await locks.close();
      await client.close();
    }

    for (const transport of ['got', 'undici'] as const) {
      const http = createHttpClient({
        transport,
        retry: { limit: 1, baseDelayMs: 1 },
        circuitBreaker: false,
      });
      try {
        await http
          .get(`http://user:${basicPassword}@127.0.0.1:${server.port}/signed?X-Amz-Signature=${signature}`, {
            headers: { authorization: `Bearer ${bearer}`, cookie },
            throwHttpErrors: false,
          })
          .catch(() => undefined);
      } finally {
        await http.close();
      }
    }
    const sender = createWebhookSender({
      secret: webhookSecret,
      allowHttp: true,
      allowPrivateNetworks: true,
      schedule: [1],
    });
    try {
      await sender.deliver({ url: `${server.origin}/hook?token=${signature}`, payload: { a: 1 } });
    } finally {
      await sender.close();
    }

    const spans = tracing.spans();
    const names = new Set(spans.map((s) => s.name));
    // The sweep must have something to sweep: every traced path made spans.
    for (const expected of ['SET', 'CONFIG', 'PIPELINE', 'NOSUCHCOMMAND', 'lock acquire', 'GET', 'POST']) {
      expect(names).toContain(expected);
    }
    const signatures = server.requests
      .map((r) => r.headers['webhook-signature'])
      .filter((s): s is string => typeof s === 'string')
      .flatMap((s) => s.split(' ').map((part) => part.split(',')[1]!));
    expect(signatures.length).toBeGreaterThan(0);
    const basic = Buffer.from(`user:${basicPassword}`).toString('base64');
    const secrets = [
      redisPassword,
      bearer,
      basicPassword,
      basic,
      signature,
      webhookSecret,
      webhookKey.toString('base64'),
      cookie,
      ...signatures,
    ];
    for (const span of spans) {
      const text = spanText(span);
      for (const secret of secrets) expect(text).not.toContain(secret);
    }
    // The resources recorded on request are there (the sweep sees attribute values).
    expect(spans.some((s) => spanText(s).includes('resource-name'))).toBe(true);
  });
});
