import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { type RedisSentinelGroup, startRedisSentinel, stopAll } from '@voelgoed/testkit';
import { createRedisClient, type RedisClient } from '../src/index.js';
import { expectBinaryRoundTrips } from './support/binary.js';

let group: RedisSentinelGroup;
let client: RedisClient;

beforeAll(async () => {
  group = await startRedisSentinel();
  client = createRedisClient({
    sentinel: { name: group.masterName, sentinels: group.sentinelAddresses },
    // Seconds: every call on it must succeed (8 MiB binary values among them) on a loaded machine.
    // The retried write during the failover carries a short deadline of its own.
    commandTimeoutMs: 10_000,
  });
  await client.ready();
}, 60_000);

afterAll(async () => {
  await client?.close();
  await stopAll();
});

describe('Sentinel', () => {
  it('runs typed commands (node-redis names and reply shapes), alone and in multi()', async () => {
    expect(await client.hSet('typed:h', { a: '1', b: 2 })).toBe(2);
    expect(await client.hGetAll('typed:h')).toEqual({ a: '1', b: '2' });
    const [ok, value] = await client.multi().set('typed:m', 'x').get('typed:m').exec();
    expect([ok, value]).toEqual(['OK', 'x']);
    expect(await client.multi().get('typed:m').hGetAll('typed:h').execAsPipeline()).toEqual([
      'x',
      { a: '1', b: '2' },
    ]);
  });

  it('round-trips binary values byte-exact through command and pipeline (a buffered transaction is refused)', async () => {
    await expectBinaryRoundTrips(client, (name) => name, { transactions: false });
  }, 90_000);

  it('finds the master through the sentinels and writes to it', async () => {
    expect(await client.command(['SET', 'before-failover', '1'])).toBe('OK');
    expect(await group.master.call(['GET', 'before-failover'])).toBe('1');
  });

  it('goes on with the promoted replica when the master is killed', async () => {
    await client.command(['SET', 'replicated', 'yes']);
    // Until the replica has it (read back below, from the promoted replica): WAIT 1 2000 can give
    // up after 2 s on a descheduled replica, and its reply raced the kit client's own 2 s limit.
    await group.master.call(['WAIT', '1', '0'], 60_000);
    await group.master.kill();
    await group.waitForFailover(group.master.port);
    // Commands fail (typed) during the failover, then succeed on the new master.
    let reply: unknown;
    const errors: unknown[] = [];
    for (let i = 0; i < 200 && reply !== 'OK'; i++) {
      reply = await client
        .command(['SET', 'after-failover', '1'], { timeoutMs: 2000 })
        .catch((e: unknown) => {
          errors.push(e);
          return undefined;
        });
      if (reply !== 'OK') await new Promise((r) => setTimeout(r, 100));
    }
    expect(reply).toBe('OK');
    for (const e of errors)
      expect(['CONNECTION', 'TIMEOUT', 'REDIS_REPLY']).toContain((e as { code: string }).code);
    expect(await group.replica.call(['GET', 'after-failover'])).toBe('1');
    expect(await client.command(['GET', 'replicated'])).toBe('yes');
  }, 60_000);
});
