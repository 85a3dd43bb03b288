import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { type RedisCluster, startRedisCluster, stopAll } from '@voelgoed/testkit';
import { createRedisClient, hashTag, keySlot, type RedisClient } from '../src/index.js';
import { expectBinaryRoundTrips } from './support/binary.js';

let cluster: RedisCluster;
let client: RedisClient;

beforeAll(async () => {
  cluster = await startRedisCluster();
  client = createRedisClient({ cluster: { nodes: cluster.seeds.slice(0, 1), topologyRefreshMs: 500 } });
  await client.ready();
}, 60_000);

afterAll(async () => {
  await client?.close();
  await stopAll();
});

/** Which node (by port) owns each key, according to the servers themselves. */
async function ownerPort(key: string): Promise<number> {
  for (const node of cluster.nodes) {
    const reply = await node.call(['CLUSTER', 'COUNTKEYSINSLOT', keySlot(key)]);
    const info = await node.call(['CLUSTER', 'KEYSLOT', key]);
    expect(info).toBe(keySlot(key)); // our slot function agrees with the server's
    if (Number(reply) > 0) return node.port;
  }
  throw new Error(`no node holds ${key}`);
}

describe('Redis Cluster', () => {
  it('runs typed commands (node-redis names and reply shapes), alone and in multi()', async () => {
    expect(await client.hSet('{typed}:h', { a: '1', b: 2 })).toBe(2);
    expect(await client.hGetAll('{typed}:h')).toEqual({ a: '1', b: '2' });
    const [ok, value] = await client.multi().set('{typed}:m', 'x').get('{typed}:m').exec();
    expect([ok, value]).toEqual(['OK', 'x']);
    expect(await client.multi().get('{typed}:m').hGetAll('{typed}:h').execAsPipeline()).toEqual([
      'x',
      { a: '1', b: '2' },
    ]);
    // Routed by the key node-redis's parser found: keys on different nodes each reach their own.
    for (const k of ['a', 'b', 'c', 'd', 'e', 'f']) expect(await client.set(`typed:${k}`, k)).toBe('OK');
    for (const k of ['a', 'b', 'c', 'd', 'e', 'f']) expect(await client.get(`typed:${k}`)).toBe(k);
  });

  it('round-trips binary values byte-exact through command and pipeline (a buffered transaction is refused)', async () => {
    await expectBinaryRoundTrips(client, (name) => `{bin}:${name}`, { transactions: false });
  }, 90_000);

  it('spreads keys over the slots of all three masters from one seed node', async () => {
    const keys = Array.from({ length: 60 }, (_, i) => `user:${i}`);
    for (const key of keys) expect(await client.command(['SET', key, key])).toBe('OK');
    for (const key of keys) expect(await client.command(['GET', key])).toBe(key);
    const owners = new Set<number>();
    for (const key of keys.slice(0, 12)) owners.add(await ownerPort(key));
    expect(owners.size).toBe(3);
  });

  it('pipelines commands for keys on different nodes and returns one result each', async () => {
    const results = await client.pipeline([
      ['SET', 'a', '1'],
      ['SET', 'b', '2'],
      ['SET', 'c', '3'],
      ['INCR', 'a'],
    ]);
    expect(results).toEqual([
      { ok: true, value: 'OK' },
      { ok: true, value: 'OK' },
      { ok: true, value: 'OK' },
      { ok: true, value: 2 },
    ]);
  });

  it('runs a transaction on hash-tagged keys and refuses a CROSSSLOT one before sending it', async () => {
    const tag = hashTag('order:7');
    const replies = await client.transaction([
      ['SET', `${tag}:total`, '10'],
      ['INCRBY', `${tag}:total`, 5],
      ['SET', `${tag}:state`, 'paid'],
    ]);
    expect(replies).toEqual(['OK', 15, 'OK']);
    expect(keySlot('a')).not.toBe(keySlot('b'));
    await expect(
      client.transaction([
        ['SET', 'a', '1'],
        ['SET', 'b', '2'],
      ]),
    ).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringContaining('CROSSSLOT') });
  });

  it('a command whose own keys span slots (RENAME, a two-key EVAL, MSET in a transaction) is INVALID_ARGUMENT and changes nothing', async () => {
    // The pre-send check of a transaction reads one key per command; the server finds the rest
    // and answers CROSSSLOT, a caller's mistake with nothing run, not a REDIS_REPLY failure.
    const a = '{cross}a';
    const b = 'cross:b';
    expect(keySlot(a)).not.toBe(keySlot(b));
    await client.command(['SET', a, '1']);
    const crossslot = {
      code: 'INVALID_ARGUMENT',
      retryable: false,
      message: expect.stringContaining('CROSSSLOT'),
    };
    await expect(client.command(['RENAME', a, b])).rejects.toMatchObject(crossslot);
    await expect(client.rename(a, b)).rejects.toMatchObject(crossslot);
    await expect(
      client.command(['EVAL', "return redis.call('GET', KEYS[1])", 2, a, b]),
    ).rejects.toMatchObject(crossslot);
    const [piped] = await client.pipeline([['RENAME', a, b]]);
    expect(piped).toMatchObject({ ok: false, error: crossslot });
    await expect(
      client.transaction([
        ['SET', a, '2'],
        ['RENAME', a, b],
      ]),
    ).rejects.toMatchObject(crossslot);
    await expect(client.transaction([['MSET', a, '3', b, '3']])).rejects.toMatchObject(crossslot);
    await expect(client.multi().set(a, '4').rename(a, b).exec()).rejects.toMatchObject(crossslot);
    expect(await client.command(['GET', a])).toBe('1');
    expect(await client.command(['EXISTS', b])).toBe(0);
  });

  it('routes commands whose key is not their first argument (a subcommand or a key count first) by that key', async () => {
    // Keys on every master: routed by the subcommand or the count they all failed with
    // "Too many Cluster redirections" (retryable, so a retrying caller looped for ever).
    const keys = Array.from({ length: 12 }, (_, i) => `routed:${i}`);
    expect(new Set(keys.map((k) => keySlot(k) >> 13)).size).toBeGreaterThan(1);
    for (const key of keys) {
      await client.command(['DEL', key, `${key}:s`]);
      await client.command(['RPUSH', key, 'a', 'b']);
      expect(await client.command(['OBJECT', 'ENCODING', key])).toEqual(expect.any(String));
      expect(await client.command(['LMPOP', 1, key, 'LEFT'])).toEqual([key, ['a']]);
      expect(await client.command(['MEMORY', 'USAGE', key])).toEqual(expect.any(Number));
      await client.command(['XADD', `{${key}}:s`, '*', 'f', 'v']);
      expect(await client.command(['XGROUP', 'CREATE', `{${key}}:s`, 'g', '0'])).toBe('OK');
      const info = (await client.command(['XINFO', 'STREAM', `{${key}}:s`])) as unknown[];
      expect(info).toContain('length');
      await client.command(['SADD', `{${key}}:set`, 'm']);
      expect(await client.command(['SINTERCARD', 1, `{${key}}:set`])).toBe(1);
      expect(await client.command(['ZUNION', 1, `{${key}}:z`])).toEqual([]);
      await client.command(['DEL', key, `{${key}}:s`, `{${key}}:set`]);
    }
  });

  it('follows a MOVED redirect after a slot migrates to another node', async () => {
    const key = 'migrating-key';
    await client.command(['SET', key, 'before']);
    const slot = keySlot(key);
    const from = await ownerPortForSlot(slot);
    const to = cluster.nodes.find((n) => n.port !== from.port)!;
    const toId = String(await to.call(['CLUSTER', 'MYID']));
    const fromId = String(await from.call(['CLUSTER', 'MYID']));
    // Move the slot (and its key) by hand, the way redis-cli --cluster reshard does.
    await to.call(['CLUSTER', 'SETSLOT', slot, 'IMPORTING', fromId]);
    await from.call(['CLUSTER', 'SETSLOT', slot, 'MIGRATING', toId]);
    await from.call(['MIGRATE', to.host, to.port, key, 0, 5000]);
    for (const node of cluster.nodes) await node.call(['CLUSTER', 'SETSLOT', slot, 'NODE', toId]);
    // The client's slot map still says `from`: it gets MOVED and follows it.
    expect(await client.command(['GET', key])).toBe('before');
    expect(await client.command(['SET', key, 'after'])).toBe('OK');
    expect(await to.call(['GET', key])).toBe('after');
  });
});

async function ownerPortForSlot(slot: number) {
  const slots = (await cluster.nodes[0]!.call(['CLUSTER', 'SLOTS'])) as [number, number, [string, number]][];
  const range = slots.find(([start, end]) => slot >= start && slot <= end)!;
  const port = Number(range[2][1]);
  return cluster.nodes.find((n) => n.port === port)!;
}

describe('Redis Cluster topology refresh', () => {
  it('a periodic refresh that fails (every node gone) is no unhandled rejection: the process would crash', async () => {
    const own = await startRedisCluster();
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    const c = createRedisClient({
      cluster: { nodes: own.seeds.slice(0, 1), topologyRefreshMs: 50 },
      connectTimeoutMs: 500,
    });
    try {
      await c.ready();
      const refreshes = c.refreshTopology();
      await refreshes;
      await own.stop();
      // Several refreshes run against nodes that are gone; each one fails.
      await new Promise((resolve) => setTimeout(resolve, 1500));
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
      await c.close();
    }
  }, 30_000);
});
