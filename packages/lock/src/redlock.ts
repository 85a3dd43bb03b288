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
  /** Some nodes granted the lock (a split vote): retry after a short random delay, not a wake-up. */
  split: boolean;
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

/**
 * Sends one call per node and resolves as soon as `decided` says the outcome is known (a
 * majority agreed, or a majority can no longer agree) or every node answered, so that a paused
 * node costs nothing once the others have decided. Replies of nodes still pending are
 * `undefined` in the (copied) result.
 */
function gather<T>(
  calls: Promise<T>[],
  decided: (replies: readonly (NodeReply<T> | undefined)[]) => boolean,
): Promise<(NodeReply<T> | undefined)[]> {
  return new Promise((resolve) => {
    const replies: (NodeReply<T> | undefined)[] = new Array(calls.length).fill(undefined);
    let settled = 0;
    let done = false;
    calls.forEach((call, i) => {
      void settle(call).then((reply) => {
        replies[i] = reply;
        settled++;
        if (!done && (settled === calls.length || decided(replies))) {
          done = true;
          resolve(replies.slice());
        }
      });
    });
  });
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
    const quorum = this.quorum;
    const allowed = this.clients.length - quorum;
    const replies = await gather(
      this.clients.map((c) => acquireScript.run<number | number[]>(c, scriptKeys, args, timeout)),
      (rs) => {
        let yes = 0;
        let no = 0;
        for (const r of rs) {
          if (r === undefined) continue;
          if (r.ok && Array.isArray(r.value)) yes++;
          else no++;
        }
        return yes >= quorum || no > allowed;
      },
    );
    const granted: number[][] = [];
    const grantedAt: number[] = [];
    let failed = 0;
    let error: unknown;
    for (let i = 0; i < replies.length; i++) {
      const reply = replies[i];
      if (reply === undefined) continue;
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
      // Release wherever the lock may be ours: granted nodes (waited for) and nodes that failed
      // or have not answered yet (a late SET may land; the release is queued behind it on the
      // same connection, not waited for). Nodes that refused hold someone else's lock.
      const waits: Promise<unknown>[] = [];
      this.clients.forEach((c, i) => {
        const reply = replies[i];
        if (reply?.ok && !Array.isArray(reply.value)) return;
        // Silently: waking waiters for a lock that nobody held would only re-synchronise them.
        const release = settle(this.#releaseOn(c, keys, value, ttlMs, false));
        if (reply?.ok) waits.push(release);
      });
      await Promise.all(waits);
      return { ok: false, reason, error, split: granted.length > 0 };
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
        const raised = await gather(
          behind.map((i) => raiseFenceScript.run(this.clients[i]!, fences, tokens, timeout)),
          (rs) => current + rs.filter((r) => r?.ok).length >= quorum,
        );
        let acked = 0;
        for (const r of raised) {
          if (r?.ok) acked++;
          else if (r) error = r.error;
        }
        if (current + acked < this.quorum) return refuse('quorum');
      }
    }
    const validityMs = ttlMs - (performance.now() - startedAt) - this.drift(ttlMs);
    if (validityMs <= 0) return refuse('validity');
    return { ok: true, tokens, validityMs, startedAt };
  }

  #releaseOn(
    client: RedisClient,
    keys: readonly ResourceKeys[],
    value: string,
    ttlMs: number,
    notify = true,
  ) {
    const n = keys.length;
    const scriptKeys: string[] = new Array(n * 2);
    for (let i = 0; i < n; i++) {
      scriptKeys[i] = keys[i]!.lock;
      scriptKeys[n + i] = keys[i]!.waiter;
    }
    return releaseScript.run<number>(
      client,
      scriptKeys,
      [value, notify ? this.channel : ''],
      this.#timeout(ttlMs),
    );
  }

  /** Compare-and-delete on every node. A node counts as done when every key there was ours. */
  async release(keys: readonly ResourceKeys[], value: string): Promise<QuorumCount> {
    const isDone = (released: number) => released === keys.length;
    const replies = await gather(
      this.clients.map((c) => this.#releaseOn(c, keys, value, this.nodeTimeoutMs)),
      (rs) => this.#decided(rs, isDone),
    );
    return count(replies, isDone);
  }

  /** Compare-and-pexpire (all keys or none) on every node. */
  async extend(keys: readonly ResourceKeys[], value: string, ttlMs: number): Promise<QuorumCount> {
    const lockKeys = keys.map((k) => k.lock);
    const timeout = this.#timeout(ttlMs);
    const isDone = (extended: number) => extended === 1;
    const replies = await gather(
      this.clients.map((c) => extendScript.run<number>(c, lockKeys, [value, ttlMs], timeout)),
      (rs) => this.#decided(rs, isDone),
    );
    return count(replies, isDone);
  }

  #decided(replies: readonly (NodeReply<number> | undefined)[], isDone: (reply: number) => boolean): boolean {
    let yes = 0;
    let no = 0;
    for (const r of replies) {
      if (r === undefined) continue;
      if (r.ok && isDone(Number(r.value))) yes++;
      else no++;
    }
    return yes >= this.quorum || no > this.clients.length - this.quorum;
  }
}

function count(replies: (NodeReply<number> | undefined)[], isDone: (reply: number) => boolean): QuorumCount {
  const result: QuorumCount = { done: 0, notOwner: 0, failed: 0, error: undefined };
  for (const reply of replies) {
    if (reply === undefined) continue;
    if (!reply.ok) {
      result.failed++;
      result.error = reply.error;
    } else if (isDone(Number(reply.value))) result.done++;
    else result.notOwner++;
  }
  return result;
}
