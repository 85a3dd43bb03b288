import { isInfrastructureError } from '@voelgoed/contracts';
import type { CommandOptions, RedisClient } from '@voelgoed/redis';
import type { LockNotAcquiredReason } from './errors.js';
import {
  type FairLine,
  type LineAnswer,
  type LineCheck,
  type LinePlace,
  parseLineAnswer,
  parseLineCheck,
} from './fair-line.js';
import type { LockKeys } from './keys.js';
import { lineAcquireScript, lineCheckScript, lineLeaveScript, lineReleaseScript } from './line-scripts.js';
import {
  count,
  gather,
  type NodeReply,
  type QuorumCount,
  rethrowUsageError,
  tallyAcquire,
  tokensOf,
} from './quorum.js';
import { acquireScript, extendScript, raiseFenceScript, releaseScript } from './scripts.js';

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
  /** The caller's place in the fair line, when the line node answered with one. */
  place?: LinePlace;
}

/** The everyday refusal (held by someone else, nothing taken), shared: contention is a hot path. */
const CONTENDED: Refused = Object.freeze({ ok: false, reason: 'contention', split: false, error: undefined });

/** A per-lock acquisition request, built once per `acquire` and reused by its retries. */
export interface AcquireRequest {
  /** The connections (one per node) every command of this lock goes through, in order. */
  readonly nodes: readonly RedisClient[];
  readonly keys: LockKeys;
  readonly value: string;
  readonly ttlMs: number;
  /** ARGV of the acquire script: value, ttl, waiter-marker ttl (strings). */
  readonly argv: readonly string[];
  /** The fair line of a one-resource lock (undefined: no line, attempts poll). */
  readonly line?: LineRequest;
}

/** What the attempts of one `acquire` need of the fair line. */
export interface LineRequest {
  /** Index in `nodes` of the lock's own line node. */
  readonly primary: number;
  /** Index in `nodes` of the node keeping the line now (see FairLine.pick). */
  node: number;
  /** KEYS of the line scripts (see line-scripts.ts). */
  readonly keys: readonly string[];
  /** ARGV of the acquire script on the other nodes while the line is up: no waiter marker. */
  readonly argvNoMarker: readonly string[];
  /** Lease of a place in line, ms (string). */
  readonly leaseMs: string;
  /** The waiter's arrival score once the line node gave it a place ('' before). */
  score: string;
  /** Whether a refused attempt takes a place in line (not on the last one: it will not wait). */
  join: boolean;
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
    /** The fair line (undefined: turned off). */
    readonly fairLine?: FairLine,
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
  request(
    keys: LockKeys,
    value: string,
    ttlMs: number,
    waiterTtlMs: number,
    leaseMs: number,
  ): AcquireRequest {
    const argv = [value, String(ttlMs), String(waiterTtlMs)];
    const lineKeys = this.fairLine?.keysOf(keys);
    return {
      nodes: this.lane(keys[0]!),
      keys,
      value,
      ttlMs,
      argv,
      ...(lineKeys === undefined
        ? {}
        : {
            line: {
              primary: this.fairLine!.nodeOf(keys),
              node: this.fairLine!.nodeOf(keys),
              keys: lineKeys,
              argvNoMarker: [value, String(ttlMs), '0'],
              leaseMs: String(leaseMs),
              score: '',
              join: true,
            },
          }),
    };
  }

