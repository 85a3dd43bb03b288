import { createRequire } from 'node:module';
import { describe, expect, it } from '@jest/globals';
import { keyArg, toClusterArgs } from '../src/commands.js';
import { keySlot } from '../src/slots.js';

// node-redis 6's Cluster hashes a string key by copying it into a JS array one byte at a time
// (about 200 ms for a 1 MiB key, on the event loop), and hashes every key of a multi-key command
// (DEL, MGET, …) to split it by shard; a Buffer it hashes in place. The cluster backend hands it
// long strings as their bytes: the same bytes on the wire, and the bytes the server hashes.
const require = createRequire(__filename);
const { default: nodeRedisSlot } = require('@redis/client/dist/lib/utils/calculate-slot') as {
  default: (key: string | Buffer) => number;
};

describe('arguments for node-redis Cluster', () => {
  it('long strings go as their UTF-8 bytes, short ones and Buffers as they are, numbers as text', () => {
    const long = `${'é'.repeat(40)}{tag}${'x'.repeat(30)}`;
    const bytes = Buffer.from([0xff, 0x00]);
    const out = toClusterArgs(['DEL', long, 'short', bytes, 7]);
    expect(out[0]).toBe('DEL');
    expect(Buffer.isBuffer(out[1]) && (out[1] as Buffer).equals(Buffer.from(long, 'utf8'))).toBe(true);
    expect(out.slice(2)).toEqual(['short', bytes, '7']);
    expect(Buffer.isBuffer(keyArg(long))).toBe(true);
    expect(keyArg('short')).toBe('short');
    expect(keyArg(42)).toBe('42');
  });

  it('passes the array on unchanged when it holds no number and no long string', () => {
    const args = ['GET', 'k'];
    expect(toClusterArgs(args, false)).toBe(args);
    const withLong = ['GET', 'k'.repeat(65)];
    expect(Buffer.isBuffer(toClusterArgs(withLong, false)[1])).toBe(true);
  });

  it("node-redis hashes the bytes to the server's slot, a lone surrogate included (its own string hash does not)", () => {
    const keys = [
      'k'.repeat(1024 * 1024),
      `${'x'.repeat(80)}{order:1}${'y'.repeat(80)}`,
      `${'ключ'.repeat(30)}`,
      `${'a'.repeat(70)}\ud800`,
    ];
    for (const key of keys) expect(nodeRedisSlot(keyArg(key) as Buffer)).toBe(keySlot(key));
    // Why bytes: node-redis encodes a lone surrogate for its hash as the server never sees it.
    const lone = `${'a'.repeat(70)}\ud800`;
    expect(nodeRedisSlot(lone)).not.toBe(keySlot(lone));
  });
});
