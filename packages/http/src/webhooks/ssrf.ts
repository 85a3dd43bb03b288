import { BlockList, isIP } from 'node:net';

/**
 * Addresses a webhook must not reach unless allowed: this host, private networks, link-local
 * (cloud metadata 169.254.169.254), CGNAT, multicast and reserved ranges, IPv6 loopback, ULA,
 * link-local, and every address that carries an IPv4 address inside it (IPv4-mapped,
 * IPv4-translated, NAT64, 6to4, Teredo) or relays to one (the 6to4 anycast 192.88.99.0/24): they
 * can smuggle the above. Those are refused outright as special-purpose, whatever IPv4 address
 * they carry, rather than decoded: a webhook endpoint has no business on a transition address.
 */
// Two lists: a BlockList matches an IPv4 address against IPv4-mapped IPv6 subnets too.
const blockedV4 = new BlockList();
const blockedV6 = new BlockList();
for (const [network, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.88.99.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const) {
  blockedV4.addSubnet(network, prefix, 'ipv4');
}
for (const [network, prefix] of [
  ['::', 96],
  ['::1', 128],
  ['::ffff:0:0', 96],
  ['::ffff:0:0:0', 96],
  ['64:ff9b::', 96],
  ['64:ff9b:1::', 48],
  ['100::', 64],
  ['2001::', 32],
  ['2001:db8::', 32],
  ['2002::', 16],
  ['fc00::', 7],
  ['fe80::', 10],
  ['fec0::', 10],
  ['ff00::', 8],
] as const) {
  blockedV6.addSubnet(network, prefix, 'ipv6');
}

/** True for an address outside every private, loopback, link-local, CGNAT and reserved range. */
export function isPublicAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 0) return false;
  return family === 6 ? !blockedV6.check(address, 'ipv6') : !blockedV4.check(address, 'ipv4');
}
