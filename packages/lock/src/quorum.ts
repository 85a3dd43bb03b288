// Counting what the nodes of a Redlock answered: gathering replies until the outcome is known,
// and tallying acquire, extend and release replies.
import { isInfrastructureError } from '@voelgoed/contracts';
import { invalidArgument } from './errors.js';

/** What one node answered. */
export type NodeReply<T> = { ok: true; value: T } | { ok: false; error: unknown };

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

/**
 * Sends one call per node and resolves as soon as `decided` says the outcome is known (a
 * majority agreed, or a majority can no longer agree) or every node answered, so that a paused
 * node costs nothing once the others have decided. Replies of nodes still pending are
 * `undefined` in the (copied) result.
 */
export function gather<T>(
  calls: Promise<T>[],
  decided: (replies: readonly (NodeReply<T> | undefined)[]) => boolean,
): Promise<(NodeReply<T> | undefined)[]> {
  // One node (the common N = 1): its reply is the outcome, no bookkeeping.
  const only = calls.length === 1 ? calls[0] : undefined;
  if (only !== undefined) {
    return only.then(
      (value) => [{ ok: true, value }],
      (error: unknown) => [{ ok: false, error }],
    );
  }
  return new Promise((resolve) => {
    const replies: (NodeReply<T> | undefined)[] = new Array(calls.length).fill(undefined);
    let settled = 0;
    let done = false;
    const record = (i: number, reply: NodeReply<T>) => {
      replies[i] = reply;
      settled++;
      if (!done && (settled === calls.length || decided(replies))) {
        done = true;
        resolve(replies.slice());
      }
    };
    let i = 0;
    for (const call of calls) {
      const at = i++;
      call.then(
        (value) => record(at, { ok: true, value }),
        (error: unknown) => record(at, { ok: false, error }),
      );
    }
  });
}

/** The fencing tokens of a grant: one per resource of the lock (so at least one). */
export type Tokens = [number, ...number[]];

/**
 * Fencing tokens from an acquire reply (RESP integers arrive as numbers). The acquire script
 * answers a grant with one token per resource, and a lock has at least one.
 */
export function tokensOf(reply: unknown[]): Tokens {
  for (let i = 0; i < reply.length; i++) if (typeof reply[i] !== 'number') return reply.map(Number) as Tokens;
  return reply as Tokens;
}

/**
 * A CROSSSLOT reply means the resources of one lock are in different Cluster slots (the Redis
 * client reports it as INVALID_ARGUMENT naming CROSSSLOT; older ones as a reply error).
 */
export function rethrowUsageError(error: unknown): void {
  const crossSlot =
    (error as { reply?: unknown })?.reply === 'CROSSSLOT' ||
    (isInfrastructureError(error, 'INVALID_ARGUMENT') && error.message.includes('CROSSSLOT'));
  if (crossSlot) {
    throw invalidArgument(
      'the resources of one lock must be in one Redis Cluster slot: give them a shared {hash tag}',
    );
  }
  if (isInfrastructureError(error, 'INVALID_ARGUMENT')) throw error;
}

/** What the nodes said to an acquire: who granted (with tokens), who refused, who failed. */
export function tallyAcquire(replies: readonly (NodeReply<number | unknown[] | string> | undefined)[]) {
  const granted: Tokens[] = [];
  const grantedAt: number[] = [];
  let refused = 0;
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
      granted.push(tokensOf(reply.value));
      grantedAt.push(i);
    } else refused++;
  }
  return { granted, grantedAt, refused, failed, error };
}

export function count(
  replies: (NodeReply<number> | undefined)[],
  isDone: (reply: number) => boolean,
): QuorumCount {
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
