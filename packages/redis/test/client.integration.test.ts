import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { isInfrastructureError } from '@voelgoed/contracts';
import { type RedisServer, startRedis, stopAll } from '@voelgoed/testkit';
import { createRedisClient, type RedisClient } from '../src/index.js';

let server: RedisServer;
let client: RedisClient;

beforeAll(async () => {
  server = await startRedis();
  // Seconds, not one: every call on it must succeed, however long a loaded machine stalls.
  client = createRedisClient({ url: server.url, commandTimeoutMs: 10_000 });
  await client.ready();
});

afterAll(async () => {
  await client?.close();
  await stopAll();
});

describe('command()', () => {
  it('sends commands and returns replies', async () => {
    expect(await client.command(['SET', 'greeting', 'hello', 'PX', 10_000])).toBe('OK');
    expect(await client.command(['GET', 'greeting'])).toBe('hello');
    expect(await client.command(['INCRBY', 'counter', 5])).toBe(5);
    expect(await client.command(['GET', 'missing'])).toBeNull();
  });

  it('rejects bad input with INVALID_ARGUMENT before sending anything', async () => {
    await expect(client.command(['GET', 'k'], { timeoutMs: 0 })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    });
    for (const bad of [[], [''], ['GET', Number.NaN], ['GET', {}], 'GET key', ['GET', 'k', undefined]]) {
      await expect(client.command(bad as never)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    }
  });

  it('refuses call options it does not have or cannot use, in command, pipeline and transaction', async () => {
    const bad = [
      { timeout: 100 }, // a misspelt timeoutMs would leave the client's deadline in place
      { returnBuffers: 'yes' }, // not a boolean: the reply would come back as text
      { timeoutMs: -1 },
      { timeoutMs: '100' },
      'fast',
      null,
    ];
    await client.command(['SET', 'opts:k', 'v']);
    for (const options of bad) {
      for (const call of [
        () => client.command(['INCR', 'opts:n'], options as never),
        () => client.pipeline([['INCR', 'opts:n']], options as never),
        () => client.transaction([['INCR', 'opts:n']], options as never),
      ]) {
        await expect(call()).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
      }
    }
    // Nothing was sent.
    expect(await client.command(['GET', 'opts:n'])).toBeNull();
    // A field left undefined is no mistake.
    const options = { timeoutMs: undefined, returnBuffers: true, other: undefined } as never;
    expect(await client.command(['GET', 'opts:k'], options)).toEqual(Buffer.from('v'));
  });

  it('turns an error reply into a typed error that names the command, not the key', async () => {
    await client.command(['SET', 'secret-key-name', 'v']);
    const error = await client.command(['LPUSH', 'secret-key-name', 'x']).catch((e: unknown) => e);
    expect(isInfrastructureError(error)).toBe(true);
    expect(error).toMatchObject({ code: 'REDIS_REPLY', reply: 'WRONGTYPE' });
    expect((error as Error).message).toMatch(/^\[voelgoed:redis\] LPUSH failed: WRONGTYPE/);
    expect((error as Error).message).not.toContain('secret-key-name');
  });
});

describe('pipeline()', () => {
  it('returns one result per command; a failing command does not sink the batch', async () => {
    await client.command(['SET', 'p:str', 'v']);
    const results = await client.pipeline([
      ['SET', 'p:a', '1'],
      ['LPUSH', 'p:str', 'x'],
      ['INCR', 'p:a'],
      ['GET', 'p:a'],
    ]);
    expect(results.map((r) => r.ok)).toEqual([true, false, true, true]);
    expect(results[0]).toEqual({ ok: true, value: 'OK' });
    expect(results[1]).toMatchObject({ ok: false, error: { code: 'REDIS_REPLY' } });
    expect(results[3]).toEqual({ ok: true, value: '2' });
  });
});

describe('transaction()', () => {
  it('runs MULTI/EXEC and returns every reply', async () => {
    const replies = await client.transaction([
      ['SET', 't:a', '10'],
      ['INCRBY', 't:a', 5],
      ['GET', 't:a'],
    ]);
    expect(replies).toEqual(['OK', 15, '15']);
  });
});

