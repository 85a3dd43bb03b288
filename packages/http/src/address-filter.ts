import dns, { type LookupAddress } from 'node:dns';
import { isIP, type LookupFunction } from 'node:net';
import { ForbiddenTargetError, MESSAGE_PREFIX } from './errors.js';

export type AddressFilter = (address: string, family: 4 | 6) => boolean;

function refused(host: string, address: string): ForbiddenTargetError {
  return new ForbiddenTargetError(
    `${MESSAGE_PREFIX} refused to connect to ${host}: address ${address} is not allowed by the address filter`,
  );
}

/**
 * Asks the filter; a filter that throws refuses (fail closed). It runs inside a DNS callback,
 * where an exception would crash the process.
 */
function allowed(filter: AddressFilter, address: string, family: 4 | 6): boolean {
  try {
    return filter(address, family) === true;
  } catch {
    return false;
  }
}

/** A DNS lookup that fails with `ForbiddenTargetError` when any resolved address is refused. */
export function filteredLookup(filter: AddressFilter): LookupFunction {
  const lookup = (
    hostname: string,
    options: dns.LookupOptions,
    callback: (
      error: NodeJS.ErrnoException | null,
      address: string | LookupAddress[],
      family?: number,
    ) => void,
  ): void => {
    dns.lookup(hostname, { ...options }, (error, address: string | LookupAddress[], family?: number) => {
      if (error) {
        callback(error, address, family);
        return;
      }
      const list: LookupAddress[] = Array.isArray(address) ? address : [{ address, family: family ?? 4 }];
      for (const entry of list) {
        if (!allowed(filter, entry.address, entry.family === 6 ? 6 : 4)) {
          callback(refused(hostname, entry.address) as NodeJS.ErrnoException, address, family);
          return;
        }
      }
      callback(null, address, family);
    });
  };
  return lookup as unknown as LookupFunction;
}

/** Checks a URL whose host is an IP literal (no DNS lookup happens for those). */
export function checkLiteralHost(url: URL, filter: AddressFilter): void {
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  const family = isIP(host);
  if (family === 0) return;
  if (!allowed(filter, host, family === 6 ? 6 : 4)) throw refused(url.host, host);
}
