import { afterAll, afterEach, describe, expect, it, jest } from '@jest/globals';
import type { Logger } from '@voelgoed/contracts';
import {
  captureLogger,
  type LoggedLine,
  startRedis,
  startRedisCluster,
  startRedisSentinel,
  stopAll,
  waitFor,
} from '@voelgoed/testkit';
import { createRedisClient, type RedisClient } from '../src/index.js';

const find = (lines: LoggedLine[], msg: string, target?: string) =>
  lines.find((l) => l.msg === msg && (target === undefined || l.obj.target === target));

async function until(what: string, probe: () => boolean, timeoutMs = 20_000): Promise<void> {
  await waitFor(what, async () => (probe() ? true : undefined), { timeoutMs, intervalMs: 25 });
}

/** PINGs until one succeeds (the client reconnects on its own). */
async function pingUntilUp(client: RedisClient): Promise<void> {
  await waitFor('a PONG after the restart', async () =>
    (await client.command(['PING']).catch(() => undefined)) === 'PONG' ? true : undefined,
  );
}

const clients: RedisClient[] = [];
afterEach(async () => {
  for (const client of clients.splice(0)) await client.close().catch(() => {});
});
afterAll(async () => {
  await stopAll();
});

const PASSWORD = 'logger-secret-p4ss';

