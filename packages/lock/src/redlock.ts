import { isInfrastructureError } from '@voelgoed/contracts';
import type { CommandOptions, RedisClient } from '@voelgoed/redis';
import { invalidArgument, type LockNotAcquiredReason } from './errors.js';
import type { LockKeys } from './keys.js';
import { acquireScript, extendScript, raiseFenceScript, releaseScript } from './scripts.js';

/** What one node answered. */
type NodeReply<T> = { ok: true; value: T } | { ok: false; error: unknown };

/** A successful attempt: the lock is held on a majority until `validUntil`. */
export interface Granted {
  ok: true;
  /** Fencing token per resource: the highest counter of the majority, written back to one. */
  tokens: number[];
  /**
   * performance.now() until which the lock is ours: the attempt's start + TTL − drift. The TTL
   * started counting on each node no earlier than the attempt's start, so the round trip is
   * already inside it (subtracting it again would hand out less, or no, validity).
   */
  validUntil: number;
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

/** The everyday refusal (held by someone else, nothing taken), shared: contention is a hot path. */
const CONTENDED: Refused = Object.freeze({ ok: false, reason: 'contention', split: false, error: undefined });

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
  // One node (the common N = 1): its reply is the outcome, no bookkeeping.
  if (calls.length === 1) {
    return calls[0]!.then(
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
    for (let i = 0; i < calls.length; i++) {
      calls[i]!.then(
        (value) => record(i, { ok: true, value }),
        (error: unknown) => record(i, { ok: false, error }),
      );
    }
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

/** Fencing tokens from an acquire reply (RESP integers arrive as numbers). */
function tokensOf(reply: unknown[]): number[] {
  for (let i = 0; i < reply.length; i++) if (typeof reply[i] !== 'number') return reply.map(Number);
  return reply as number[];
}

/** A per-lock acquisition request, built once per `acquire` and reused by its retries. */
export interface AcquireRequest {
  /** The connections (one per node) every command of this lock goes through, in order. */
  readonly nodes: readonly RedisClient[];
  readonly keys: LockKeys;
  readonly value: string;
  readonly ttlMs: number;
  /** ARGV of the acquire script: value, ttl, waiter-marker ttl (strings). */
  readonly argv: readonly string[];
}

/**
 * The Redlock algorithm over N independent nodes: one Lua script per node per step, a
 * majority (N/2+1) for success, validity measured on the monotonic clock.
 */
export class Redlock {
  readonly quorum: number;
  /** The first lane: one connection per node. */
  readonly clients: readonly RedisClient[];
  readonly #lanes: readonly (readonly RedisClient[])[];
  readonly #defaultCall: CommandOptions;

  /**
   * @param lanes one or more sets of connections, each with one connection per node (the same
   *   nodes in the same order). Locks are spread over the lanes by a hash of their first key, and
   *   every command of one lock (its attempts, the releases after a refusal, extend, release)
   *   goes through its lane: on each connection a release then always follows the SET it must
   *   undo, even though the owner value is reused across attempts. Contenders for one resource
   *   in this process share a lane, so every node sees their attempts in the same order (no
   *   split votes among them).
   */
  constructor(
    lanes: readonly (readonly RedisClient[])[],
    private readonly nodeTimeoutMs: number,
    private readonly driftFactor: number,
    private readonly channel: string,
  ) {
    this.#lanes = lanes;
    this.clients = lanes[0]!;
    this.quorum = Math.floor(this.clients.length / 2) + 1;
    this.#defaultCall = { timeoutMs: Math.max(1, nodeTimeoutMs) };
  }

  /** The lane of a lock whose first key is `key`. */
  lane(key: string): readonly RedisClient[] {
    const lanes = this.#lanes;
    if (lanes.length === 1) return lanes[0]!;
    // FNV-1a over the UTF-16 code units: cheap, and spreads similar names.
    let h = 0x811c9dc5;
    for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
    return lanes[(h >>> 0) % lanes.length]!;
  }

  /** The drift allowance for a TTL: ttl × driftFactor + 2 ms. */
  drift(ttlMs: number): number {
    return ttlMs * this.driftFactor + 2;
  }

  /** Until when a lock (or an extension) whose commands were sent at `startedAt` is valid. */
  validUntil(startedAt: number, ttlMs: number): number {
    return startedAt + ttlMs - this.drift(ttlMs);
  }

  /** A node call's deadline: nodeTimeoutMs, never more than the TTL. */
  #call(ttlMs: number): CommandOptions {
    return ttlMs >= this.nodeTimeoutMs ? this.#defaultCall : { timeoutMs: Math.max(1, ttlMs) };
  }

  /** The request for one `acquire` (all its attempts share the owner value and the keys). */
  request(keys: LockKeys, value: string, ttlMs: number, waiterTtlMs: number): AcquireRequest {
    return {
      nodes: this.lane(keys[0]!),
      keys,
      value,
      ttlMs,
      argv: [value, String(ttlMs), String(waiterTtlMs)],
    };
  }

  /** One acquisition attempt. On failure it has already released what it took. */
  attempt(request: AcquireRequest): Promise<Granted | Refused> {
    const { nodes } = request;
    return nodes.length === 1 ? this.#attemptOne(nodes[0]!, request) : this.#attemptMany(request);
  }

  /** N = 1: one call, no quorum bookkeeping. */
  async #attemptOne(client: RedisClient, request: AcquireRequest): Promise<Granted | Refused> {
    const { keys, ttlMs } = request;
    const startedAt = performance.now();
    let reply: number | unknown[];
    try {
      reply = await acquireScript.run<number | unknown[]>(client, keys, request.argv, this.#call(ttlMs));
    } catch (error) {
      rethrowUsageError(error);
      // A late SET may still land: queue a silent release behind it, do not wait for it.
      this.#releaseOn(client, keys, request.value, ttlMs, false).catch(() => {});
      return { ok: false, reason: 'quorum', split: false, error };
    }
    if (!Array.isArray(reply)) return CONTENDED;
    const validUntil = this.validUntil(startedAt, ttlMs);
    if (validUntil <= performance.now()) {
      await this.#releaseOn(client, keys, request.value, ttlMs, false).catch(() => {});
      return { ok: false, reason: 'validity', split: false, error: undefined };
    }
    return { ok: true, tokens: tokensOf(reply), validUntil };
  }

  async #attemptMany(request: AcquireRequest): Promise<Granted | Refused> {
    const { keys, ttlMs, nodes } = request;
    const n = keys.length / 3;
    const call = this.#call(ttlMs);
    const startedAt = performance.now();
    const quorum = this.quorum;
    const allowed = nodes.length - quorum;
    const calls = nodes.map((c) => acquireScript.run<number | unknown[]>(c, keys, request.argv, call));
    let replies = await gather(calls, (rs) => {
      let yes = 0;
      let no = 0;
      for (const r of rs) {
        if (r === undefined) continue;
        if (r.ok && Array.isArray(r.value)) yes++;
        else no++;
      }
      return yes >= quorum || no > allowed;
    });
    let tally = tallyAcquire(replies);
    if (tally.granted.length < quorum && tally.refused < quorum && replies.includes(undefined)) {
      // Decided without a quorum of refusals: whether the rest answer tells an outage (`quorum`)
      // from contention. They are bounded by the node deadline.
      replies = (await Promise.allSettled(calls)).map((r) =>
        r.status === 'fulfilled' ? { ok: true, value: r.value } : { ok: false, error: r.reason },
      );
      tally = tallyAcquire(replies);
    }
    const { granted, grantedAt } = tally;
    let error = tally.error;
    if (granted.length < quorum) {
      if (granted.length === 0 && tally.failed === 0 && replies.every((r) => r !== undefined)) {
        return CONTENDED; // every node refused: nothing of ours anywhere
      }
      // Contention only when a quorum answered: fewer answering is an outage, whatever they said.
      const answered = granted.length + tally.refused;
      return this.#refuse(
        request,
        replies,
        answered >= quorum ? 'contention' : 'quorum',
        error,
        granted.length > 0,
      );
    }
    const tokens = granted[0]!.slice();
    for (const t of granted) for (let r = 0; r < n; r++) if (t[r]! > tokens[r]!) tokens[r] = t[r]!;
    // Make the highest token known to a majority before handing it out, so that any later
    // majority (which overlaps this one) counts past it. Usually all counters agree already and
    // no extra round trip is made.
    const behind: number[] = [];
    for (let g = 0; g < granted.length; g++) {
      if (granted[g]!.some((t, r) => t < tokens[r]!)) behind.push(grantedAt[g]!);
    }
    const current = granted.length - behind.length;
    if (current < quorum) {
      const argv = tokens.map(String);
      const raised = await gather(
        behind.map((i) => raiseFenceScript.run(nodes[i]!, keys, argv, call)),
        (rs) => current + rs.filter((r) => r?.ok).length >= quorum,
      );
      let acked = 0;
      for (const r of raised) {
        if (r?.ok) acked++;
        else if (r) error = r.error;
      }
      if (current + acked < quorum) return this.#refuse(request, replies, 'quorum', error, true);
    }
    const validUntil = this.validUntil(startedAt, ttlMs);
    if (validUntil <= performance.now()) return this.#refuse(request, replies, 'validity', error, true);
    return { ok: true, tokens, validUntil };
  }

