// This file is kept identical in @voelgoed/http and @voelgoed/storage (a test compares them):
// both need it, and neither package may depend on the other.
import { BlockList, isIP } from 'node:net';
import { InvalidArgumentError } from '@voelgoed/contracts';

/**
 * Where outbound connections go: a proxy URL (`http://user:pass@proxy:3128`, credentials
 * optional), an object adding hosts that bypass it, `'env'` to read `HTTPS_PROXY`/`HTTP_PROXY`/
 * `NO_PROXY`, or `false` for direct connections whatever the environment says.
 */
export type ProxyOption = string | false | 'env' | { url: string; noProxy?: string };

/** A proxy to connect through. */
export interface ProxyEndpoint {
  /** `scheme://host:port`: never credentials, safe for messages. */
  readonly origin: string;
  readonly protocol: 'http:' | 'https:';
  /** Host name or IP (IPv6 without brackets). */
  readonly hostname: string;
  readonly port: number;
  /** `Basic …` when the URL carried credentials. */
  readonly authorization: string | undefined;
}

/** The proxies for http and https targets, and the targets that bypass them. */
export interface ProxyConfig {
  readonly http: ProxyEndpoint | undefined;
  readonly https: ProxyEndpoint | undefined;
  readonly noProxy: NoProxy;
}

interface HostRule {
  /** A host name (suffix match on labels) or a normalised IP literal (exact match). */
  host: string;
  /** 0: any port. */
  port: number;
}

/** Parsed `NO_PROXY`: `*`, host names and domain suffixes, IPs, CIDR ranges, each with an optional port. */
export interface NoProxy {
  readonly all: boolean;
  readonly rules: readonly HostRule[];
  readonly ranges: BlockList | undefined;
}

const NONE: NoProxy = { all: false, rules: [], ranges: undefined };

function normaliseIp(ip: string): string {
  return isIP(ip) === 6 ? new URL(`http://[${ip}]/`).hostname.slice(1, -1) : ip;
}

/** Reads a `NO_PROXY` list the way curl does; entries it cannot read never match. */
export function parseNoProxy(text: string | undefined): NoProxy {
  if (text === undefined || text.trim() === '') return NONE;
  const rules: HostRule[] = [];
  let ranges: BlockList | undefined;
  let all = false;
  for (const raw of text.split(/[\s,]+/)) {
    let entry = raw.trim().toLowerCase();
    if (entry === '') continue;
    if (entry === '*') {
      all = true;
      continue;
    }
    const [, subnet, prefixBits] = /^([0-9a-f.:]+)\/(\d{1,3})$/.exec(entry) ?? [];
    if (subnet !== undefined && isIP(subnet) !== 0) {
      const family = isIP(subnet) === 6 ? 'ipv6' : 'ipv4';
      const bits = Number(prefixBits);
      if (bits <= (family === 'ipv6' ? 128 : 32)) {
        ranges ??= new BlockList();
        ranges.addSubnet(subnet, bits, family);
      }
      continue;
    }
    let port = 0;
    const [, bracketedHost, bracketedPort] = /^\[([^\]]+)\](?::(\d+))?$/.exec(entry) ?? [];
    if (bracketedHost !== undefined) {
      entry = bracketedHost;
      port = bracketedPort ? Number(bracketedPort) : 0;
    } else if (isIP(entry) === 0) {
      const [, host, hostPort] = /^(.*):(\d+)$/.exec(entry) ?? [];
      if (host !== undefined) {
        entry = host;
        port = Number(hostPort);
      }
    }
    entry = entry.replace(/^\*?\.+/, '').replace(/\.+$/, '');
    if (entry === '') continue;
    rules.push({ host: isIP(entry) === 0 ? entry : normaliseIp(entry), port });
  }
  return { all, rules, ranges };
}

/** True when a connection to `url` goes direct under `noProxy`. */
export function bypassesProxy(noProxy: NoProxy, url: URL): boolean {
  if (noProxy.all) return true;
  const bare = url.hostname
    .replace(/^\[|\]$/g, '')
    .replace(/\.$/, '')
    .toLowerCase();
  const family = isIP(bare);
  const host = family === 0 ? bare : normaliseIp(bare);
  const port = Number(url.port) || (url.protocol === 'https:' ? 443 : 80);
  if (family !== 0 && noProxy.ranges?.check(host, family === 6 ? 'ipv6' : 'ipv4')) return true;
  for (const rule of noProxy.rules) {
    if (rule.port !== 0 && rule.port !== port) continue;
    if (host === rule.host) return true;
    if (family === 0 && host.endsWith(`.${rule.host}`)) return true;
  }
  return false;
}

