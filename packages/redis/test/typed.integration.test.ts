import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { type RedisServer, startRedis, stopAll } from '@voelgoed/testkit';
import {
  BUFFER_REPLIES,
  createRedisClient,
  RESP_TYPES,
  type RedisClient,
  type RedisCommandMethods,
} from '../src/index.js';
import { binaryValues } from './support/binary.js';

let server: RedisServer;
let redis: RedisClient;

beforeAll(async () => {
  server = await startRedis();
  redis = createRedisClient({ url: server.url, commandTimeoutMs: 10_000 });
  await redis.ready();
});

afterAll(async () => {
  await redis?.close();
  await stopAll();
});

/** True only when A and B are the same type (checked by `tsc` in the typecheck task). */
type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
type Reply<K extends keyof RedisClient> = RedisClient[K] extends (...args: never[]) => Promise<infer R>
  ? R
  : never;

// Type tests: these lines fail the package's typecheck if the reply types drift from node-redis's.
const getIsStringOrNull: Equal<Reply<'get'>, string | null> = true;
const hGetAllIsRecord: Equal<Reply<'hGetAll'>, Record<string, string>> = true;
const incrIsNumber: Equal<Reply<'incr'>, number> = true;
type BufferView = RedisCommandMethods<typeof BUFFER_REPLIES>;
// Through a call, as users write it (ReturnType of the generic multi() would instantiate it
// with every possible type mapping).
const batchOf = (client: RedisClient) => client.multi().get('k').incr('n');
type BatchReplies = Awaited<ReturnType<ReturnType<typeof batchOf>['exec']>>;
const multiIsTuple: Equal<BatchReplies, [string | null, number]> = true;
const bufferGet: Equal<Awaited<ReturnType<BufferView['get']>>, Buffer | null> = true;

describe('typed commands (node-redis names, arguments and reply types)', () => {
  it('has the type tests above compiled as true', () => {
    expect([getIsStringOrNull, hGetAllIsRecord, incrIsNumber, bufferGet, multiIsTuple]).toEqual([
      true,
      true,
      true,
      true,
      true,
    ]);
  });

  it('get/set/incr/hSet/hGetAll/zAdd/zRangeWithScores work and return node-redis shapes', async () => {
    expect(await redis.set('typed:k', 'v', { expiration: { type: 'PX', value: 60_000 } })).toBe('OK');
    const value: string | null = await redis.get('typed:k');
    expect(value).toBe('v');
    expect(await redis.get('typed:missing')).toBeNull();
    expect(await redis.incr('typed:n')).toBe(1);
    expect(await redis.hSet('typed:h', { a: '1', b: 2 })).toBe(2);
    const all: Record<string, string> = await redis.hGetAll('typed:h');
    expect(all).toEqual({ a: '1', b: '2' });
    await redis.zAdd('typed:z', [
      { score: 2, value: 'two' },
      { score: 1, value: 'one' },
    ]);
    expect(await redis.zRangeWithScores('typed:z', 0, -1)).toEqual([
      { value: 'one', score: 1 },
      { value: 'two', score: 2 },
    ]);
    expect(await redis.GET('typed:k')).toBe('v');
    expect(await redis.exists(['typed:k', 'typed:missing'])).toBe(1);
  });

  it('reads binary values byte-exact as Buffers through withTypeMapping', async () => {
    const buffers = redis.withTypeMapping({ [RESP_TYPES.BLOB_STRING]: Buffer });
    for (const [i, { value }] of binaryValues().entries()) {
      await redis.set(`typed:bin:${i}`, value);
      const read = await buffers.get(`typed:bin:${i}`);
      expect(Buffer.isBuffer(read) && read.equals(value)).toBe(true);
    }
    await redis.hSet('typed:binh', 'f', binaryValues()[1]!.value);
    const h = await buffers.hGetAll('typed:binh');
    expect(Buffer.isBuffer(h.f) && h.f.equals(binaryValues()[1]!.value)).toBe(true);
  });

  it('multi() runs typed commands as a transaction and as a pipeline, Buffers included', async () => {
    const [ok, got, n] = await redis.multi().set('typed:m', 'x').get('typed:m').incr('typed:mn').exec();
    expect([ok, got, n]).toEqual(['OK', 'x', 1]);
    const piped = await redis.multi().get('typed:m').hGetAll('typed:h').execAsPipeline();
    expect(piped).toEqual(['x', { a: '1', b: '2' }]);
    const bytes = binaryValues()[0]!.value;
    const [, read] = await redis.multi(BUFFER_REPLIES).set('typed:mb', bytes).get('typed:mb').exec();
    expect(Buffer.isBuffer(read) && read.equals(bytes)).toBe(true);
    expect(await redis.multi().exec()).toEqual([]);
  });

  it('bad arguments reject with INVALID_ARGUMENT before anything is sent', async () => {
    await expect((redis.get as (k: unknown) => Promise<unknown>)(undefined)).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    });
    await expect((redis.hSet as (...a: unknown[]) => Promise<unknown>)('h', { a: {} })).rejects.toMatchObject(
      {
        code: 'INVALID_ARGUMENT',
      },
    );
    const bad = redis.multi().get('typed:k');
    (bad.get as (k: unknown) => unknown)(undefined);
    await expect(bad.exec()).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    expect(() => redis.withTypeMapping({ [RESP_TYPES.NUMBER]: String })).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    );
  });

  it('error replies and lost connections carry the same codes as command()', async () => {
    await redis.set('typed:str', 'text');
    await expect(redis.hGetAll('typed:str')).rejects.toMatchObject({
      code: 'REDIS_REPLY',
      reply: 'WRONGTYPE',
    });
    // A failed command in a pipeline rejects execAsPipeline with its error.
    await expect(redis.multi().incr('typed:str').get('typed:k').execAsPipeline()).rejects.toMatchObject({
      code: 'REDIS_REPLY',
    });
  });
});