  /** The request's line, on the node keeping it now; undefined while no node can. */
  #lineUp(request: AcquireRequest): LineRequest | undefined {
    const line = request.line;
    if (line === undefined) return undefined;
    const node = this.fairLine!.pick(line.primary);
    if (node === undefined) return undefined;
    line.node = node;
    return line;
  }

  /** One node's acquire call: the line script on the line node while the line is up. */
  #acquireOn(request: AcquireRequest, i: number, line: LineRequest | undefined, call: CommandOptions) {
    const client = request.nodes[i]!;
    if (line === undefined)
      return acquireScript.run<number | unknown[] | string>(client, request.keys, request.argv, call);
    if (i !== line.node)
      return acquireScript.run<number | unknown[] | string>(client, request.keys, line.argvNoMarker, call);
    const argv = [request.value, String(request.ttlMs), '0', line.leaseMs, line.score, line.join ? '1' : '0'];
    return lineAcquireScript.run<unknown[] | string>(client, line.keys, argv, call);
  }

  /** What the line node answered to an attempt: its place for the caller, or it failed (line down). */
  #lineAnswer(line: LineRequest | undefined, reply: NodeReply<unknown> | undefined): LineAnswer | undefined {
    if (line === undefined || reply === undefined) return undefined;
    if (!reply.ok) {
      if (!isInfrastructureError(reply.error, 'INVALID_ARGUMENT')) this.fairLine!.markDown(line.node);
      return undefined;
    }
    const place = parseLineAnswer(reply.value);
    if (place !== undefined && place.rank >= 0) line.score = place.score;
    return place;
  }

  /**
   * A waiter's call between attempts, to its line node only: keeps its place and says whether it
   * is at the head with the lock free. Undefined when the line is down (the waiter then polls).
   */
  async lineCheck(request: AcquireRequest): Promise<LineCheck | undefined> {
    const line = this.#lineUp(request);
    if (line === undefined) return undefined;
    try {
      const reply = await lineCheckScript.run<string>(
        request.nodes[line.node]!,
        line.keys,
        [request.value, '', '', line.leaseMs, line.score],
        this.#call(request.ttlMs),
      );
      const check = parseLineCheck(reply);
      if (check !== undefined) line.score = check.score;
      return check;
    } catch (error) {
      rethrowUsageError(error);
      this.fairLine!.markDown(line.node);
      return undefined;
    }
  }

  /**
   * Leaves the line (a waiter that gave up), so that the next caller does not wait behind it.
   * Failure is ignored: its lease runs out anyway.
   */
  async lineLeave(request: AcquireRequest): Promise<void> {
    const line = request.line;
    if (line === undefined || line.score === '' || this.#lineUp(request) === undefined) return;
    await lineLeaveScript
      .run(request.nodes[line.node]!, line.keys, [request.value], this.#call(request.ttlMs))
      .catch(() => {});
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
    const line = this.#lineUp(request);
    let reply: number | unknown[] | string;
    try {
      reply = await this.#acquireOn(request, 0, line, this.#call(ttlMs));
    } catch (error) {
      rethrowUsageError(error);
      this.#lineAnswer(line, { ok: false, error });
      // A late SET may still land: queue a silent release behind it, do not wait for it.
      this.#releaseInOrder(client, keys, request.value, ttlMs).catch(() => {});
      return { ok: false, reason: 'quorum', split: false, error };
    }
    if (!Array.isArray(reply)) {
      const place = this.#lineAnswer(line, { ok: true, value: reply });
      return place === undefined ? CONTENDED : { ...CONTENDED, place };
    }
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
    const line = this.#lineUp(request);
    const calls = nodes.map((_, i) => this.#acquireOn(request, i, line, call));
    let replies = await gather(calls, (rs) => {
      let yes = 0;
      let no = 0;
      for (const r of rs) {
        if (r === undefined) continue;
        if (r.ok && Array.isArray(r.value)) yes++;
        else no++;
      }
      if (line === undefined) return yes >= quorum || no > allowed;
      // With the line up, its node has the last word: the outcome waits for its answer (which
      // also gives the caller its place), and its "not your turn" ends the attempt (grants
      // elsewhere are given back). A line node that does not answer is down for a while.
      const atLine = rs[line.node];
      if (atLine === undefined) return false;
      if (atLine.ok && parseLineAnswer(atLine.value)?.ahead) return true;
      return yes >= quorum || no > allowed;
    });
    // The line node's "not your turn" refuses the attempt whatever the others said; it is
    // contention (a quorum answered) or an outage like any other refusal. A refusal there with
    // nobody ahead (its key still held: a release on its way) is one node's vote like any other.
    const place = this.#lineAnswer(line, replies[line?.node ?? -1]);
    const notOurTurn = place?.ahead === true;
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
    if (granted.length < quorum || notOurTurn) {
      if (granted.length === 0 && tally.failed === 0 && replies.every((r) => r !== undefined)) {
        // Every node refused: nothing of ours anywhere.
        return place === undefined ? CONTENDED : { ...CONTENDED, place };
      }
      // Contention only when a quorum answered: fewer answering is an outage, whatever they said.
      const answered = granted.length + tally.refused;
      return this.#refuse(
        request,
        replies,
        answered >= quorum ? 'contention' : 'quorum',
        error,
        // Grants that were not our turn are no split vote: the caller waits in line.
        granted.length > 0 && !notOurTurn,
        place,
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
    // Granted by the quorum while the line node, behind the others, put us in line: leave it.
    if (place !== undefined && place.rank >= 0) void this.lineLeave(request);
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
    replies: readonly (NodeReply<number | unknown[] | string> | undefined)[],
    reason: Refused['reason'],
    error: unknown,
    split: boolean,
    place?: LinePlace,
  ): Promise<Refused> {
    const { keys, value, ttlMs } = request;
    // Silently: waking waiters for a lock that nobody held would only re-synchronise them.
    const releaseOn = (client: RedisClient) =>
      this.#releaseOn(client, keys, value, ttlMs, false).catch(() => 0);
    const waits: Promise<unknown>[] = [];
    for (let i = 0; i < request.nodes.length; i++) {
      const client = request.nodes[i]!;
      const reply = replies[i];
      if (reply === undefined || !reply.ok)
        void this.#releaseInOrder(client, keys, value, ttlMs).catch(() => 0);
      else if (Array.isArray(reply.value)) waits.push(releaseOn(client));
    }
    await Promise.all(waits);
    return place === undefined
      ? { ok: false, reason, error, split }
      : { ok: false, reason, error, split, place };
  }

  /**
   * A silent release that is not waited for, sent as EVAL: EVALSHA would be sent a second time
   * (as EVAL) when the node does not know the script (NOSCRIPT, after a restart or a flush), and
   * that second send would go behind the next attempt's SET on the same connection and delete
   * the lock that attempt hands out. EVAL runs where it was sent.
   */
  #releaseInOrder(client: RedisClient, keys: LockKeys, value: string, ttlMs: number): Promise<number> {
    return client.command<number>(
      ['EVAL', releaseScript.source, String(keys.length), ...keys, value, ''],
      this.#call(ttlMs),
    );
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
    // The line node hands the lock to the head of the line (whether or not the line is up here:
    // another process may be waiting in it).
    const lineKeys = this.fairLine?.keysOf(keys);
    const lineNode = lineKeys === undefined ? -1 : (this.fairLine!.pick(this.fairLine!.nodeOf(keys)) ?? -1);
    const replies = await gather(
      nodes.map((c, i) =>
        i === lineNode
          ? lineReleaseScript.run<number>(c, lineKeys!, [value, this.channel], this.#call(this.nodeTimeoutMs))
          : this.#releaseOn(c, keys, value, this.nodeTimeoutMs),
      ),
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
