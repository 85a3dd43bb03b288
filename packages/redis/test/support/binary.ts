import { randomBytes } from 'node:crypto';
import { expect } from '@jest/globals';
import type { RedisClient } from '../../src/index.js';

/** Values a text decoder would damage: every byte value, invalid UTF-8, and a large random one. */
export function binaryValues(): { name: string; value: Buffer }[] {
  return [
    { name: 'all 256 byte values', value: Buffer.from(Array.from({ length: 256 }, (_, i) => i)) },
    {
      name: 'invalid UTF-8',
      value: Buffer.from([
        0xc3, 0x28, 0xa0, 0xa1, 0xe2, 0x28, 0xa1, 0xf0, 0x28, 0x8c, 0xbc, 0xff, 0xfe, 0x0d, 0x0a,
      ]),
    },
    { name: '8 MiB of random bytes', value: randomBytes(8 * 1024 * 1024) },
  ];
}

function sameBytes(actual: unknown, expected: Buffer): void {
  expect(Buffer.isBuffer(actual)).toBe(true);
  // equals() rather than toEqual: a mismatch in 8 MiB would print all of it.
  expect((actual as Buffer).equals(expected)).toBe(true);
}

/**
 * Each call moves up to 8 MiB (twice on Sentinel and Cluster, where a replica copies it): under a
 * loaded CI machine that can outlast a client's short default deadline, which is not what these
 * tests check, so every call here gets a deadline of its own.
 */
const slow = { timeoutMs: 20_000 };

/**
 * Writes each binary value and reads it back as a Buffer through command(), pipeline() and
 * transaction() (`transactions: false`: a buffered transaction is refused, as on Cluster and
 * Sentinel); `key(name)` must put all keys of one call in one Cluster slot.
 */
export async function expectBinaryRoundTrips(
  client: RedisClient,
  key: (name: string) => string,
  { transactions = true } = {},
): Promise<void> {
  for (const [i, { value }] of binaryValues().entries()) {
    const k = key(`bin:${i}`);
    expect(await client.command(['SET', k, value], slow)).toBe('OK');
    sameBytes(await client.command(['GET', k], { ...slow, returnBuffers: true }), value);
    // Strings stay the default.
    expect(typeof (await client.command(['GET', k], slow))).toBe('string');

    const piped = await client.pipeline(
      [
        ['SET', key(`bin:p${i}`), value],
        ['GET', key(`bin:p${i}`)],
        ['GET', key('bin:missing')],
      ],
      { ...slow, returnBuffers: true },
    );
    expect(piped[0]).toEqual({ ok: true, value: 'OK' });
    sameBytes(piped[1]!.ok ? piped[1]!.value : undefined, value);
    expect(piped[2]).toEqual({ ok: true, value: null });

    if (!transactions) {
      // Refused before anything is sent, rather than returning damaged bytes.
      await expect(
        client.transaction([['GET', key(`bin:t${i}`)]], { ...slow, returnBuffers: true }),
      ).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
      continue;
    }
    const replies = await client.transaction(
      [
        ['SET', key(`bin:t${i}`), value],
        ['GET', key(`bin:t${i}`)],
        ['STRLEN', key(`bin:t${i}`)],
      ],
      { ...slow, returnBuffers: true },
    );
    expect(replies[0]).toBe('OK');
    sameBytes(replies[1], value);
    expect(replies[2]).toBe(value.length);
  }
}
