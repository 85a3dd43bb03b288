import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { type RedisServer, startRedis, stopAll } from '@voelgoed/testkit';
import { createRedisClient, type RedisCommandEvent } from '../src/index.js';

const PASSWORD = 'pw-Zx81-do-not-leak';
const USER_PASSWORD = 'user-pw-Qq27-do-not-leak';
let server: RedisServer;

beforeAll(async () => {
  server = await startRedis({ args: ['--requirepass', PASSWORD] });
  await server.call(['AUTH', PASSWORD]);
});

afterAll(async () => {
  await stopAll();
});

/** Everything an error exposes: message, stack, cause chain and own properties. */
function everything(error: unknown): string {
  const parts: string[] = [];
  let current: unknown = error;
  for (let depth = 0; current && depth < 5; depth++) {
    const e = current as Error & Record<string, unknown>;
    parts.push(String(e.message), String(e.stack), JSON.stringify(e, Object.getOwnPropertyNames(e)));
    current = e.cause;
  }
  return parts.join('\n');
}

describe('secrets stay secret', () => {
  it('connects with a password from the URL (AUTH works)', async () => {
    const client = createRedisClient(`redis://:${PASSWORD}@127.0.0.1:${server.port}`);
    try {
      await client.ready();
      expect(await client.command(['PING'])).toBe('PONG');
      expect(String(client)).not.toContain(PASSWORD);
    } finally {
      await client.close();
    }
  });

  it('connects as an ACL user from options', async () => {
    const admin = createRedisClient({ port: server.port, password: PASSWORD });
    await admin.command(['ACL', 'SETUSER', 'app', 'on', `>${USER_PASSWORD}`, '~app:*', '+@all']);
    await admin.close();
    const client = createRedisClient(`redis://app:${USER_PASSWORD}@127.0.0.1:${server.port}`);
    try {
      expect(await client.command(['SET', 'app:x', '1'])).toBe('OK');
      const denied = await client.command(['SET', 'other:x', '1']).catch((e: unknown) => e);
      expect(denied).toMatchObject({ code: 'REDIS_REPLY', reply: 'NOPERM' });
      expect(everything(denied)).not.toContain(USER_PASSWORD);
    } finally {
      await client.close();
    }
  });

  it('a wrong password fails with an AuthenticationError (AUTH, not retryable) that does not contain it', async () => {
    const wrong = 'wrong-pw-Kp55-do-not-leak';
    const client = createRedisClient({
      url: `redis://:${wrong}@127.0.0.1:${server.port}`,
      // Seconds: the server's refusal (AUTH) must come within it on a loaded machine; a connect
      // timed out would be CONNECTION.
      connectTimeoutMs: 10_000,
    });
    try {
      const error = await client.command(['PING']).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'AUTH', retryable: false });
      expect(everything(error)).not.toContain(wrong);
      const notReady = await client.ready().catch((e: unknown) => e);
      expect(notReady).toMatchObject({ code: 'AUTH', retryable: false });
      expect(everything(notReady)).not.toContain(wrong);
      const health = await client.health();
      expect(JSON.stringify(health)).not.toContain(wrong);
    } finally {
      await client.close();
    }
  });

  it('an unknown command does not echo its key or value (Redis quotes the first arguments back)', async () => {
    const client = createRedisClient({ port: server.port, password: PASSWORD });
    try {
      const error = await client.command(['SETT', 'secret-key-9', 'secret-value-9']).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'REDIS_REPLY', reply: 'ERR' });
      expect((error as Error).message).toContain("unknown command 'SETT'");
      const text = everything(error);
      for (const secret of ['secret-key-9', 'secret-value-9']) expect(text).not.toContain(secret);
    } finally {
      await client.close();
    }
  });

  it('a malformed URL gives INVALID_ARGUMENT without echoing the URL', () => {
    for (const url of [
      `redis://user:${PASSWORD}@:99999`,
      `http://user:${PASSWORD}@host`,
      `redis://u:${PASSWORD}@h/x`,
    ]) {
      let error: unknown;
      try {
        createRedisClient(url);
      } catch (e) {
        error = e;
      }
      expect(error).toMatchObject({ code: 'INVALID_ARGUMENT' });
      expect(everything(error)).not.toContain(PASSWORD);
    }
  });

  it('command events carry the command name and outcome, never keys, values or the password', async () => {
    const events: RedisCommandEvent[] = [];
    const onEvent = (message: unknown) => events.push(message as RedisCommandEvent);
    subscribe('voelgoed:redis:command', onEvent);
    const client = createRedisClient({ port: server.port, password: PASSWORD });
    try {
      await client.command(['SET', 'secret-key-7', 'secret-value-7']);
      await client.command(['LPUSH', 'secret-key-7', 'x']).catch(() => {});
    } finally {
      unsubscribe('voelgoed:redis:command', onEvent);
      await client.close();
    }
    expect(events.map((e) => [e.command, e.outcome, e.errorCode])).toEqual([
      ['SET', 'ok', undefined],
      ['LPUSH', 'error', 'REDIS_REPLY'],
    ]);
    expect(events[0]!.durationMs).toBeGreaterThanOrEqual(0);
    const text = JSON.stringify(events);
    for (const secret of ['secret-key-7', 'secret-value-7', PASSWORD]) expect(text).not.toContain(secret);
  });
});
