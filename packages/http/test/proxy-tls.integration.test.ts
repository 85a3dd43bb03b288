import { readFileSync } from 'node:fs';
import https from 'node:https';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { type ConnectProxy, startConnectProxy } from '@voelgoed/testkit';
import { filteredLookup } from '../src/address-filter.js';
import { parseProxyUrl } from '../src/proxy-config.js';
import { HttpsTunnelAgent, type TunnelSettings } from '../src/proxy-tunnel.js';

// The test kit has no TLS server: this one uses a self-signed certificate for localhost and
// 127.0.0.1 (valid until 2126), so that TLS to the target runs over a real CONNECT tunnel.
const key = readFileSync(new URL('./fixtures/localhost-key.pem', import.meta.url));
const cert = readFileSync(new URL('./fixtures/localhost-cert.pem', import.meta.url));

let server: https.Server;
let port: number;
let proxy: ConnectProxy;

beforeAll(async () => {
  server = https.createServer({ key, cert }, (req, res) => {
    const servername = (req.socket as { servername?: string | false }).servername;
    res.end(JSON.stringify({ host: req.headers.host, servername }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as { port: number }).port;
  proxy = await startConnectProxy({ auth: { username: 'svc', password: 'pw' } });
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  await proxy.stop();
});

function settings(extra: Partial<TunnelSettings> = {}): TunnelSettings {
  return {
    proxy: parseProxyUrl(proxy.urlWithAuth, 'proxy', '[test]'),
    prefix: '[test]',
    connectTimeoutMs: 30_000,
    timeoutError: (message) => new Error(message) as never,
    ...extra,
  };
}

function get(agent: https.Agent, url: string, ca?: Buffer): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    https
      .get(url, { agent, ...(ca ? { ca } : {}) }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          body += chunk;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      })
      .on('error', reject);
  });
}

describe('TLS to the target through a CONNECT tunnel', () => {
  it('verifies the target certificate for its name and reuses the tunnel', async () => {
    proxy.connects.length = 0;
    const agent = new HttpsTunnelAgent({ keepAlive: true }, settings());
    try {
      for (let i = 0; i < 2; i++) {
        const response = await get(agent, `https://localhost:${port}/`, cert);
        expect(response.status).toBe(200);
        expect(JSON.parse(response.body)).toEqual({ host: `localhost:${port}`, servername: 'localhost' });
      }
      expect(proxy.connects.map((c) => [c.target, c.status])).toEqual([[`localhost:${port}`, 200]]);
    } finally {
      agent.destroy();
    }
  });

  it('with a lookup, tunnels to the approved address and still sends the name as SNI', async () => {
    proxy.connects.length = 0;
    const agent = new HttpsTunnelAgent({}, settings({ lookup: filteredLookup(() => true) }));
    try {
      const response = await get(agent, `https://localhost:${port}/`, cert);
      expect(JSON.parse(response.body)).toEqual({ host: `localhost:${port}`, servername: 'localhost' });
      expect(proxy.connects.map((c) => c.target)).toEqual([`127.0.0.1:${port}`]);
    } finally {
      agent.destroy();
    }
  });

  it('an untrusted target certificate fails the request, through the tunnel', async () => {
    const agent = new HttpsTunnelAgent({}, settings());
    try {
      await expect(get(agent, `https://localhost:${port}/`)).rejects.toMatchObject({
        code: 'DEPTH_ZERO_SELF_SIGNED_CERT',
      });
    } finally {
      agent.destroy();
    }
  });
});
