import { isIP, type LookupFunction } from 'node:net';
import { ConnectionError, type InfrastructureError, isInfrastructureError } from '@voelgoed/contracts';
import { HttpTimeoutError, MESSAGE_PREFIX } from './errors.js';
import type { ProxyEndpoint } from './proxy-config.js';
import { ProxyAuthenticationError } from './proxy-tunnel.js';
import { redactUrl } from './redact.js';

/**
 * Where undici's ProxyAgent should tunnel to. Without an address filter: the URL's origin (the
 * proxy resolves the name). With one: the target's name is resolved and judged here, before the
 * proxy is contacted, and the tunnel goes to the approved address; the `host` header keeps the
 * name (undici takes the TLS server name from it).
 */
export async function viaProxy(
  url: URL,
  headers: Record<string, string>,
  lookup: LookupFunction | undefined,
): Promise<{ origin: string; headers: Record<string, string> } | undefined> {
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (!lookup || isIP(host) !== 0) return undefined;
  const address = await new Promise<string>((resolve, reject) => {
    lookup(host, { all: true }, (error, addresses) => {
      const found =
        typeof addresses === 'string'
          ? addresses
          : Array.isArray(addresses)
            ? addresses[0]?.address
            : undefined;
      if (error) reject(error);
      else if (found !== undefined) resolve(found);
      else reject(new Error(`no address found for ${host}`));
    });
  });
  const port = url.port || (url.protocol === 'https:' ? '443' : '80');
  const literal = isIP(address) === 6 ? `[${address}]` : address;
  return { origin: `${url.protocol}//${literal}:${port}`, headers: { ...headers, host: url.host } };
}

/** Walks an error and its causes, looking for text and codes undici uses for proxy failures. */
function describe(error: unknown): { status: number; unreachable: boolean } {
  let status = 0;
  let unreachable = false;
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current !== undefined && current !== null; depth++) {
    const message = current instanceof Error ? current.message : '';
    const code = (current as { code?: unknown }).code;
    const match = /Proxy response \((\d{3})\)/.exec(message);
    if (match) status = Number(match[1]);
    if (code === 'UND_ERR_PRX_CONN' || code === 'UND_ERR_PRX_TLS' || code === 'ECONNREFUSED')
      unreachable = true;
    current = (current as { cause?: unknown }).cause;
  }
  return { status, unreachable };
}

/**
 * The typed error for a request that failed at the proxy (nothing reached the target), or
 * `undefined` when the failure was something else. undici's own messages never carry the
 * proxy's credentials (they are passed as a token), and only the proxy's origin is named.
 */
export function proxyFailure(
  error: unknown,
  proxy: ProxyEndpoint,
  url: URL,
): InfrastructureError | undefined {
  if (
    isInfrastructureError(error) &&
    (error.code === 'FORBIDDEN_TARGET' ||
      error.code === 'INVALID_ARGUMENT' ||
      error instanceof HttpTimeoutError)
  ) {
    return undefined;
  }
  const { status, unreachable } = describe(error);
  const target = `${url.host}`;
  const at = `${MESSAGE_PREFIX} proxy ${proxy.origin}`;
  if (status === 407) {
    return new ProxyAuthenticationError(`${at} refused the credentials (407) for a tunnel to ${target}`);
  }
  if (status !== 0) {
    return new ConnectionError(
      `${at} refused a tunnel to ${target} (status ${status}) for ${redactUrl(url)}`,
    );
  }
  if (unreachable) return new ConnectionError(`${at} could not be reached (for ${redactUrl(url)})`);
  return undefined;
}
