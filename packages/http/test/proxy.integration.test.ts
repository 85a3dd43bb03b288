import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { Channels, isInfrastructureError } from '@voelgoed/contracts';
import {
  type ConnectProxy,
  getFreePort,
  type HttpServer,
  startConnectProxy,
  startHttpServer,
} from '@voelgoed/testkit';
import {
  createHttpClient,
  type HttpClientOptions,
  isHttpError,
  type ResilientHttpClient,
} from '../src/index.js';
import { recordEvents, rejectionOf, TRANSPORTS } from './helpers.js';

const PROXY_ENV = [
  'HTTPS_PROXY',
  'https_proxy',
  'HTTP_PROXY',
  'http_proxy',
  'NO_PROXY',
  'no_proxy',
  'NODE_USE_ENV_PROXY',
] as const;
const SECRET = 's3cr3t-pa55';

let server: HttpServer;
let proxy: ConnectProxy;
const clients: ResilientHttpClient[] = [];
let savedEnv: Record<string, string | undefined>;

beforeAll(async () => {
  server = await startHttpServer();
  proxy = await startConnectProxy();
});

afterAll(async () => {
  await Promise.all([server.stop(), proxy.stop()]);
});

beforeEach(() => {
  savedEnv = Object.fromEntries(PROXY_ENV.map((name) => [name, process.env[name]]));
  for (const name of PROXY_ENV) delete process.env[name];
  proxy.configure({});
  proxy.connects.length = 0;
  server.requests.length = 0;
});

afterEach(async () => {
  for (const name of PROXY_ENV) {
    if (savedEnv[name] === undefined) delete process.env[name];
    else process.env[name] = savedEnv[name];
  }
  await Promise.all(clients.splice(0).map((c) => c.close()));
});

const target = () => `127.0.0.1:${server.port}`;

