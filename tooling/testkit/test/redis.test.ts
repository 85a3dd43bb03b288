import { existsSync } from 'node:fs';
import net from 'node:net';
import { afterAll, describe, expect, it } from '@jest/globals';
import {
  isAlive,
  type RedisServer,
  redisCall,
  startRedis,
  startRedisCluster,
  startRedisGroup,
  startRedisSentinel,
  stopAll,
} from '../src/index.js';

afterAll(async () => {
  await stopAll();
});

/** Resolves with the connect error code, or 'connected'. */
function tryConnect(port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve('connected');
    });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? 'error'));
  });
}

describe('startRedis', () => {
  it('starts a real redis-server that answers, and removes everything on stop()', async () => {
    const server = await startRedis();
    const pid = server.pid!;
    expect(isAlive(pid)).toBe(true);
    expect(await server.call(['SET', 'k', 'v'])).toBe('OK');
    expect(await server.call(['GET', 'k'])).toBe('v');
    expect(await server.call(['CONFIG', 'GET', 'port'])).toEqual(['port', String(server.port)]);
    expect(server.port).not.toBe(6379);
    expect(existsSync(server.dir)).toBe(true);
    await server.stop();
    expect(isAlive(pid)).toBe(false);
    expect(existsSync(server.dir)).toBe(false);
    expect(await tryConnect(server.port)).toBe('ECONNREFUSED');
  });

  it('restart() after kill() comes back on the same port, empty unless appendOnly', async () => {
    const plain = await startRedis();
    const durable = await startRedis({ appendOnly: true });
    for (const s of [plain, durable]) expect(await s.call(['SET', 'kept', '1'])).toBe('OK');
    await Promise.all([plain.restart(), durable.restart()]);
    expect(await plain.call(['GET', 'kept'])).toBeNull();
    expect(await durable.call(['GET', 'kept'])).toBe('1');
    await Promise.all([plain.stop(), durable.stop()]);
  });
});

describe('startRedisGroup(5)', () => {
  let servers: RedisServer[] = [];

  it('gives five independent reachable masters on distinct ports', async () => {
    const group = await startRedisGroup(5);
    servers = group.servers;
    expect(new Set(servers.map((s) => s.port)).size).toBe(5);
    const replies = await Promise.all(servers.map((s) => s.call(['PING'])));
    expect(replies).toEqual(['PONG', 'PONG', 'PONG', 'PONG', 'PONG']);
    await servers[0]!.call(['SET', 'only-here', '1']);
    expect(await servers[1]!.call(['GET', 'only-here'])).toBeNull();
  });

  it('kill() makes one refuse connections while the others answer; restart() brings it back', async () => {
    const [victim, other] = servers;
    const pid = victim!.pid!;
    await victim!.kill();
    expect(isAlive(pid)).toBe(false);
    expect(await tryConnect(victim!.port)).toBe('ECONNREFUSED');
    expect(await other!.call(['PING'])).toBe('PONG');
    await victim!.restart();
    expect(await victim!.call(['PING'])).toBe('PONG');
  });

  it('pause() makes commands hang until resume(), then they are answered', async () => {
    const target = servers[2]!;
    target.pause();
    expect(target.isPaused).toBe(true);
    // The TCP connection is accepted by the kernel, but nothing answers.
    await expect(redisCall(target.port, ['PING'], { timeoutMs: 300 })).rejects.toThrow(/no reply/);
    const pending = redisCall(target.port, ['PING'], { timeoutMs: 10_000 });
    let settled = false;
    void pending.then(() => {
      settled = true;
    });
    await new Promise((r) => setTimeout(r, 200));
    expect(settled).toBe(false);
    target.resume();
    await expect(pending).resolves.toBe('PONG');
  });

  it('stop() of the group leaves no process alive and no temp dir behind', async () => {
    const pids = servers.map((s) => s.pid!);
    servers[3]!.pause(); // a paused server must be stopped too
    await Promise.all(servers.map((s) => s.stop()));
    expect(pids.filter(isAlive)).toEqual([]);
    expect(servers.filter((s) => existsSync(s.dir))).toEqual([]);
  });
});

describe('startRedisCluster', () => {
  it('joins 3 cluster-enabled masters into a cluster with cluster_state:ok', async () => {
    const cluster = await startRedisCluster();
    expect(cluster.nodes).toHaveLength(3);
    for (const node of cluster.nodes) {
      const info = await cluster.info(node);
      expect(info.cluster_state).toBe('ok');
      expect(info.cluster_known_nodes).toBe('3');
      expect(info.cluster_slots_assigned).toBe('16384');
    }
    // A key on the wrong node gets a MOVED redirect: the slots really are spread.
    const replies = await Promise.all(cluster.nodes.map((n) => n.call(['SET', 'somekey', 'v'])));
    expect(replies.filter((r) => r === 'OK')).toHaveLength(1);
    expect(replies.filter((r) => r instanceof Error && /^MOVED/.test(r.message))).toHaveLength(2);
    const pids = cluster.nodes.map((n) => n.pid!);
    await cluster.stop();
    expect(pids.filter(isAlive)).toEqual([]);
  });
});

describe('startRedisSentinel', () => {
  it('runs a master, a replica and 3 sentinels that fail over when the master dies', async () => {
    const group = await startRedisSentinel();
    expect(await group.currentMaster()).toEqual({ host: '127.0.0.1', port: group.master.port });
    await group.master.call(['SET', 'replicated', 'yes']);
    await group.master.call(['WAIT', '1', '2000']);
    expect(await group.replica.call(['GET', 'replicated'])).toBe('yes');
    await group.master.kill();
    const promoted = await group.waitForFailover(group.master.port);
    expect(promoted.port).toBe(group.replica.port);
    expect(await group.replica.call(['SET', 'after-failover', '1'])).toBe('OK');
    const pids = [...group.sentinels, group.replica].map((s) => s.pid!);
    await group.stop();
    expect(pids.filter(isAlive)).toEqual([]);
  }, 60_000);
});
