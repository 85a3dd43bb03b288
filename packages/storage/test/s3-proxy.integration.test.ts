import http from 'node:http';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { isInfrastructureError } from '@voelgoed/contracts';
import { type ConnectProxy, getFreePort, type S3Server, startConnectProxy, startS3 } from '@voelgoed/testkit';
import { createS3Storage, type S3Storage, type S3StorageOptions } from '../src/index.js';
import { collect, getBytes, randomKey } from './helpers.js';

const PROXY_ENV = [
  'HTTPS_PROXY',
  'https_proxy',
  'HTTP_PROXY',
  'http_proxy',
  'NO_PROXY',
  'no_proxy',
  'NODE_USE_ENV_PROXY',
];
const SECRET = 'pr0xy-s3cret';

let server: S3Server;
let proxy: ConnectProxy;
let bucket: string;
const opened: S3Storage[] = [];
let savedEnv: Record<string, string | undefined>;

function storage(extra: Partial<S3StorageOptions> = {}): S3Storage {
  const s = createS3Storage({ ...server.clientOptions, bucket, retries: 0, ...extra });
  opened.push(s);
  return s;
}

async function rejection(promise: Promise<unknown>): Promise<Error & Record<string, unknown>> {
  try {
    await promise;
  } catch (error) {
    return error as Error & Record<string, unknown>;
  }
  throw new Error('expected a rejection');
}

beforeAll(async () => {
  server = await startS3();
  bucket = await server.createBucket();
  proxy = await startConnectProxy();
});

afterAll(async () => {
  for (const s of opened) s.close();
  await Promise.all([server?.stop(), proxy?.stop()]);
});

beforeEach(() => {
  savedEnv = Object.fromEntries(PROXY_ENV.map((name) => [name, process.env[name]]));
  for (const name of PROXY_ENV) delete process.env[name];
  proxy.configure({});
  proxy.connects.length = 0;
});

afterEach(() => {
  for (const name of PROXY_ENV) {
    if (savedEnv[name] === undefined) delete process.env[name];
    else process.env[name] = savedEnv[name];
  }
});

const target = () => `${server.endPoint}:${server.port}`;

describe('S3Storage through a proxy', () => {
  it('puts, reads, lists and deletes through CONNECT tunnels, with the proxy credentials', async () => {
    proxy.configure({ auth: { username: 'svc', password: SECRET } });
    const s = storage({ proxy: proxy.urlWithAuth });
    const key = randomKey();
    await s.put(key, 'through the proxy');
    expect((await getBytes(s, key)).toString()).toBe('through the proxy');
    expect((await s.head(key))?.size).toBe(17);
    expect((await collect(s.list(key))).map((o) => o.key)).toEqual([key]);
    await s.delete(key);
    expect(await s.exists(key)).toBe(false);
    expect(proxy.tunnelsTo(target())).toBeGreaterThanOrEqual(1);
    expect(proxy.connects.every((c) => c.target === target() && c.status === 200)).toBe(true);
  });

  it("proxy: 'env' reads HTTP_PROXY for an http endpoint and honours NO_PROXY", async () => {
    process.env.http_proxy = proxy.url;
    const key = randomKey();
    await storage({ proxy: 'env' }).put(key, 'x');
    expect(proxy.tunnelsTo(target())).toBe(1);

    process.env.NO_PROXY = server.endPoint;
    expect(await storage({ proxy: 'env' }).head(key)).toMatchObject({ size: 1 });
    expect(proxy.connectCount).toBe(1);
  });

  it('by default the environment applies only with NODE_USE_ENV_PROXY=1; proxy: false ignores it', async () => {
    process.env.HTTP_PROXY = proxy.url;
    await storage().exists(randomKey());
    expect(proxy.connectCount).toBe(0);
    process.env.NODE_USE_ENV_PROXY = '1';
    await storage({ proxy: false }).exists(randomKey());
    expect(proxy.connectCount).toBe(0);
    await storage().exists(randomKey());
    expect(proxy.tunnelsTo(target())).toBe(1);
  });

  it('a proxy refusing the credentials is AUTH, nothing executed, no password in the error', async () => {
    proxy.configure({ auth: { username: 'svc', password: 'other' } });
    const key = randomKey();
    const error = await rejection(
      storage({ proxy: `http://svc:${SECRET}@127.0.0.1:${proxy.port}` }).put(key, 'x'),
    );
    expect(isInfrastructureError(error, 'AUTH')).toBe(true);
    expect(error.maybeExecuted).toBe(false);
    expect(`${error.message} ${String(error.stack)} ${JSON.stringify(error)}`).not.toContain(SECRET);
    expect(await storage().exists(key)).toBe(false);
  });

  it('a proxy refusing the tunnel (403) or down is CONNECTION, nothing executed', async () => {
    proxy.configure({ refuseWith: 403 });
    const key = randomKey();
    const refused = await rejection(storage({ proxy: proxy.url }).put(key, 'x'));
    expect(isInfrastructureError(refused, 'CONNECTION')).toBe(true);
    expect(refused.maybeExecuted).toBe(false);
    expect(refused.message).toContain('403');

    const down = await rejection(storage({ proxy: `http://127.0.0.1:${await getFreePort()}` }).put(key, 'x'));
    expect(isInfrastructureError(down, 'CONNECTION')).toBe(true);
    expect(down.maybeExecuted).toBe(false);
    expect(await storage().exists(key)).toBe(false);
  });

  it('proxy with agent, and a malformed proxy URL, are INVALID_ARGUMENT at creation', () => {
    const agent = new http.Agent();
    try {
      expect(() => storage({ proxy: proxy.url, agent })).toThrow(/exclusive/);
      let error: unknown;
      try {
        storage({ proxy: `http://svc:${SECRET}@[oops` });
      } catch (e) {
        error = e;
      }
      expect(isInfrastructureError(error, 'INVALID_ARGUMENT')).toBe(true);
      expect((error as Error).message).not.toContain(SECRET);
    } finally {
      agent.destroy();
    }
  });

  it('the files shared with @voelgoed/http stay identical', async () => {
    const { readFileSync } = await import('node:fs');
    for (const name of ['proxy-config.ts', 'proxy-tunnel.ts']) {
      const here = readFileSync(new URL(`../src/${name}`, import.meta.url), 'utf8');
      const there = readFileSync(new URL(`../../http/src/${name}`, import.meta.url), 'utf8');
      expect(here).toBe(there);
    }
  });
});
