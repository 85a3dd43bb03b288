import { readFileSync } from 'node:fs';
import { describe, expect, it } from '@jest/globals';
import { isInfrastructureError } from '@voelgoed/contracts';
import { bypassesProxy, parseNoProxy, proxyFor, resolveProxy } from '../src/proxy-config.js';

const P = '[test]';

describe('NO_PROXY', () => {
  const bypass = (list: string, url: string) => bypassesProxy(parseNoProxy(list), new URL(url));

  it.each([
    ['*', 'https://anything.example/', true],
    ['example.com', 'https://example.com/', true],
    ['example.com', 'https://api.example.com/', true],
    ['example.com', 'https://notexample.com/', false],
    ['.example.com', 'https://example.com/', true],
    ['.example.com', 'https://a.b.example.com/', true],
    ['*.example.com', 'https://a.example.com/', true],
    ['EXAMPLE.com.', 'https://Example.COM./', true],
    ['example.com:8443', 'https://example.com:8443/', true],
    ['example.com:8443', 'https://example.com/', false],
    ['example.com:443', 'https://example.com/', true],
    ['10.1.2.3', 'http://10.1.2.3:8080/', true],
    ['10.1.2.3', 'http://10.1.2.4/', false],
    ['10.0.0.0/8', 'http://10.200.0.1/', true],
    ['10.0.0.0/8', 'http://11.0.0.1/', false],
    ['::1', 'http://[::1]:3000/', true],
    ['[0:0::1]:3000', 'http://[::1]:3000/', true],
    ['[::1]:3000', 'http://[::1]:3001/', false],
    ['fd00::/8', 'http://[fd12::5]/', true],
    ['localhost, , 127.0.0.1\texample.org', 'http://127.0.0.1/', true],
    ['10.0.0.0/99', 'http://10.0.0.1/', false],
    ['', 'http://example.com/', false],
  ])('%j for %s: %s', (list, url, expected) => {
    expect(bypass(list, url)).toBe(expected);
  });
});

describe('proxy settings', () => {
  it('reads lower case before upper case, and picks the proxy by the target scheme', () => {
    const config = resolveProxy('env', P, {
      https_proxy: 'proxy-a:3128',
      HTTPS_PROXY: 'http://proxy-b:3128',
      HTTP_PROXY: 'https://u:p%40ss@proxy-c',
      NO_PROXY: 'internal',
    });
    expect(proxyFor(config, new URL('https://x.test/'))?.origin).toBe('http://proxy-a:3128');
    const forHttp = proxyFor(config, new URL('http://x.test/'));
    expect(forHttp).toMatchObject({ origin: 'https://proxy-c', port: 443 });
    expect(forHttp?.authorization).toBe(`Basic ${Buffer.from('u:p@ss').toString('base64')}`);
    expect(proxyFor(config, new URL('https://db.internal/'))).toBeUndefined();
  });

  it('is off by default unless NODE_USE_ENV_PROXY=1, and off with false whatever the environment', () => {
    const env = { HTTPS_PROXY: 'http://proxy:3128' };
    expect(resolveProxy(undefined, P, env)).toBeUndefined();
    expect(resolveProxy(undefined, P, { ...env, NODE_USE_ENV_PROXY: '1' })?.https?.hostname).toBe('proxy');
    expect(resolveProxy(false, P, { ...env, NODE_USE_ENV_PROXY: '1' })).toBeUndefined();
    expect(resolveProxy('env', P, { HTTPS_PROXY: '  ' })).toBeUndefined();
  });

  it('an explicit proxy ignores NO_PROXY in the environment; its own noProxy applies', () => {
    const explicit = resolveProxy('http://proxy:3128', P, { NO_PROXY: '*' });
    expect(proxyFor(explicit, new URL('http://a.test/'))?.hostname).toBe('proxy');
    const withList = resolveProxy({ url: 'http://proxy:3128', noProxy: 'a.test' }, P, {});
    expect(proxyFor(withList, new URL('http://a.test/'))).toBeUndefined();
    expect(proxyFor(withList, new URL('https://b.test/'))?.port).toBe(3128);
  });

  it.each([['ftp://proxy'], ['http://'], [''], ['http://u:%zz@proxy']])('%j is INVALID_ARGUMENT', (url) => {
    let error: unknown;
    try {
      resolveProxy(url, P, {});
    } catch (e) {
      error = e;
    }
    expect(isInfrastructureError(error, 'INVALID_ARGUMENT')).toBe(true);
  });

  it('the proxy files are identical in @voelgoed/http and @voelgoed/storage', () => {
    for (const name of ['proxy-config.ts', 'proxy-tunnel.ts']) {
      const here = readFileSync(new URL(`../src/${name}`, import.meta.url), 'utf8');
      const there = readFileSync(new URL(`../../storage/src/${name}`, import.meta.url), 'utf8');
      expect(there).toBe(here);
    }
  });
});
