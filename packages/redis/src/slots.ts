// Redis Cluster key slots: CRC16 (XMODEM) of the key or of its {hash tag}, mod 16384.
import { type RedisArgument, routingKey } from './commands.js';
import { invalidArgument } from './errors.js';

const TABLE = new Uint16Array(256);
for (let i = 0; i < 256; i++) {
  let crc = i << 8;
  for (let j = 0; j < 8; j++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  TABLE[i] = crc;
}

function crc16(bytes: Uint8Array): number {
  let crc = 0;
  for (const byte of bytes) {
    // biome-ignore lint/style/noNonNullAssertion: the index is masked to 0..255, TABLE has 256 entries
    crc = ((crc << 8) & 0xffff) ^ TABLE[((crc >> 8) ^ byte) & 0xff]!;
  }
  return crc;
}

/** The part of a key that decides its slot: the first non-empty `{…}` section, or the whole key. */
export function hashTagOf(key: string | Buffer): Buffer {
  const bytes = typeof key === 'string' ? Buffer.from(key) : key;
  const open = bytes.indexOf(0x7b); // {
  if (open >= 0) {
    const close = bytes.indexOf(0x7d, open + 1); // }
    if (close > open + 1) return bytes.subarray(open + 1, close);
  }
  return bytes;
}

/** The Cluster slot (0–16383) of a key. */
export function keySlot(key: string | Buffer): number {
  return crc16(hashTagOf(key)) % 16384;
}

/** Wraps `tag` in braces so that keys built with it share one slot: `hashTag('order:1') + ':items'`. */
export function hashTag(tag: string): string {
  if (tag === '' || tag.includes('{') || tag.includes('}')) {
    throw new RangeError('a hash tag must be non-empty and contain no braces');
  }
  return `{${tag}}`;
}

/**
 * Throws `INVALID_ARGUMENT` (reply `CROSSSLOT`) when the commands' keys are not all in one
 * Cluster slot; returns a key to route by. Only the routing key of each command is checked.
 */
export function sameSlotKey(commands: readonly (readonly RedisArgument[])[]): RedisArgument | undefined {
  let first: RedisArgument | undefined;
  let slot: number | undefined;
  for (const c of commands) {
    const key = routingKey(c);
    if (key === undefined) continue;
    const s = keySlot(typeof key === 'number' ? String(key) : key);
    if (slot === undefined) {
      slot = s;
      first = key;
    } else if (s !== slot) {
      throw invalidArgument(
        'CROSSSLOT: the commands touch keys in different cluster slots; put a shared {hash tag} in the keys',
      );
    }
  }
  return first;
}