/** The proxy a connection to `url` goes through, or `undefined` for a direct one. */
export function proxyFor(config: ProxyConfig | undefined, url: URL): ProxyEndpoint | undefined {
  if (!config) return undefined;
  const endpoint = url.protocol === 'https:' ? config.https : config.http;
  if (!endpoint || bypassesProxy(config.noProxy, url)) return undefined;
  return endpoint;
}

/**
 * Reads a proxy URL; `http://` is assumed without a scheme (as curl does). The URL is never
 * echoed in an error: it may hold a password.
 */
export function parseProxyUrl(text: string, what: string, prefix: string): ProxyEndpoint {
  const bad = (detail: string) =>
    new InvalidArgumentError(`${prefix} ${what} ${detail} (expected http(s)://[user:pass@]host[:port])`);
  const trimmed = text.trim();
  let url: URL;
  try {
    url = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(trimmed) ? trimmed : `http://${trimmed}`);
  } catch {
    throw bad('is not a valid proxy URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw bad(`uses scheme ${url.protocol.slice(0, 16)}, which is not supported`);
  }
  if (url.hostname === '') throw bad('has no host');
  let authorization: string | undefined;
  if (url.username !== '' || url.password !== '') {
    let pair: string;
    try {
      pair = `${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`;
    } catch {
      throw bad('has malformed percent-encoding in its credentials');
    }
    authorization = `Basic ${Buffer.from(pair).toString('base64')}`;
  }
  return {
    origin: `${url.protocol}//${url.host}`,
    protocol: url.protocol,
    hostname: url.hostname.replace(/^\[|\]$/g, ''),
    port: Number(url.port) || (url.protocol === 'https:' ? 443 : 80),
    authorization,
  };
}

function envValue(env: NodeJS.ProcessEnv, lower: string): string | undefined {
  const value = env[lower] ?? env[lower.toUpperCase()];
  return value === undefined || value.trim() === '' ? undefined : value;
}

/** The proxy settings in `env`: `https_proxy`, `http_proxy`, `no_proxy` (lower case first, then upper). */
export function proxyFromEnv(env: NodeJS.ProcessEnv, prefix: string): ProxyConfig | undefined {
  const https = envValue(env, 'https_proxy');
  const http = envValue(env, 'http_proxy');
  if (https === undefined && http === undefined) return undefined;
  return {
    https: https === undefined ? undefined : parseProxyUrl(https, 'HTTPS_PROXY', prefix),
    http: http === undefined ? undefined : parseProxyUrl(http, 'HTTP_PROXY', prefix),
    noProxy: parseNoProxy(envValue(env, 'no_proxy')),
  };
}

/**
 * Resolves the `proxy` option. Left out, the environment is read only when Node's own switch
 * `NODE_USE_ENV_PROXY=1` is set, as Node's `fetch` and `http` do; `'env'` reads it regardless.
 */
export function resolveProxy(
  option: unknown,
  prefix: string,
  env: NodeJS.ProcessEnv = process.env,
): ProxyConfig | undefined {
  if (option === false) return undefined;
  if (option === undefined) return env.NODE_USE_ENV_PROXY === '1' ? proxyFromEnv(env, prefix) : undefined;
  if (option === 'env') return proxyFromEnv(env, prefix);
  if (typeof option === 'string') {
    const endpoint = parseProxyUrl(option, 'proxy', prefix);
    return { http: endpoint, https: endpoint, noProxy: NONE };
  }
  if (typeof option === 'object' && option !== null && !Array.isArray(option)) {
    const { url, noProxy } = option as { url?: unknown; noProxy?: unknown };
    if (typeof url !== 'string') throw new InvalidArgumentError(`${prefix} proxy.url must be a string`);
    if (noProxy !== undefined && typeof noProxy !== 'string') {
      throw new InvalidArgumentError(`${prefix} proxy.noProxy must be a string (a NO_PROXY list)`);
    }
    const endpoint = parseProxyUrl(url, 'proxy.url', prefix);
    return { http: endpoint, https: endpoint, noProxy: parseNoProxy(noProxy) };
  }
  throw new InvalidArgumentError(`${prefix} proxy must be a URL string, { url, noProxy }, 'env' or false`);
}
