import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { type RedisServer, startRedis, stopAll } from '@voelgoed/testkit';
import { createRedisClient, type RedisClient } from '../src/index.js';
import { binaryValues, expectBinaryRoundTrips } from './support/binary.js';

let server: RedisServer;
let client: RedisClient;

beforeAll(async () => {
  server = await startRedis();
  client = createRedisClient({ url: server.url, commandTimeoutMs: 10_000 });
  await client.ready();
});

afterAll(async () => {
  await client?.close();
  await stopAll();
});

describe('binary values on a standalone server', () => {
  it('round-trip byte-exact through command, pipeline and transaction with returnBuffers', async () => {
    await expectBinaryRoundTrips(client, (name) => name);
  }, 90_000);

  it('arrive as Buffers inside array replies, and the server holds exactly the bytes written', async () => {
    const [, invalid] = binaryValues();
    await client.command(['DEL', 'bin:list']);
    await client.command(['RPUSH', 'bin:list', invalid!.value, 'text', Buffer.alloc(0)]);
    const items = await client.command<Buffer[]>(['LRANGE', 'bin:list', 0, -1], { returnBuffers: true });
    expect(items.map((b) => b.toString('hex'))).toEqual([invalid!.value.toString('hex'), '74657874', '']);
    // Checked from outside the client: the server's own byte count.
    expect(await server.call(['STRLEN', 'bin:0'])).toBe(256);
  });

  it('interleave with string replies on the shared connection without mixing them up', async () => {
    const value = Buffer.from([0xff, 0x00, 0xfe]);
    await client.command(['SET', 'bin:mix', value]);
    const calls = Array.from({ length: 200 }, (_, i) =>
      i % 2 ? client.command(['GET', 'bin:mix'], { returnBuffers: true }) : client.command(['ECHO', `s${i}`]),
    );
    const replies = await Promise.all(calls);
    replies.forEach((reply, i) => {
      if (i % 2) expect(Buffer.isBuffer(reply) && reply.equals(value)).toBe(true);
      else expect(reply).toBe(`s${i}`);
    });
  });
});