  /**
   * Releases wherever the lock may be ours: on granted nodes (waited for), and on nodes that
   * failed or have not answered yet (a late SET may still land). Those releases are sent now,
   * not when the late reply comes: on each connection they must come before the next attempt,
   * which reuses the owner value, or a stale release could delete the next attempt's lock.
   * Nodes that refused hold someone else's lock.
   */
  async #refuse(
    request: AcquireRequest,
    replies: readonly (NodeReply<number | unknown[]> | undefined)[],
    reason: Refused['reason'],
    error: unknown,
    split: boolean,
  ): Promise<Refused> {
    const { keys, value, ttlMs } = request;
    // Silently: waking waiters for a lock that nobody held would only re-synchronise them.
    const releaseOn = (client: RedisClient) =>
      this.#releaseOn(client, keys, value, ttlMs, false).catch(() => 0);
    const waits: Promise<unknown>[] = [];
    for (let i = 0; i < request.nodes.length; i++) {
      const client = request.nodes[i]!;
      const reply = replies[i];
      if (reply === undefined || !reply.ok) void releaseOn(client);
      else if (Array.isArray(reply.value)) waits.push(releaseOn(client));
    }
    await Promise.all(waits);
    return { ok: false, reason, error, split };
  }

  #releaseOn(
    client: RedisClient,
    keys: LockKeys,
    value: string,
    ttlMs: number,
    notify = true,
  ): Promise<number> {
    return releaseScript.run<number>(client, keys, [value, notify ? this.channel : ''], this.#call(ttlMs));
  }

  /** Compare-and-delete on every node. A node counts as done when every key there was ours. */
  async release(keys: LockKeys, value: string, nodes: readonly RedisClient[]): Promise<QuorumCount> {
    const n = keys.length / 3;
    const isDone = (released: number) => released === n;
    const replies = await gather(
      nodes.map((c) => this.#releaseOn(c, keys, value, this.nodeTimeoutMs)),
      (rs) => this.#decided(rs, isDone),
    );
    return count(replies, isDone);
  }

  /** Compare-and-pexpire (all keys or none) on every node. */
  async extend(
    keys: LockKeys,
    value: string,
    ttlMs: number,
    nodes: readonly RedisClient[],
  ): Promise<QuorumCount> {
    const call = this.#call(ttlMs);
    const argv = [value, String(ttlMs)];
    const isDone = (extended: number) => extended === 1;
    const replies = await gather(
      nodes.map((c) => extendScript.run<number>(c, keys, argv, call)),
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

/** What the nodes said to an acquire: who granted (with tokens), who refused, who failed. */
function tallyAcquire(replies: readonly (NodeReply<number | unknown[]> | undefined)[]) {
  const granted: number[][] = [];
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
