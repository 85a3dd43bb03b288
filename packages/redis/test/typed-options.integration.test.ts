import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { InfrastructureError } from '@voelgoed/contracts';
import { type RedisServer, startRedis, stopAll } from '@voelgoed/testkit';
import { createRedisClient, type RedisClient } from '../src/index.js';

// node-redis reads an options object by name and ignores every other field: `{ ex: 10 }` stores a
// key that never expires. The typed methods refuse a defined field node-redis's parser never read.

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

async function refusal(call: () => Promise<unknown>): Promise<InfrastructureError> {
  const error = await call().then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(InfrastructureError);
  const e = error as InfrastructureError;
  expect(e.code).toBe('INVALID_ARGUMENT');
  expect(e.retryable).toBe(false);
  return e;
}

describe('typed methods refuse option fields node-redis would drop in silence', () => {
  it('set with a misspelt expiry is refused and nothing is stored', async () => {
    // @ts-expect-error `ex` is not an option of SET (node-redis's is EX)
    const e = await refusal(() => redis.set('opt:k1', 'v', { ex: 10 }));
    expect(e.message).toContain('argument 3.ex');
    expect(e.message).toMatch(/^\[voelgoed:redis\] set: /);
    expect(await redis.exists('opt:k1')).toBe(0);
  });

  it('a misspelt field of a nested option object is named with its path', async () => {
    // @ts-expect-error `tpye` for `type`
    const e = await refusal(() => redis.set('opt:k2', 'v', { expiration: { tpye: 'EX', value: 10 } }));
    expect(e.message).toContain('argument 3.expiration.tpye');
    expect(await redis.exists('opt:k2')).toBe(0);
  });

  it('a second expiry beside the one the parser used is refused, not ignored', async () => {
    const e = await refusal(() => redis.set('opt:k3', 'v', { EX: 10, PX: 5 }));
    expect(e.message).toContain('argument 3.PX');
    expect(await redis.exists('opt:k3')).toBe(0);
  });

  it('node-redis spellings work, and undefined fields are no mistake', async () => {
    expect(await redis.set('opt:a', 'v', { EX: 100 })).toBe('OK');
    expect(await redis.ttl('opt:a')).toBeGreaterThan(90);
    expect(
      await redis.set('opt:b', 'v', { expiration: { type: 'PX', value: 100_000 }, condition: 'NX' }),
    ).toBe('OK');
    expect(await redis.pTTL('opt:b')).toBeGreaterThan(90_000);
    expect(await redis.set('opt:c', 'v', { EX: 100, PX: undefined, GET: true })).toBeNull();
    expect(await redis.ttl('opt:c')).toBeGreaterThan(90);
    // A flag set to false asks for nothing, read or not.
    const isNew = true;
    expect(await redis.set('opt:d', 'v', { NX: isNew, XX: !isNew })).toBe('OK');
    expect(await redis.set('opt:d', 'w', { NX: isNew, XX: !isNew })).toBeNull();
  });

  it('objects the parser enumerates are data: hSet, mSet, xAdd messages, zAdd members', async () => {
    expect(await redis.hSet('opt:h', { a: '1', b: '2', c: '3' })).toBe(3);
    expect(await redis.hGetAll('opt:h')).toEqual({ a: '1', b: '2', c: '3' });
    expect(await redis.mSet({ 'opt:m1': 'x', 'opt:m2': 'y' })).toBe('OK');
    expect(await redis.mGet(['opt:m1', 'opt:m2'])).toEqual(['x', 'y']);
    const id = await redis.xAdd(
      'opt:s',
      '*',
      { f: 'v', g: 'w' },
      { TRIM: { strategy: 'MAXLEN', threshold: 10 } },
    );
    expect(typeof id).toBe('string');
    expect(await redis.xLen('opt:s')).toBe(1);
    expect(
      await redis.zAdd(
        'opt:z',
        [
          { score: 1, value: 'a' },
          { score: 2, value: 'b' },
        ],
        { CH: true },
      ),
    ).toBe(2);
    expect(await redis.zRange('opt:z', 0, -1, { REV: true })).toEqual(['b', 'a']);
  });

  it('misspelt fields of other commands: scan, zAdd members, xAdd trim, sort limit', async () => {
    // @ts-expect-error `match` for `MATCH`
    expect((await refusal(() => redis.scan('0', { match: 'opt:*' }))).message).toContain('argument 2.match');
    // @ts-expect-error `val` for `value`
    expect((await refusal(() => redis.zAdd('opt:z2', { score: 1, val: 'a' }))).message).toContain(
      'argument 2.val',
    );
    expect(await redis.exists('opt:z2')).toBe(0);
    const trim = { TRIM: { strategy: 'MAXLEN' as const, treshold: 10 } };
    // @ts-expect-error `treshold` for `threshold`
    const e = await refusal(() => redis.xAdd('opt:s2', '*', { f: 'v' }, trim));
    expect(e.message).toContain('argument 4.TRIM.treshold');
    expect(await redis.exists('opt:s2')).toBe(0);
    // @ts-expect-error `limit` for `LIMIT`
    expect((await refusal(() => redis.sort('opt:h', { limit: { offset: 0, count: 1 } }))).message).toContain(
      'argument 2.limit',
    );
  });

  it('a transaction or pipeline with such a command is refused whole, before anything is sent', async () => {
    for (const run of ['exec', 'execAsPipeline'] as const) {
      // @ts-expect-error `ex` is not an option of SET
      const batch = redis.multi().incr('opt:t1').set('opt:t2', 'v', { ex: 10 });
      const e = await refusal(() => batch[run]());
      expect(e.message).toContain('argument 3.ex');
    }
    expect(await redis.exists(['opt:t1', 'opt:t2'])).toBe(0);
    const [ok, ttl] = await redis.multi().set('opt:t', 'v', { EX: 100 }).ttl('opt:t').execAsPipeline();
    expect(ok).toBe('OK');
    expect(ttl).toBeGreaterThan(90);
  });

  it('NaN is refused as an argument and as an option value, before anything is sent', async () => {
    expect((await refusal(() => redis.set('opt:nan', Number.NaN))).message).toContain('argument 2 is NaN');
    expect((await refusal(() => redis.hSet('opt:nanh', 'f', Number.NaN))).message).toContain(
      'argument 3 is NaN',
    );
    expect((await refusal(() => redis.set('opt:nan', 'v', { EX: Number.NaN }))).message).toContain(
      'argument 3.EX is NaN',
    );
    expect(
      (await refusal(() => redis.zAdd('opt:nanz', { score: Number.NaN, value: 'a' }))).message,
    ).toContain('argument 2.score is NaN');
    expect(await redis.exists(['opt:nan', 'opt:nanh', 'opt:nanz'])).toBe(0);
    // ±Infinity stays: node-redis sends it as +inf / -inf where Redis takes it (scores).
    expect(await redis.zAdd('opt:inf', { score: Number.POSITIVE_INFINITY, value: 'top' })).toBe(1);
    expect(await redis.zRangeByScore('opt:inf', Number.NEGATIVE_INFINITY, Number.POSITIVE_INFINITY)).toEqual([
      'top',
    ]);
  });

  it('an object given where a value belongs keeps its own refusal', async () => {
    // @ts-expect-error an object is not a value
    const e = await refusal(() => redis.set('opt:o', { a: 1 }));
    expect(e.message).not.toContain('does not read');
    expect(await redis.exists('opt:o')).toBe(0);
  });

  it('ioredis-style positional options and extra arguments are refused, not dropped', async () => {
    // @ts-expect-error SET takes its options as an object
    let e = await refusal(() => redis.set('opt:p1', 'v', 'EX', 10));
    expect(e.message).toMatch(/^\[voelgoed:redis\] set takes at most 3 arguments, got 4/);
    // @ts-expect-error SET takes its options as an object
    e = await refusal(() => redis.set('opt:p1', 'v', 'EX'));
    expect(e.message).toContain('argument 3 (options) must be an object, got string');
    await redis.set('opt:p2', 'v');
    // @ts-expect-error SET takes its options as an object
    await refusal(() => redis.set('opt:p2', 'w', 'PX', 500, 'NX'));
    expect(await redis.get('opt:p2')).toBe('v');
    // @ts-expect-error one argument too many
    await refusal(() => redis.set('opt:p3', 'v', { EX: 10 }, 'extra'));
    // @ts-expect-error one argument too many
    await refusal(() => redis.expire('opt:p2', 10, 'NX', 'extra'));
    // @ts-expect-error HGETALL takes one key
    await refusal(() => redis.hGetAll('opt:h', 'extra'));
    // @ts-expect-error an array is not the options object
    await refusal(() => redis.scan('0', ['MATCH', '*']));
    // Through a helper node-redis's parser hands its arguments to (EVAL's, XADD's) too.
    // @ts-expect-error EVAL's keys go in the options object
    await refusal(() => redis.eval('return 1', { keys: [] }, 'extra'));
    // @ts-expect-error XADD takes key, id, message, options
    await refusal(() => redis.xAdd('opt:x', '*', { a: '1' }, {}, 'extra'));
    expect(await redis.exists(['opt:p1', 'opt:p3', 'opt:x'])).toBe(0);
    expect(await redis.pTTL('opt:p2')).toBe(-1);
    // A batch holding such a call is refused whole.
    // @ts-expect-error SET takes its options as an object
    await refusal(() => redis.multi().incr('opt:p4').set('opt:p4b', 'v', 'EX', 10).exec());
    expect(await redis.exists(['opt:p4', 'opt:p4b'])).toBe(0);
  });

  it('what the parser takes still passes: trailing undefined, null options, a number where one is taken, variadic commands', async () => {
    expect(await redis.set('opt:q1', 'v', undefined)).toBe('OK');
    // @ts-expect-error a trailing undefined asks for nothing
    expect(await redis.set('opt:q1', 'v', { PX: 60_000 }, undefined)).toBe('OK');
    // @ts-expect-error null options ask for nothing
    expect(await redis.set('opt:q2', 'v', null)).toBe('OK');
    await redis.sAdd('opt:s1', ['a', 'b']);
    expect(await redis.sInterCard(['opt:s1'], 1)).toBe(1);
    expect(await redis.sInterCard(['opt:s1'], { LIMIT: 5 })).toBe(2);
    expect(await redis.LATENCY_RESET('command', 'fork')).toBeGreaterThanOrEqual(0);
    expect(await redis.eval('return ARGV[1]', { arguments: ['x'] })).toBe('x');
    expect(typeof (await redis.xAdd('opt:x2', '*', { a: '1' }))).toBe('string');
  });
});
