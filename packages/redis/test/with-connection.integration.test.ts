import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { InfrastructureError } from '@voelgoed/contracts';
import { type RedisServer, startRedis, stopAll, until } from '@voelgoed/testkit';
import { createRedisClient, type RedisClient } from '../src/index.js';

// withConnection lends a connection of its own; it goes back to the pool only when clean, and
// transaction state never reaches the shared connection.

let server: RedisServer;
let redis: RedisClient;

beforeAll(async () => {
  server = await startRedis();
  // One pooled connection: whatever one borrower leaves behind, the next one meets.
  redis = createRedisClient({ url: server.url, poolSize: 1, commandTimeoutMs: 5_000 });
  await redis.ready();
});

afterAll(async () => {
  await redis?.close();
  await stopAll();
});

async function codeOf(call: () => Promise<unknown>): Promise<string | undefined> {
  const error = await call().then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(InfrastructureError);
  return (error as InfrastructureError).code;
}

describe('withConnection', () => {
  it('a BLPOP past its deadline does not go back to the pool: the next borrower answers at once and a later LPUSH is kept', async () => {
    expect(
      await codeOf(() =>
        redis.withConnection((c) => c.command(['BLPOP', 'wc:queue', '0'], { timeoutMs: 200 })),
      ),
    ).toBe('TIMEOUT');
    // With the BLPOP still waiting on the lent connection, this PING would wait behind it.
    // Seconds: a fresh connection on a loaded machine; a BLPOP in the way would hold it forever.
    expect(await redis.withConnection((c) => c.command(['PING'], { timeoutMs: 10_000 }))).toBe('PONG');
    expect(await redis.command(['LPUSH', 'wc:queue', 'precious'])).toBe(1);
    // A BLPOP left waiting would have taken the item.
    expect(await redis.command(['LRANGE', 'wc:queue', '0', '-1'])).toEqual(['precious']);
  });

  it('a connection whose fn threw inside MULTI is not lent again', async () => {
    await redis.command(['SET', 'wc:k', 'v']);
    await expect(
      redis.withConnection(async (c) => {
        await c.command(['MULTI']);
        await c.command(['GET', 'wc:k']);
        throw new Error('fn failed between MULTI and EXEC');
      }),
    ).rejects.toThrow('fn failed');
    // On the same connection GET would answer QUEUED.
    expect(await redis.withConnection((c) => c.command(['GET', 'wc:k']))).toBe('v');
  });

  it('a connection whose fn threw after WATCH is not lent again', async () => {
    await expect(
      redis.withConnection(async (c) => {
        await c.command(['WATCH', 'wc:w']);
        throw new Error('fn failed after WATCH');
      }),
    ).rejects.toThrow('fn failed');
    await redis.command(['SET', 'wc:w', 'changed']);
    // On the same connection the WATCH would abort this transaction (EXEC → null).
    const replies = await redis.withConnection(async (c) => {
      await c.command(['MULTI']);
      await c.command(['SET', 'wc:w', 'mine']);
      return c.command(['EXEC']);
    });
    expect(replies).toEqual(['OK']);
    expect(await redis.command(['GET', 'wc:w'])).toBe('mine');
  });

  it('SUBSCRIBE, PSUBSCRIBE and MONITOR are refused (their pushes would go nowhere and the connection would stay subscribed)', async () => {
    for (const args of [['PSUBSCRIBE', 'wc:*'], ['SUBSCRIBE', 'wc'], ['MONITOR']]) {
      expect(await codeOf(() => redis.withConnection(async (c) => c.command(args)))).toBe('INVALID_ARGUMENT');
    }
    expect(await redis.withConnection((c) => c.command(['PING']))).toBe('PONG');
  });

  it('an error reply fn handles leaves the connection clean, and it is lent again', async () => {
    const id = await redis.withConnection((c) => c.command(['CLIENT', 'ID']));
    const code = await redis.withConnection((c) => codeOf(() => c.command(['INCR', 'wc:k'])));
    expect(code).toBe('REDIS_REPLY');
    expect(await redis.withConnection((c) => c.command(['CLIENT', 'ID']))).toBe(id);
  });

  it('a borrower waits for the one connection, and times out with TIMEOUT past commandTimeoutMs', async () => {
    // 3 s, not 300 ms: the same deadline bounds the calls that must succeed here (the warm-up,
    // the lent connection's PING, the second borrower's wait for it), which a loaded machine can
    // stall past 300 ms. The third borrower still has to time out, after 3 s.
    const short = createRedisClient({ url: server.url, poolSize: 1, commandTimeoutMs: 3_000 });
    try {
      // The pool's one connection made first: the deadline under test is the wait for the lent
      // connection, not the connect.
      await short.ready();
      await short.withConnection((c) => c.command(['PING']));
      let release: (() => void) | undefined;
      const held = short.withConnection(
        (c) =>
          new Promise<unknown>((resolve) => {
            release = () => resolve(c.command(['PING']));
          }),
      );
      // Lent once the first borrower is inside fn.
      await until(() => release !== undefined, { timeoutMs: 10_000 });
      expect(await codeOf(() => short.withConnection((c) => c.command(['PING'])))).toBe('TIMEOUT');
      const waiting = short.withConnection((c) => c.command(['ECHO', 'second']));
      release!();
      expect(await held).toBe('PONG');
      expect(await waiting).toBe('second');
    } finally {
      await short.close();
    }
  });
});

