import { waitFor } from './process.js';
import { type RedisServer, startRedis } from './redis-server.js';
import { type Stoppable, trackStoppable, untrackStoppable } from './registry.js';
import { parseInfo, type RespValue } from './resp.js';

export interface StartRedisSentinelOptions {
  /** Name the sentinels monitor. Default `mymaster`. */
  masterName?: string;
  /** Sentinels that must agree the master is down. Default 2 (of 3). */
  quorum?: number;
  /** `down-after-milliseconds`. Default 1000, so failover tests finish quickly. */
  downAfterMs?: number;
  /** `failover-timeout`. Default 5000. */
  failoverTimeoutMs?: number;
}

function pairsToObject(reply: RespValue): Record<string, string> {
  const out: Record<string, string> = {};
  if (!Array.isArray(reply)) return out;
  for (let i = 0; i + 1 < reply.length; i += 2) out[String(reply[i])] = String(reply[i + 1]);
  return out;
}

/** One master, one replica and three sentinels, all real processes. */
export class RedisSentinelGroup implements Stoppable {
  constructor(
    readonly masterName: string,
    readonly master: RedisServer,
    readonly replica: RedisServer,
    readonly sentinels: RedisServer[],
  ) {}

  /** Addresses of the sentinels, for a Sentinel client. */
  get sentinelAddresses(): { host: string; port: number }[] {
    return this.sentinels.map((s) => ({ host: s.host, port: s.port }));
  }

  /** The data nodes (initial master first). */
  get dataNodes(): RedisServer[] {
    return [this.master, this.replica];
  }

  /** The master's address according to the first sentinel that answers. */
  async currentMaster(): Promise<{ host: string; port: number }> {
    let lastError: unknown;
    for (const sentinel of this.sentinels) {
      try {
        const reply = await sentinel.call(['SENTINEL', 'GET-MASTER-ADDR-BY-NAME', this.masterName]);
        if (Array.isArray(reply) && reply.length === 2)
          return { host: String(reply[0]), port: Number(reply[1]) };
      } catch (error) {
        lastError = error;
      }
    }
    throw new Error(`[testkit] no sentinel knows master ${this.masterName}: ${String(lastError)}`);
  }

  /** The data node that is master now (it changes after a failover). */
  async currentMasterServer(): Promise<RedisServer> {
    const { port } = await this.currentMaster();
    const node = this.dataNodes.find((n) => n.port === port);
    if (!node) throw new Error(`[testkit] master port ${port} is not one of this group's nodes`);
    return node;
  }

  /** Waits until the sentinels report a master other than `previousPort`. */
  async waitForFailover(previousPort: number, timeoutMs = 20_000): Promise<{ host: string; port: number }> {
    return waitFor(
      'sentinel failover',
      async () => {
        const now = await this.currentMaster();
        return now.port !== previousPort ? now : undefined;
      },
      { timeoutMs, intervalMs: 100 },
    );
  }

  async stop(): Promise<void> {
    untrackStoppable(this);
    await Promise.all([...this.sentinels, this.replica, this.master].map((s) => s.stop()));
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}

/** Starts 1 master, 1 replica and 3 sentinels, and waits until the sentinels know each other. */
export async function startRedisSentinel(
  options: StartRedisSentinelOptions = {},
): Promise<RedisSentinelGroup> {
  const masterName = options.masterName ?? 'mymaster';
  const quorum = options.quorum ?? 2;
  const started: RedisServer[] = [];
  try {
    const master = await startRedis({ name: 'sentinel-master' });
    started.push(master);
    const replica = await startRedis({
      name: 'sentinel-replica',
      args: ['--replicaof', master.host, String(master.port)],
    });
    started.push(replica);
    await waitFor('replica to sync with its master', async () => {
      const info = parseInfo(String(await replica.call(['INFO', 'replication'])));
      return info.master_link_status === 'up' ? true : undefined;
    });
    const config = [
      `sentinel monitor ${masterName} ${master.host} ${master.port} ${quorum}`,
      `sentinel down-after-milliseconds ${masterName} ${options.downAfterMs ?? 1000}`,
      `sentinel failover-timeout ${masterName} ${options.failoverTimeoutMs ?? 5000}`,
      `sentinel parallel-syncs ${masterName} 1`,
      '',
    ].join('\n');
    const sentinels = await Promise.all(
      [0, 1, 2].map((i) => startRedis({ name: `sentinel${i}`, sentinelConfig: config })),
    );
    started.push(...sentinels);
    const group = new RedisSentinelGroup(masterName, master, replica, sentinels);
    for (const sentinel of sentinels) {
      await waitFor(
        `sentinel ${sentinel.port} to see the replica and the other sentinels`,
        async () => {
          const state = pairsToObject(await sentinel.call(['SENTINEL', 'MASTER', masterName]));
          return Number(state['num-other-sentinels']) >= 2 && Number(state['num-slaves']) >= 1
            ? true
            : undefined;
        },
        { timeoutMs: 20_000, intervalMs: 100 },
      );
    }
    trackStoppable(group);
    return group;
  } catch (error) {
    await Promise.all(started.map((s) => s.stop()));
    throw error;
  }
}
