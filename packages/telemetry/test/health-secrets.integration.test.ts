import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { HealthReport, Resource } from '@voelgoed/contracts';
import { createDurableWebhookSender, createHttpClient, createWebhookSender } from '@voelgoed/http';
import { createRedisLock } from '@voelgoed/lock';
import { createRedisJobQueue } from '@voelgoed/queue';
import { createRedisClient, createRedisKeyValueStore } from '@voelgoed/redis';
import { ExpiringSet } from '@voelgoed/redis/expiring-set';
import { RateLimiter } from '@voelgoed/redis/rate-limiter';
import { TieredCache } from '@voelgoed/redis/tiered-cache';
import { createFsStorage, createS3Storage } from '@voelgoed/storage';
import { getFreePort, type RedisServer, type S3Server, startRedis, startS3 } from '@voelgoed/testkit';
import { createTelemetry } from '../src/index.js';

// Every adapter built with known secrets: no health report, before or after close, up or down,
// and no /readyz body may contain any of them.
const token = (label: string) => `${label}${randomBytes(12).toString('hex')}`;
const REDIS_PASSWORD = token('redispw');
const WRONG_REDIS_PASSWORD = token('wrongpw');
const HTTP_TOKEN = token('bearer');
const WRONG_S3_SECRET = token('s3secret');
const WEBHOOK_SECRET = `whsec_${randomBytes(32).toString('base64')}`;
const FS_SIGNING_SECRET = token('fssigning').repeat(2);

let redisServer: RedisServer;
let s3: S3Server;
let bucket: string;
const root = mkdtempSync(path.join(tmpdir(), 'health-secrets-'));
const resources: [string, Resource][] = [];

beforeAll(async () => {
  redisServer = await startRedis({ args: ['--requirepass', REDIS_PASSWORD] });
  s3 = await startS3();
  bucket = await s3.createBucket();
}, 120_000);
afterAll(async () => {
  await Promise.all(resources.map(([, r]) => r.close()));
  await redisServer?.stop();
  await s3?.stop();
  rmSync(root, { recursive: true, force: true });
});

function secrets(): string[] {
  const raw = [
    REDIS_PASSWORD,
    WRONG_REDIS_PASSWORD,
    HTTP_TOKEN,
    WRONG_S3_SECRET,
    WEBHOOK_SECRET,
    FS_SIGNING_SECRET,
  ];
  raw.push(s3.secretKey);
  return [...raw, ...raw.map(encodeURIComponent), WEBHOOK_SECRET.slice('whsec_'.length)];
}

function expectNoSecret(label: string, text: string): void {
  for (const secret of secrets()) {
    if (text.includes(secret)) throw new Error(`${label} holds a secret: ${text}`);
  }
}

describe('no health report holds a secret', () => {
  it('every adapter, up, down and closed, and the /readyz body', async () => {
    const passwordUrl = `redis://:${encodeURIComponent(REDIS_PASSWORD)}@127.0.0.1:${redisServer.port}`;
    const redis = createRedisClient({ url: passwordUrl });
    await redis.command(['PING']);
    const wrong = createRedisClient({
      url: `redis://:${WRONG_REDIS_PASSWORD}@127.0.0.1:${redisServer.port}`,
    });
    await wrong.command(['PING']).catch(() => undefined);
    const nowhere = createRedisClient({ url: `redis://:${REDIS_PASSWORD}@127.0.0.1:${await getFreePort()}` });
    await nowhere.command(['PING'], { timeoutMs: 500 }).catch(() => undefined);

    const queue = createRedisJobQueue(redis, token('queue'));
    const s3Nowhere = createS3Storage({ ...s3.clientOptions, port: await getFreePort(), bucket });
    const http = createHttpClient({ headers: { authorization: `Bearer ${HTTP_TOKEN}` } });
    const s3Url = `s3://${encodeURIComponent(s3.accessKey)}:${encodeURIComponent(s3.secretKey)}@${s3.endPoint}:${s3.port}/${bucket}?useSSL=false&region=${s3.region}`;
    resources.push(
      ['redis', redis],
      ['redis (wrong password)', wrong],
      ['redis (no server)', nowhere],
      ['key-value', createRedisKeyValueStore(redis)],
      ['cache', new TieredCache(redis, { namespace: token('cache') })],
      ['rate limiter', new RateLimiter(redis, { limit: 5, periodMs: 1000 })],
      ['expiring set', new ExpiringSet(redis, token('set'))],
      ['lock', createRedisLock({ urls: [passwordUrl] })],
      [
        'lock (wrong password)',
        createRedisLock({ urls: [passwordUrl.replace(REDIS_PASSWORD, WRONG_REDIS_PASSWORD)] }),
      ],
      ['queue', queue],
      ['http', http],
      ['webhook sender', createWebhookSender({ secret: WEBHOOK_SECRET, headers: { 'x-token': HTTP_TOKEN } })],
      ['durable webhook sender', createDurableWebhookSender(queue, { secret: WEBHOOK_SECRET })],
      ['s3', createS3Storage({ ...s3.clientOptions, bucket })],
      ['s3 (url)', createS3Storage(s3Url)],
      ['s3 (no server)', s3Nowhere],
      ['s3 (wrong secret)', createS3Storage({ ...s3.clientOptions, secretKey: WRONG_S3_SECRET, bucket })],
      [
        'fs',
        createFsStorage({
          root,
          signing: { secret: FS_SIGNING_SECRET, baseUrl: 'http://127.0.0.1:1/files/' },
        }),
      ],
    );

    const reports: [string, HealthReport][] = [];
    for (const [label, resource] of resources) reports.push([label, await resource.health()]);
    const byLabel = Object.fromEntries(reports);
    // The sweep must see real reports of both kinds, not only happy ones.
    expect(byLabel.redis!.status).toBe('up');
    expect(byLabel['redis (wrong password)']!.status).toBe('down');
    expect(byLabel['redis (no server)']!.status).toBe('down');
    expect(byLabel.lock!.status).toBe('up');
    expect(byLabel['lock (wrong password)']!.status).toBe('down');
    expect(byLabel.s3!.status).toBe('up');
    expect(byLabel['s3 (url)']!.status).toBe('up');
    expect(byLabel['s3 (no server)']!.status).toBe('down');
    for (const [label, report] of reports) expectNoSecret(label, JSON.stringify(report));
    console.log(
      reports
        .map(
          ([label, r]) => `${label}: ${r.status}${r.error ? ` (${r.error.code}: ${r.error.message})` : ''}`,
        )
        .join('\n'),
    );

    const telemetry = createTelemetry({ events: false });
    try {
      const server = await telemetry.serve({ port: 0, resources: resources.map(([, r]) => r) });
      const answer = await fetch(server.readyzUrl);
      const body = await answer.text();
      expect(answer.status).toBe(503);
      expect(JSON.parse(body).checks).toHaveLength(resources.length);
      expectNoSecret('/readyz', body);
    } finally {
      await telemetry.close();
    }

    for (const [, resource] of resources) await resource.close();
    for (const [label, resource] of resources) {
      const report = await resource.health();
      expect(report.status).toBe('down');
      expectNoSecret(`${label} (closed)`, JSON.stringify(report));
    }
  }, 120_000);
});
