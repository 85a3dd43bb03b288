import { hashTag } from '@voelgoed/redis';

/**
 * The keys of one queue, all under the hash tag `{queue:<name>}` so that they share one Cluster
 * slot and every script may touch all of them (job hashes included: `<tag>:j:<id>`).
 */
export interface QueueKeys {
  /** Every script's KEYS, in this order: ready, delayed, active, dead, paused, seq. */
  readonly list: readonly string[];
  /** Prefix of the job hashes (ARGV[1] of every script). */
  readonly jobPrefix: string;
  /** Pub/sub channel that wakes idle workers (ARGV[2] of every script). */
  readonly wakeChannel: string;
}

export function queueKeys(name: string): QueueKeys {
  const tag = hashTag(`queue:${name}`);
  return {
    // ready: ZSET by priority then order; delayed: ZSET by due time; active: ZSET by lease expiry;
    // dead: ZSET by failure time; paused: a flag; seq: the order counter of ready jobs.
    list: ['ready', 'delayed', 'active', 'dead', 'paused', 'seq'].map((k) => `${tag}:${k}`),
    jobPrefix: `${tag}:j:`,
    wakeChannel: `${tag}:wake`,
  };
}
