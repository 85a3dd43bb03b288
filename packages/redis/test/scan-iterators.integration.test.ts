import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { InfrastructureError } from '@voelgoed/contracts';
import {
  type RedisCluster,
  type RedisServer,
  startRedis,
  startRedisCluster,
  stopAll,
} from '@voelgoed/testkit';
import { BUFFER_REPLIES, createRedisClient, type RedisClient } from '../src/index.js';

// node-redis's scan iterators, with its names, options and batches.

let server: RedisServer;
let redis: RedisClient;

beforeAll(async () => {
  server = await startRedis();
  redis = createRedisClient({ url: server.url, commandTimeoutMs: 10_000 });
  await redis.ready();
  await redis.mSet(Object.fromEntries(Array.from({ length: 250 }, (_, i) => [`it:k:${i}`, String(i)])));
  await redis.set('other', 'x');
  await redis.hSet('it:h', Object.fromEntries(Array.from({ length: 300 }, (_, i) => [`f${i}`, `v${i}`])));
  await redis.sAdd(
    'it:s',
    Array.from({ length: 300 }, (_, i) => `m${i}`),
  );
  await redis.zAdd(
    'it:z',
    Array.from({ length: 300 }, (_, i) => ({ score: i, value: `z${i}` })),
  );
}, 60_000);

afterAll(async () => {
  await redis?.close();
  await stopAll();
});

async function all<T>(iterator: AsyncIterable<T[]>): Promise<{ items: T[]; batches: number }> {
  const items: T[] = [];
  let batches = 0;
  for await (const batch of iterator) {
    batches += 1;
    items.push(...batch);
  }
  return { items, batches };
}

describe('scan iterators', () => {
  it('scanIterator yields every matching key once, in batches', async () => {
    const { items, batches } = await all(redis.scanIterator({ MATCH: 'it:k:*', COUNT: 50 }));
    expect(new Set(items).size).toBe(items.length);
    expect(items.sort()).toEqual(Array.from({ length: 250 }, (_, i) => `it:k:${i}`).sort());
    expect(batches).toBeGreaterThan(1);
  });

  it('hScan, hScanValues, hScanNoValues, sScan and zScan iterators yield every entry', async () => {
    const entries = (await all(redis.hScanIterator('it:h', { COUNT: 20 }))).items;
    expect(entries).toHaveLength(300);
    expect(entries.find((e) => e.field === 'f7')).toEqual({ field: 'f7', value: 'v7' });
    expect((await all(redis.hScanValuesIterator('it:h'))).items.sort()).toEqual(
      entries.map((e) => e.value).sort(),
    );
    // HSCAN … NOVALUES is Redis 7.4's: an older server refuses it (the error reply, as for hScanNoValues).
    const version = /redis_version:(\d+)\.(\d+)/.exec(String(await redis.info('server')));
    const novalues = Number(version?.[1]) * 100 + Number(version?.[2]) >= 704;
    const fields = all(redis.hScanNoValuesIterator('it:h'));
    if (novalues) expect((await fields).items.sort()).toEqual(entries.map((e) => e.field).sort());
    else await expect(fields).rejects.toMatchObject({ code: 'REDIS_REPLY' });
    const members = (await all(redis.sScanIterator('it:s', { MATCH: 'm1*' }))).items;
    expect(members.sort()).toEqual(
      Array.from({ length: 300 }, (_, i) => `m${i}`)
        .filter((m) => m.startsWith('m1'))
        .sort(),
    );
    const scored = (await all(redis.zScanIterator('it:z'))).items;
    expect(scored).toHaveLength(300);
    expect(scored.find((m) => m.value === 'z42')).toEqual({ value: 'z42', score: 42 });
  });

  it('a withTypeMapping view yields Buffers, and ends (its cursor is a Buffer)', async () => {
    const { items } = await all(redis.withTypeMapping(BUFFER_REPLIES).sScanIterator('it:s', { COUNT: 100 }));
    expect(items).toHaveLength(300);
    expect(Buffer.isBuffer(items[0])).toBe(true);
  });

  it('starts from a given cursor, and refuses misspelt options before sending anything', async () => {
    const first = await redis.scan('0', { MATCH: 'it:k:*', COUNT: 50 });
    const rest = (await all(redis.scanIterator({ MATCH: 'it:k:*', COUNT: 50, cursor: first.cursor }))).items;
    expect(new Set([...first.keys, ...rest]).size).toBe(250);
    const error = await all(
      // @ts-expect-error `match` for `MATCH`
      redis.scanIterator({ match: 'it:k:*' }),
    ).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(InfrastructureError);
    expect((error as InfrastructureError).code).toBe('INVALID_ARGUMENT');
  });
});

describe('scan iterators on a Cluster', () => {
  let cluster: RedisCluster;
  let client: RedisClient;

  beforeAll(async () => {
    cluster = await startRedisCluster();
    client = createRedisClient({ cluster: { nodes: cluster.seeds }, commandTimeoutMs: 10_000 });
    await client.ready();
  }, 120_000);

  afterAll(async () => {
    await client?.close();
  });

  it('a key-routed iterator works; scanIterator is refused (SCAN would walk one node)', async () => {
    await client.hSet('{c}h', Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`f${i}`, `${i}`])));
    expect((await all(client.hScanIterator('{c}h'))).items).toHaveLength(100);
    const error = await all(client.scanIterator()).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect((error as InfrastructureError).code).toBe('INVALID_ARGUMENT');
    expect((error as Error).message).toContain('each master');
  });
});