describe.each(TRANSPORTS)('proxy (%s transport)', (transport) => {
  const client = (options: HttpClientOptions = {}): ResilientHttpClient => {
    const c = createHttpClient({ transport, retry: false, circuitBreaker: false, ...options });
    clients.push(c);
    return c;
  };

  it('tunnels requests through an explicit proxy', async () => {
    const c = client({ proxy: proxy.url });
    expect((await c.get(server.url)).status).toBe(200);
    expect((await c.post(new URL('/second', server.url).href, { body: 'x' })).status).toBe(200);
    expect(proxy.tunnelsTo(target())).toBeGreaterThanOrEqual(1);
    expect(proxy.connects.every((x) => x.target === target() && x.status === 200)).toBe(true);
    expect(server.requests.map((r) => r.url)).toEqual(['/', '/second']);
  });

  it('streams and redirect-following requests go through the proxy too', async () => {
    const c = client({ proxy: proxy.url });
    expect((await c.get(server.url, { followRedirects: true })).status).toBe(200);
    expect(proxy.tunnelsTo(target())).toBe(1);
    expect(server.requests).toHaveLength(1);
  });

  it('sends the credentials of the proxy URL as Proxy-Authorization, never to the target', async () => {
    proxy.configure({ auth: { username: 'user', password: SECRET } });
    const c = client({ proxy: proxy.urlWithAuth });
    expect((await c.get(server.url)).status).toBe(200);
    expect(proxy.tunnelsTo(target())).toBe(1);
    expect(proxy.connects[0]?.authorization).toBe(
      `Basic ${Buffer.from(`user:${SECRET}`).toString('base64')}`,
    );
    expect(server.requests[0]?.headers['proxy-authorization']).toBeUndefined();
  });

  it('a proxy refusing the credentials is AUTH, nothing executed, and the password appears nowhere', async () => {
    proxy.configure({ auth: { username: 'user', password: 'right' } });
    const events = recordEvents(Channels.httpRequest);
    try {
      const c = client({ proxy: `http://user:${SECRET}@127.0.0.1:${proxy.port}` });
      const error = await rejectionOf(c.get(server.url));
      expect(isInfrastructureError(error, 'AUTH')).toBe(true);
      expect(error.maybeExecuted).toBe(false);
      expect(error.retryable).toBe(false);
      expect(server.requests).toHaveLength(0);
      const seen = `${error.message} ${String(error.stack)} ${JSON.stringify(error)} ${String((error.cause as Error | undefined)?.message)} ${JSON.stringify(events.events)}`;
      expect(seen).not.toContain(SECRET);
      expect(seen).not.toContain(Buffer.from(`user:${SECRET}`).toString('base64'));
      expect(error.message).toContain(`127.0.0.1:${proxy.port}`);
    } finally {
      events.stop();
    }
  });

  it.each([403, 502])('a proxy answering CONNECT with %i is CONNECTION, nothing executed', async (status) => {
    proxy.configure({ refuseWith: status });
    const error = await rejectionOf(client({ proxy: proxy.url }).post(server.url, { body: 'charge' }));
    expect(isInfrastructureError(error, 'CONNECTION')).toBe(true);
    expect(error.maybeExecuted).toBe(false);
    expect(error.message).toContain(String(status));
    expect(proxy.connectCount).toBe(1);
    expect(server.requests).toHaveLength(0);
  });

  it('a proxy that is down is CONNECTION, nothing executed', async () => {
    const port = await getFreePort();
    const error = await rejectionOf(
      client({ proxy: `http://user:${SECRET}@127.0.0.1:${port}` }).post(server.url, { body: 'x' }),
    );
    expect(isInfrastructureError(error, 'CONNECTION')).toBe(true);
    expect(error.maybeExecuted).toBe(false);
    expect(`${error.message} ${JSON.stringify(error)}`).not.toContain(SECRET);
    expect(server.requests).toHaveLength(0);
  });

  it("proxy: 'env' reads HTTP_PROXY and honours NO_PROXY", async () => {
    process.env.HTTP_PROXY = proxy.url;
    expect((await client({ proxy: 'env' }).get(server.url)).status).toBe(200);
    expect(proxy.tunnelsTo(target())).toBe(1);

    process.env.no_proxy = `example.com, 127.0.0.1:${server.port}`;
    expect((await client({ proxy: 'env' }).get(server.url)).status).toBe(200);
    expect(proxy.connectCount).toBe(1);
    expect(server.requests).toHaveLength(2);
  });

  it('by default the environment is read only with NODE_USE_ENV_PROXY=1; proxy: false ignores it', async () => {
    process.env.http_proxy = proxy.url;
    expect((await client().get(server.url)).status).toBe(200);
    expect(proxy.connectCount).toBe(0);

    process.env.NODE_USE_ENV_PROXY = '1';
    expect((await client({ proxy: false }).get(server.url)).status).toBe(200);
    expect(proxy.connectCount).toBe(0);
    expect((await client().get(server.url)).status).toBe(200);
    expect(proxy.tunnelsTo(target())).toBe(1);
  });

  it('HTTPS_PROXY alone does not apply to http targets', async () => {
    process.env.HTTPS_PROXY = proxy.url;
    expect((await client({ proxy: 'env' }).get(server.url)).status).toBe(200);
    expect(proxy.connectCount).toBe(0);
  });

  it('the address filter judges the target: a refused target is never sent to the proxy', async () => {
    const asked: string[] = [];
    const c = client({
      proxy: proxy.url,
      addressFilter: (address) => {
        asked.push(address);
        return !address.startsWith('127.');
      },
    });
    for (const url of [`http://localhost:${server.port}/`, server.url]) {
      const error = await rejectionOf(c.get(url));
      expect(isHttpError(error, 'FORBIDDEN_TARGET')).toBe(true);
    }
    expect(proxy.connectCount).toBe(0);
    expect(asked).toContain('127.0.0.1');
    expect(server.requests).toHaveLength(0);
  });

  it('the proxy itself may sit on a private address the filter refuses', async () => {
    proxy.configure({ refuseWith: 403 });
    const c = client({ proxy: proxy.url, addressFilter: (address) => !address.startsWith('127.') });
    const error = await rejectionOf(c.get('http://192.0.2.10:8080/'));
    expect(isInfrastructureError(error, 'CONNECTION')).toBe(true);
    expect(proxy.connects.map((x) => x.target)).toEqual(['192.0.2.10:8080']);
  });

  it('with an address filter, the tunnel goes to the address it approved, not the name', async () => {
    const c = client({ proxy: proxy.url, addressFilter: () => true });
    expect((await c.get(`http://localhost:${server.port}/`)).status).toBe(200);
    expect(proxy.connects.map((x) => x.target)).toEqual([target()]);
    expect(server.requests[0]?.headers.host).toBe(`localhost:${server.port}`);
  });
});

describe('proxy option checks', () => {
  it.each([
    ['a malformed URL', `http://user:${SECRET}@[bad`],
    ['a socks URL', `socks5://user:${SECRET}@127.0.0.1:1080`],
    ['a number', 3128],
    ['bad percent-encoding in the credentials', `http://user:%zz${SECRET}@127.0.0.1:3128`],
    ['an object without url', { noProxy: 'x' }],
  ])('%s is INVALID_ARGUMENT at creation, without echoing the URL', (_name, value) => {
    let error: unknown;
    try {
      createHttpClient({ proxy: value as never });
    } catch (e) {
      error = e;
    }
    expect(isInfrastructureError(error, 'INVALID_ARGUMENT')).toBe(true);
    expect((error as Error).message).not.toContain(SECRET);
  });

  it('a malformed HTTPS_PROXY is INVALID_ARGUMENT when the environment is read', () => {
    const saved = process.env.https_proxy;
    process.env.https_proxy = 'http://[nope';
    try {
      expect(() => createHttpClient({ proxy: 'env' })).toThrow(/HTTPS_PROXY/);
    } finally {
      if (saved === undefined) delete process.env.https_proxy;
      else process.env.https_proxy = saved;
    }
  });
});
