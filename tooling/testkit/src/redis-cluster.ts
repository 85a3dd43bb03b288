import { spawn } from 'node:child_process';
import { requireCommand, waitFor } from './process.js';
import { type RedisServer, startRedis } from './redis-server.js';
import { type Stoppable, trackStoppable, untrackStoppable } from './registry.js';
import { parseInfo } from './resp.js';

export interface StartRedisClusterOptions {
  /** Number of masters; Redis Cluster needs at least 3. Default 3. */
  masters?: number;
  /** Replicas per master. Default 0. */
  replicasPerMaster?: number;
  /** Extra `redis-server` arguments for every node. */
  args?: string[];
}

/** A real Redis Cluster: `cluster-enabled` nodes joined with `redis-cli --cluster create`. */
export class RedisCluster implements Stoppable {
  constructor(readonly nodes: RedisServer[]) {}

  /** Seed addresses for a cluster client. */
  get seeds(): { host: string; port: number }[] {
    return this.nodes.map((n) => ({ host: n.host, port: n.port }));
  }

  get urls(): string[] {
    return this.nodes.map((n) => n.url);
  }

  /** `CLUSTER INFO` of one node, parsed. */
  async info(node: RedisServer = this.nodes[0]!): Promise<Record<string, string>> {
    return parseInfo(String(await node.call(['CLUSTER', 'INFO'])));
  }

  async stop(): Promise<void> {
    untrackStoppable(this);
    await Promise.all(this.nodes.map((n) => n.stop()));
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}

function runRedisCli(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('redis-cli', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => {
      output += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      output += d.toString();
    });
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0
        ? resolve(output)
        : reject(new Error(`redis-cli ${args.join(' ')} failed (${code}): ${output}`)),
    );
  });
}

/** Starts a Redis Cluster (3 masters by default) and waits for `cluster_state:ok` on every node. */
export async function startRedisCluster(options: StartRedisClusterOptions = {}): Promise<RedisCluster> {
  requireCommand('redis-cli', 'redis-tools');
  const masters = options.masters ?? 3;
  const replicas = options.replicasPerMaster ?? 0;
  if (masters < 3) throw new Error('[testkit] a Redis Cluster needs at least 3 masters');
  const count = masters * (1 + replicas);
  const started = await Promise.allSettled(
    Array.from({ length: count }, (_, i) =>
      startRedis({
        cluster: true,
        name: `cluster${i}`,
        args: ['--cluster-node-timeout', '2000', ...(options.args ?? [])],
      }),
    ),
  );
  const nodes = started.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  const cluster = new RedisCluster(nodes);
  try {
    const failure = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failure) throw failure.reason;
    await runRedisCli([
      '--cluster',
      'create',
      ...nodes.map((n) => `${n.host}:${n.port}`),
      '--cluster-replicas',
      String(replicas),
      '--cluster-yes',
    ]);
    for (const node of nodes) {
      await waitFor(
        `cluster_state:ok on node ${node.port}`,
        async () => ((await cluster.info(node)).cluster_state === 'ok' ? true : undefined),
        { timeoutMs: 20_000 },
      );
    }
  } catch (error) {
    await cluster.stop();
    throw error;
  }
  trackStoppable(cluster);
  return cluster;
}