describe('withConnection against a paused server', () => {
  it('a new connection is waited for within commandTimeoutMs (TIMEOUT); the attempt goes on to connectTimeoutMs and joins the pool when made', async () => {
    const paused = await startRedis();
    // A connect deadline far past any test run: the only deadline that can fire is the caller's.
    const client = createRedisClient({
      url: paused.url,
      poolSize: 1,
      commandTimeoutMs: 200,
      connectTimeoutMs: 120_000,
    });
    try {
      await client.ready();
      paused.pause();
      const error = await client
        .withConnection((c) => c.command(['PING']))
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      expect(error).toBeInstanceOf(InfrastructureError);
      expect((error as InfrastructureError).code).toBe('TIMEOUT');
      expect((error as InfrastructureError).message).toContain('after 200 ms waiting for a connection');
      paused.resume();
      // The attempt that outlived its caller completes and is lent next: the pool holds one. (A
      // borrower meanwhile waits for it, up to 200 ms each: a loaded machine may take longer.)
      let echoed: unknown;
      for (let i = 0; i < 100 && echoed === undefined; i++) {
        echoed = await client
          .withConnection((c) => c.command(['ECHO', 'later']))
          .catch((e: unknown) => {
            if ((e as InfrastructureError).code !== 'TIMEOUT') throw e;
            return undefined;
          });
      }
      expect(echoed).toBe('later');
      const clients = String(await client.command(['CLIENT', 'LIST'], { timeoutMs: 10_000 }))
        .split('\n')
        .filter((line) => line.trim() !== '');
      expect(clients).toHaveLength(2); // the shared connection and the pool's one
    } finally {
      if (paused.isPaused) paused.resume();
      await client.close();
    }
  }, 30_000);
});

describe('transaction state never reaches the shared connection', () => {
  it.each([['MULTI'], ['EXEC'], ['DISCARD'], ['WATCH', 'wc:k'], ['UNWATCH']])(
    '%s is refused on command, pipeline and transaction before anything is sent',
    async (...args) => {
      expect(await codeOf(() => redis.command(args))).toBe('INVALID_ARGUMENT');
      expect(await codeOf(() => redis.pipeline([['INCR', 'wc:n'], args]))).toBe('INVALID_ARGUMENT');
      expect(await codeOf(() => redis.transaction([['INCR', 'wc:n'], args]))).toBe('INVALID_ARGUMENT');
      expect(await redis.command(['EXISTS', 'wc:n'])).toBe(0);
      // Other callers' commands still answer as themselves.
      expect(await redis.command(['ECHO', 'mine'])).toBe('mine');
    },
  );

  it('MULTI is allowed on a connection of its own', async () => {
    expect(
      await redis.withConnection(async (c) => {
        await c.command(['MULTI']);
        await c.command(['INCR', 'wc:m']);
        return c.command(['EXEC']);
      }),
    ).toEqual([1]);
  });
});