describe('faults', () => {
  it('a paused server makes a command time out (maybeExecuted), and the client recovers on resume', async () => {
    server.pause();
    try {
      const [incr, get] = await Promise.all([
        client.command(['INCR', 'paused-counter'], { timeoutMs: 300 }).catch((e: unknown) => e),
        client.command(['GET', 'paused-counter'], { timeoutMs: 300 }).catch((e: unknown) => e),
      ]);
      // The INCR may have run: retrying it could count twice. A read may be retried.
      expect(incr).toMatchObject({ code: 'TIMEOUT', maybeExecuted: true, retryable: false });
      expect(get).toMatchObject({ code: 'TIMEOUT', maybeExecuted: true, retryable: true });
    } finally {
      server.resume();
    }
    expect(await client.command(['PING'])).toBe('PONG');
  });

  it('close() with nothing in flight does not wait for a paused server (plain and with a subscription)', async () => {
    for (const subscribed of [false, true]) {
      const c = createRedisClient({ url: server.url });
      await c.command(['SET', 'close-paused', '1']);
      if (subscribed) await c.subscribe('close-paused', () => {});
      server.pause();
      try {
        // The deadline is far off: waiting for the server's side of the close would hit it.
        const closed = await Promise.race([
          c.close({ timeoutMs: 60_000 }).then(() => 'closed'),
          new Promise((resolve) => setTimeout(() => resolve('still waiting after 20 s'), 20_000).unref()),
        ]);
        expect(closed).toBe('closed');
        expect(c.state).toBe('closed');
      } finally {
        server.resume();
      }
    }
  });

  it('a killed server gives fast ConnectionErrors, and commands succeed again after restart without a new client', async () => {
    await server.kill();
    const errors = await Promise.all(
      Array.from({ length: 20 }, () => client.command(['GET', 'greeting']).catch((e: unknown) => e)),
    );
    for (const error of errors) {
      expect(isInfrastructureError(error)).toBe(true);
      expect(['CONNECTION', 'TIMEOUT']).toContain((error as { code: string }).code);
    }
    // Once the client has noticed the outage, commands fail at once with CONNECTION.
    const later = await client.command(['GET', 'greeting']).catch((e: unknown) => e);
    expect(later).toMatchObject({ code: 'CONNECTION', retryable: true });
    const health = await client.health();
    expect(health.state).toBe('reconnecting');
    await server.restart();
    let reply: unknown;
    for (let i = 0; i < 100 && reply !== 'PONG'; i++) {
      reply = await client.command(['PING']).catch(() => undefined);
      if (reply !== 'PONG') await new Promise((r) => setTimeout(r, 50));
    }
    expect(reply).toBe('PONG');
    expect((await client.health()).state).toBe('ready');
  });

  it('close() finishes within its deadline on a paused server (pending replies never come), with a subscriber open', async () => {
    const own = await startRedis();
    // A far command deadline: the subscribe below must succeed on a loaded machine (its
    // confirmation is bounded by it), and close() must keep its own deadline, not the command's.
    const paused = createRedisClient({ url: own.url, commandTimeoutMs: 30_000 });
    await paused.ready();
    const unsubscribe = await paused.subscribe('news', () => {});
    expect(typeof unsubscribe).toBe('function');
    own.pause();
    try {
      const stuck = paused.command(['GET', 'k']).catch((e: unknown) => e);
      const closing = paused.close({ timeoutMs: 300 }).then(() => 'closed');
      // Without the deadline close() waits forever; the 10 s guard only turns a hang into a failure.
      const guard = new Promise((r) => setTimeout(() => r('hung'), 10_000).unref());
      expect(await Promise.race([closing, guard])).toBe('closed');
      expect(paused.state).toBe('closed');
      expect(await stuck).toMatchObject({ code: expect.stringMatching(/^(TIMEOUT|CONNECTION)$/) });
    } finally {
      own.resume();
      await own.stop();
    }
  });

  it('subscribe() to a server that is gone fails with a typed error instead of hanging, and close() stops it', async () => {
    const own = await startRedis();
    // ready() must connect on a loaded machine, where 300 ms can pass in one stall; the subscribe
    // to the killed server fails when the connect deadline (2 s) runs out, if not at the refusal.
    const gone = createRedisClient({ url: own.url, commandTimeoutMs: 10_000, connectTimeoutMs: 2_000 });
    await gone.ready();
    await own.kill();
    const error = await gone.subscribe('news', () => {}).catch((e: unknown) => e);
    expect(isInfrastructureError(error)).toBe(true);
    expect(['CONNECTION', 'TIMEOUT']).toContain((error as { code: string }).code);
    const guard = new Promise((r) => setTimeout(() => r('hung'), 10_000).unref());
    expect(await Promise.race([gone.close({ timeoutMs: 300 }).then(() => 'closed'), guard])).toBe('closed');
  });
});
