import { isInfrastructureError } from '@voelgoed/contracts';
import type { RedisClient } from '@voelgoed/redis';
import { invalidArgument, type LockNotAcquiredReason } from './errors.js';
import type { ResourceKeys } from './keys.js';
import { acquireScript, extendScript, raiseFenceScript, releaseScript } from './scripts.js';

/** What one node answered. */
type NodeReply<T> = { ok: true; value: T } | { ok: false; error: unknown };

/** A successful attempt: the lock is held on a majority with `validityMs` left. */
export interface Granted {
  ok: true;
  /** Fencing token per resource: the highest counter of the majority, written back to one. */
  tokens: number[];
  validityMs: number;
  /** performance.now() when the attempt started (the TTL counts from here). */
  startedAt: number;
}

export interface Refused {
  ok: false;
  reason: Exclude<LockNotAcquiredReason, 'aborted'>;
  /** The last node error, if any. */
  error: unknown;
}

/** Counts of an extend or release across the nodes. */
export interface QuorumCount {
  /** Nodes where the keys were ours (and are now extended/deleted). */
  done: number;
  /** Nodes that answered that the keys were not ours. */
  notOwner: number;
  /** Nodes that failed or timed out. */
  failed: number;
  error: unknown;
}

function settle<T>(promise: Promise<T>): Promise<NodeReply<T>> {
  return promise.then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  );
}

/** A CROSSSLOT reply means the resources of one lock are in different Cluster slots. */
function rethrowUsageError(error: unknown): void {
  if ((error as { reply?: unknown })?.reply === 'CROSSSLOT') {
    throw invalidArgument(
      'the resources of one lock must be in one Redis Cluster slot: give them a shared {hash tag}',
    );
  }
  if (isInfrastructureError(error, 'INVALID_ARGUMENT')) throw error;
}

/**
 * The Redlock algorithm over N independent nodes: one Lua script per node per step, a
 * majority (N/2+1) for success, validity measured on the monotonic clock.
 */
export class Redlock {
  readonly quorum: number;

  constructor(
    readonly clients: readonly RedisClient[],
    private readonly nodeTimeoutMs: number,
    private readonly driftFactor: number,
    private readonly channel: string,
  ) {
    this.quorum = Math.floor(clients.length / 2) + 1;
  }

  /** The drift allowance for a TTL: ttl × driftFactor + 2 ms. */
  drift(ttlMs: number): number {
    return ttlMs * this.driftFactor + 2;
  }

  #timeout(ttlMs: number): { timeoutMs: number } {
    return { timeoutMs: Math.max(1, Math.min(this.nodeTimeoutMs, ttlMs)) };
  }

  /** One acquisition attempt. On failure it has already released what it took. */
  async attempt(
    keys: readonly ResourceKeys[],
    value: string,
    ttlMs: number,
    waiterTtlMs: number,
  ): Promise<Granted | Refused> {
    const n = keys.length;
    const scriptKeys: string[] = new Array(n * 3);
    for (let i = 0; i < n; i++) {
      const k = keys[i]!;
      scriptKeys[i] = k.lock;
      scriptKeys[n + i] = k.fence;
      scriptKeys[2 * n + i] = k.waiter;
    }
    const args = [value, ttlMs, waiterTtlMs];
    const timeout = this.#timeout(ttlMs);
    const startedAt = performance.now();
    const replies = await Promise.all(
      this.clients.map((c) => settle(acquireScript.run<number | number[]>(c, scriptKeys, args, timeout))),
    );
    const granted: number[][] = [];
    const grantedAt: number[] = [];
    let failed = 0;
    let error: unknown;
    for (let i = 0; i < replies.length; i++) {
      const reply = replies[i]!;
      if (!reply.ok) {
        rethrowUsageError(reply.error);
        failed++;
        error = reply.error;
      } else if (Array.isArray(reply.value)) {
        granted.push(reply.value.map(Number));
        grantedAt.push(i);
      }
    }
    const refuse = async (reason: Refused['reason']): Promise<Refused> => {
      // Release wherever the lock may be ours: granted nodes and nodes that failed (a timed-out
      // SET may have landed). Nodes that refused hold someone else's lock: leave them alone.
      await Promise.all(
        this.clients.map((c, i) => {
          const reply = replies[i]!;
          if (reply.ok && !Array.isArray(reply.value)) return undefined;
          return settle(this.#releaseOn(c, keys, value, ttlMs));
        }),
      );
      return { ok: false, reason, error };
    };
    if (granted.length < this.quorum) {
      return refuse(failed > this.clients.length - this.quorum ? 'quorum' : 'contention');
    }
    const tokens = granted[0]!.slice();
    for (const t of granted) for (let r = 0; r < n; r++) if (t[r]! > tokens[r]!) tokens[r] = t[r]!;
    if (granted.length > 1) {
      // Make the highest token known to a majority before handing it out, so that any later
      // majority (which overlaps this one) counts past it.
      const behind: number[] = [];
      for (let g = 0; g < granted.length; g++) {
        if (granted[g]!.some((t, r) => t < tokens[r]!)) behind.push(grantedAt[g]!);
      }
      const current = granted.length - behind.length;
      if (current < this.quorum) {
        const fences = keys.map((k) => k.fence);
        const raised = await Promise.all(
          behind.map((i) => settle(raiseFenceScript.run(this.clients[i]!, fences, tokens, timeout))),
        );
        let acked = 0;
        for (const r of raised) {
          if (r.ok) acked++;
          else error = r.error;
        }
        if (current + acked < this.quorum) return refuse('quorum');
      }
    }
    const validityMs = ttlMs - (performance.now() - startedAt) - this.drift(ttlMs);
    if (validityMs <= 0) return refuse('validity');
    return { ok: true, tokens, validityMs, startedAt };
  }

  #releaseOn(client: RedisClient, keys: readonly ResourceKeys[], value: string, ttlMs: number) {
    const n = keys.length;
    const scriptKeys: string[] = new Array(n * 2);
    for (let i = 0; i < n; i++) {
      scriptKeys[i] = keys[i]!.lock;
      scriptKeys[n + i] = keys[i]!.waiter;
    }
    return releaseScript.run<number>(client, scriptKeys, [value, this.channel], this.#timeout(ttlMs));
  }

  /** Compare-and-delete on every node. A node counts as done when every key there was ours. */
  async release(keys: readonly ResourceKeys[], value: string): Promise<QuorumCount> {
    const replies = await Promise.all(
      this.clients.map((c) => settle(this.#releaseOn(c, keys, value, this.nodeTimeoutMs))),
    );
    return count(replies, (released) => released === keys.length);
  }

  /** Compare-and-pexpire (all keys or none) on every node. */
  async extend(keys: readonly ResourceKeys[], value: string, ttlMs: number): Promise<QuorumCount> {
    const lockKeys = keys.map((k) => k.lock);
    const timeout = this.#timeout(ttlMs);
    const replies = await Promise.all(
      this.clients.map((c) => settle(extendScript.run<number>(c, lockKeys, [value, ttlMs], timeout))),
    );
    return count(replies, (extended) => extended === 1);
  }
}

function count(replies: NodeReply<number>[], isDone: (reply: number) => boolean): QuorumCount {
  const result: QuorumCount = { done: 0, notOwner: 0, failed: 0, error: undefined };
  for (const reply of replies) {
    if (!reply.ok) {
      result.failed++;
      result.error = reply.error;
    } else if (isDone(Number(reply.value))) result.done++;
    else result.notOwner++;
  }
  return result;
}