describe('the Redis client logger', () => {
  it('logs lost, failed attempts and reconnected when the server is killed and restarted, with no secret', async () => {
    const server = await startRedis({ args: ['--requirepass', PASSWORD] });
    const { logger, lines } = captureLogger();
    const client = createRedisClient({
      url: `redis://default:${PASSWORD}@127.0.0.1:${server.port}`,
      clientName: 'logger-test',
      logger,
      reconnect: { minDelayMs: 20, maxDelayMs: 100 },
    });
    clients.push(client);
    await client.command(['SET', 'k', 'v']);
    expect(lines).toEqual([]); // nothing per command, nothing for the first connect
    const target = `127.0.0.1:${server.port}`;

    await server.kill();
    await until('the loss line', () => find(lines, 'redis connection lost, reconnecting') !== undefined);
    await until('a failed attempt line', () => find(lines, 'redis reconnect attempt failed') !== undefined);
    await server.restart();
    await pingUntilUp(client);
    await until('the reconnected line', () => find(lines, 'redis reconnected') !== undefined);

    expect(find(lines, 'redis connection lost, reconnecting')).toMatchObject({
      level: 'warn',
      obj: { target, error: expect.any(String) },
    });
    expect(find(lines, 'redis reconnect attempt failed')).toMatchObject({
      level: 'info',
      obj: { target, attempt: 1, error: 'ECONNREFUSED' },
    });
    const reconnected = find(lines, 'redis reconnected');
    expect(reconnected).toMatchObject({ level: 'info', obj: { target } });
    expect(reconnected?.obj.attempts).toEqual(expect.any(Number));
    expect(reconnected?.obj.downMs).toEqual(expect.any(Number));
    // One loss, one reconnect: the pool's and the first connect's errors are not logged.
    expect(lines.filter((l) => l.msg === 'redis connection lost, reconnecting')).toHaveLength(1);
    expect(lines.filter((l) => l.msg === 'redis reconnected')).toHaveLength(1);
    const text = JSON.stringify(lines);
    expect(text).not.toContain(PASSWORD);
    expect(text).not.toContain('"k"');
  }, 60_000);

  it('logs a subscribe handler that throws or rejects, and keeps delivering (no unhandled rejection)', async () => {
    const server = await startRedis();
    const { logger, lines } = captureLogger();
    const client = createRedisClient({ url: server.url, logger });
    clients.push(client);
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const seen: string[] = [];
      await client.subscribe('news', (message) => {
        seen.push(message);
        if (message === 'sync') throw new TypeError('handler bug with secret-data');
      });
      await client.subscribe('news', async (message) => {
        if (message === 'async') throw new RangeError('async handler bug');
      });
      for (const message of ['sync', 'async', 'after']) await client.publish('news', message);
      await until('the third message', () => seen.includes('after'));
      await until(
        'two handler errors logged',
        () => lines.filter((l) => l.msg === 'redis subscribe handler threw (ignored)').length === 2,
      );
      const logged = lines.filter((l) => l.msg === 'redis subscribe handler threw (ignored)');
      // Each subscribe() has a connection of its own: the two handlers' errors come in either order.
      expect(logged.map((l) => [l.level, l.obj.error]).sort()).toEqual([
        ['error', 'RangeError'],
        ['error', 'TypeError'],
      ]);
      expect(JSON.stringify(lines)).not.toContain('secret-data');
      expect(seen).toEqual(['sync', 'async', 'after']);
      // Give an unhandled rejection the turn it would take to surface.
      await new Promise((resolve) => setImmediate(resolve));
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  }, 60_000);

  it('keeps working when the logger throws', async () => {
    const server = await startRedis();
    let calls = 0;
    const boom = () => {
      calls += 1;
      throw new Error('logger down');
    };
    const client = createRedisClient({
      url: server.url,
      logger: { debug: boom, info: boom, warn: boom, error: boom },
      reconnect: { minDelayMs: 20, maxDelayMs: 100 },
    });
    clients.push(client);
    await client.command(['PING']);
    await server.kill();
    await until('the logger to be called', () => calls > 0);
    await server.restart();
    await pingUntilUp(client);
    expect(await client.command(['SET', 'after', '1'])).toBe('OK');
  }, 60_000);

  it('logs nothing by default (no console output) and refuses a logger that is not one', async () => {
    expect(() => createRedisClient({ logger: {} as Logger })).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    );
    const server = await startRedis();
    const spies = (['debug', 'info', 'log', 'warn', 'error'] as const).map((m) =>
      jest.spyOn(console, m).mockImplementation(() => {}),
    );
    try {
      const client = createRedisClient({ url: server.url, reconnect: { minDelayMs: 20, maxDelayMs: 100 } });
      clients.push(client);
      await client.command(['PING']);
      await server.kill();
      await until('the client to notice', () => client.state === 'reconnecting');
      await server.restart();
      await pingUntilUp(client);
      for (const spy of spies) expect(spy).not.toHaveBeenCalled();
    } finally {
      for (const spy of spies) spy.mockRestore();
    }
  }, 60_000);

  it('logs a Cluster node lost and reconnected, by node address', async () => {
    const cluster = await startRedisCluster();
    const { logger, lines } = captureLogger();
    const client = createRedisClient({
      cluster: { nodes: cluster.seeds.slice(0, 1), topologyRefreshMs: 0 },
      logger,
      reconnect: { minDelayMs: 20, maxDelayMs: 100 },
    });
    clients.push(client);
    await client.command(['SET', '{a}k', '1']);
    const node = cluster.nodes[1];
    if (!node) throw new Error('the cluster has no second node');
    const target = `127.0.0.1:${node.port}`;
    await node.kill();
    await until(
      'the node loss line',
      () => find(lines, 'redis connection lost, reconnecting', target) !== undefined,
    );
    await node.restart();
    await until(
      'the node reconnected line',
      () => find(lines, 'redis reconnected', target) !== undefined,
      30_000,
    );
    expect(find(lines, 'redis connection lost, reconnecting', target)?.level).toBe('warn');
    expect(find(lines, 'redis reconnected', target)?.level).toBe('info');
  }, 90_000);

  it('logs a Sentinel master change after the master is killed', async () => {
    const group = await startRedisSentinel();
    const { logger, lines } = captureLogger();
    const client = createRedisClient({
      sentinel: { name: group.masterName, sentinels: group.sentinelAddresses },
      // Seconds: the first SET (it waits for the connect) must succeed on a loaded machine. The
      // writes retried during the failover carry a short deadline of their own.
      commandTimeoutMs: 10_000,
      logger,
    });
    clients.push(client);
    await client.command(['SET', 'x', '1']);
    const old = group.master.port;
    await group.master.kill();
    const promoted = await group.waitForFailover(old);
    // Commands keep the client talking while node-redis learns of the new master.
    await waitFor(
      'a write on the new master and the master-change line',
      async () => {
        const ok =
          (await client.command(['SET', 'y', '1'], { timeoutMs: 2000 }).catch(() => undefined)) === 'OK';
        return ok && find(lines, 'redis sentinel master changed') !== undefined ? true : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 100 },
    );
    expect(lines.filter((l) => l.msg === 'redis sentinel master changed')).toEqual([
      {
        level: 'warn',
        obj: {
          target: `sentinel(${group.masterName})`,
          master: `${promoted.host}:${promoted.port}`,
          previous: `127.0.0.1:${old}`,
        },
        msg: 'redis sentinel master changed',
      },
    ]);
  }, 90_000);
});
