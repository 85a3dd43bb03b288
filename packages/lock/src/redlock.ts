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
  type Tokens,
  tallyAcquire,
  tokensOf,
} from './quorum.js';
import { acquireScript, extendScript, raiseFenceScript, releaseScript } from './scripts.js';

/** A successful attempt: the lock is held on a majority until `validUntil`. */
export interface Granted {
  ok: true;
  /** Fencing token per resource: the highest counter of the majority, written back to one. */
  tokens: Tokens;
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
  /**
   * The line node failed to answer and the line moved to another node: retry soon (there, in
   * line), not after the delay out of line, where no release would wake the caller.
   */
  lineMoved?: boolean;
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
  readonly line: LineRequest | undefined;
  /** Attempts made so far (counted by the caller's retry loop, which reports them). */
  attempts: number;
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

/** One or more sets of connections, each with one connection per node (see {@link Redlock}). */
export type Lanes = readonly [readonly RedisClient[], ...(readonly RedisClient[])[]];

/** What a quorum of grants took: each node's tokens, and the nodes that granted. */
type AcquireTally = ReturnType<typeof tallyAcquire>;

/**
 * The Redlock algorithm over N independent nodes: one Lua script per node per step, a
 * majority (N/2+1) for success, validity measured on the monotonic clock.
 */
export class Redlock {
  readonly quorum: number;
  /** The first lane: one connection per node. */
  readonly clients: readonly RedisClient[];
  readonly #lanes: Lanes;
  readonly #defaultCall: CommandOptions;
  readonly #nodeTimeoutMs: number;
  readonly #driftFactor: number;
  readonly #channel: string;
  /** The fair line (undefined: turned off). */
  readonly #fairLine: FairLine | undefined;

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
    lanes: Lanes,
    nodeTimeoutMs: number,
    driftFactor: number,
    channel: string,
    fairLine: FairLine | undefined,
  ) {
    this.#lanes = lanes;
    this.#nodeTimeoutMs = nodeTimeoutMs;
    this.#driftFactor = driftFactor;
    this.#channel = channel;
    this.#fairLine = fairLine;
    this.clients = lanes[0];
    this.quorum = Math.floor(this.clients.length / 2) + 1;
    this.#defaultCall = { timeoutMs: Math.max(1, nodeTimeoutMs) };
  }

  /** The lane of a lock whose first key is `key`. */
  lane(key: string): readonly RedisClient[] {
    const lanes = this.#lanes;
    if (lanes.length === 1) return lanes[0];
    // FNV-1a over the UTF-16 code units: cheap, and spreads similar names.
    let h = 0x811c9dc5;
    for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
    return lanes[(h >>> 0) % lanes.length] ?? lanes[0];
  }

  /** The drift allowance for a TTL: ttl × driftFactor + 2 ms. */
  drift(ttlMs: number): number {
    return ttlMs * this.#driftFactor + 2;
  }

  /** Until when a lock (or an extension) whose commands were sent at `startedAt` is valid. */
  validUntil(startedAt: number, ttlMs: number): number {
    return startedAt + ttlMs - this.drift(ttlMs);
  }

  /** A node call's deadline: nodeTimeoutMs, never more than the TTL. */
  #call(ttlMs: number): CommandOptions {
    return ttlMs >= this.#nodeTimeoutMs ? this.#defaultCall : { timeoutMs: Math.max(1, ttlMs) };
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
    const fairLine = this.#fairLine;
    return {
      nodes: this.lane(keys[0]),
      keys,
      value,
      ttlMs,
      argv,
      line: fairLine === undefined ? undefined : lineRequest(fairLine, keys, value, ttlMs, leaseMs),
      attempts: 0,
    };
  }

  /** The request's line, on the node keeping it now; undefined while no node can. */
  #lineUp(request: AcquireRequest): LineRequest | undefined {
    const line = request.line;
    if (line === undefined || this.#fairLine === undefined) return undefined;
    const node = this.#fairLine.pick(line.primary);
    if (node === undefined) return undefined;
    line.node = node;
    return line;
  }

  /** The connection to the node keeping the request's line now; undefined while no node can. */
  #lineClient(request: AcquireRequest): RedisClient | undefined {
    const line = this.#lineUp(request);
    return line === undefined ? undefined : request.nodes[line.node];
  }

  /** One node's (`client`, the `i`th) acquire call: the line script on the line node while the line is up. */
  #acquireOn(
    request: AcquireRequest,
    client: RedisClient,
    i: number,
    line: LineRequest | undefined,
    call: CommandOptions,
    resend?: () => boolean,
  ) {
    type Reply = number | unknown[] | string;
    if (line === undefined) return acquireScript.run<Reply>(client, request.keys, request.argv, call, resend);
    if (i !== line.node)
      return acquireScript.run<Reply>(client, request.keys, line.argvNoMarker, call, resend);
    const argv = [request.value, String(request.ttlMs), '0', line.leaseMs, line.score, line.join ? '1' : '0'];
    return lineAcquireScript.run<unknown[] | string>(client, line.keys, argv, call, resend);
  }

  /** What the line node answered to an attempt: its place for the caller, or it failed (line down). */
  #lineAnswer(line: LineRequest | undefined, reply: NodeReply<unknown> | undefined): LineAnswer | undefined {
    if (line === undefined || reply === undefined) return undefined;
    if (!reply.ok) {
      if (!isInfrastructureError(reply.error, 'INVALID_ARGUMENT')) this.#fairLine?.markDown(line.node);
      return undefined;
    }
    const place = parseLineAnswer(reply.value);
    if (place !== undefined && place.rank >= 0) line.score = place.score;
    return place;
  }

  /**
   * Whether the line node of this attempt is down now (#lineAnswer marked it so when it failed to
   * answer) and another node keeps the line.
   */
  #lineMoved(line: LineRequest | undefined): boolean {
    const fairLine = this.#fairLine;
    if (line === undefined || fairLine === undefined || fairLine.isUp(line.node)) return false;
    return fairLine.pick(line.primary) !== undefined;
  }

  /**
   * A waiter's call between attempts, to its line node only: keeps its place and says whether it
   * is at the head with the lock free. Undefined when the line is down (the waiter then polls).
   */
  async lineCheck(request: AcquireRequest): Promise<LineCheck | undefined> {
    const client = this.#lineClient(request);
    const line = request.line;
    if (client === undefined || line === undefined) return undefined;
    try {
      const reply = await lineCheckScript.run<string>(
        client,
        line.keys,
        [request.value, '', '', line.leaseMs, line.score],
        this.#call(request.ttlMs),
      );
      const check = parseLineCheck(reply);
      if (check !== undefined) line.score = check.score;
      return check;
    } catch (error) {
      rethrowUsageError(error);
      this.#fairLine?.markDown(line.node);
      return undefined;
    }
  }

  /**
   * Leaves the line (a waiter that gave up), so that the next caller does not wait behind it.
   * Failure is ignored: its lease runs out anyway.
   */
  async lineLeave(request: AcquireRequest): Promise<void> {
    const line = request.line;
    if (line === undefined || line.score === '') return;
    const client = this.#lineClient(request);
    if (client === undefined) return;
    await lineLeaveScript.run(client, line.keys, [request.value], this.#call(request.ttlMs)).catch(() => {});
  }

  /** One acquisition attempt. On failure it has already released what it took. */
  attempt(request: AcquireRequest): Promise<Granted | Refused> {
    const { nodes } = request;
    const only = nodes.length === 1 ? nodes[0] : undefined;
    return only === undefined ? this.#attemptMany(request) : this.#attemptOne(only, request);
  }

  /** N = 1: one call, no quorum bookkeeping. */
  async #attemptOne(client: RedisClient, request: AcquireRequest): Promise<Granted | Refused> {
    const { keys, ttlMs } = request;
    const startedAt = performance.now();
    const line = this.#lineUp(request);
    let reply: number | unknown[] | string;
    try {
      reply = await this.#acquireOn(request, client, 0, line, this.#call(ttlMs));
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

  /**
   * N > 1: every node is asked, and the attempt is decided as soon as a quorum granted or can no
   * longer grant; grants without a quorum (or out of turn in the fair line) are given back.
   */
  async #attemptMany(request: AcquireRequest): Promise<Granted | Refused> {
    const startedAt = performance.now();
    const quorum = this.quorum;
    const line = this.#lineUp(request);
    const call = this.#call(request.ttlMs);
    // Once the attempt is refused, its releases are queued behind the calls still out: a node that
    // answers NOSCRIPT late (restarted, flushed or new, and slow) must not be sent the acquire
    // again as EVAL, which would land after that release and keep a key nobody holds for a TTL.
    // A granted attempt's late nodes still get it: the lock is on every node that answers.
    let refused = false;
    const resend = () => !refused;
    const calls = request.nodes.map((client, i) => this.#acquireOn(request, client, i, line, call, resend));
    let replies = await gather(calls, (rs) => this.#acquireDecided(rs, line));
    // The line node's "not your turn" refuses the attempt whatever the others said; it is
    // contention (a quorum answered) or an outage like any other refusal. A refusal there with
    // nobody ahead (its key still held: a release on its way) is one node's vote like any other.
    const place = this.#lineAnswer(line, replies[line?.node ?? -1]);
    let tally = tallyAcquire(replies);
    if (tally.granted.length < quorum && tally.refused < quorum && replies.includes(undefined)) {
      // Decided without a quorum of refusals: whether the rest answer tells an outage (`quorum`)
      // from contention. They are bounded by the node deadline.
      replies = (await Promise.allSettled(calls)).map((r) =>
        r.status === 'fulfilled' ? { ok: true, value: r.value } : { ok: false, error: r.reason },
      );
      tally = tallyAcquire(replies);
    }
    const [first] = tally.granted;
    if (first === undefined || tally.granted.length < quorum || place?.ahead === true) {
      refused = true;
      const outcome = await this.#refused(request, replies, tally, place);
      // Only when the others answered (contention): when they failed too, a quick retry would
      // just fail again, and the usual delay applies.
      return outcome.reason === 'contention' && this.#lineMoved(line)
        ? { ...outcome, lineMoved: true }
        : outcome;
    }
    // Make the highest token known to a majority before handing it out, so that any later
    // majority (which overlaps this one) counts past it. Usually all counters agree already and
    // no extra round trip is made.
    const tokens = highestTokens(first, tally.granted);
    const behind = nodesBehind(request.nodes, tally, tokens);
    const current = tally.granted.length - behind.length;
    let error = tally.error;
    if (current < quorum) {
      const raised = await this.#raiseFences(request, behind, tokens, current);
      if (raised.failed > 0) error = raised.error;
      if (current + raised.done < quorum) {
        refused = true;
        return this.#refuse(request, replies, 'quorum', error, true);
      }
    }
    const validUntil = this.validUntil(startedAt, request.ttlMs);
    // Not a split vote: the quorum granted, too slowly. The retry waits its delay like any other.
    if (validUntil <= performance.now()) {
      refused = true;
      return this.#refuse(request, replies, 'validity', error, false);
    }
    // Granted by the quorum while the line node, behind the others, put us in line: leave it.
    if (place !== undefined && place.rank >= 0) void this.lineLeave(request);
    return { ok: true, tokens, validUntil };
  }

  /**
   * Whether the acquire replies so far decide the attempt: a quorum granted, or too many refused
   * or failed for one to. With the line up, its node has the last word: the outcome waits for
   * its answer (which also gives the caller its place), and its "not your turn" ends the attempt
   * (grants elsewhere are given back). A line node that does not answer is down for a while.
   */
  #acquireDecided(
    replies: readonly (NodeReply<number | unknown[] | string> | undefined)[],
    line: LineRequest | undefined,
  ): boolean {
    let yes = 0;
    let no = 0;
    for (const r of replies) {
      if (r === undefined) continue;
      if (r.ok && Array.isArray(r.value)) yes++;
      else no++;
    }
    const quorumSaid = yes >= this.quorum || no > replies.length - this.quorum;
    if (line === undefined) return quorumSaid;
    const atLine = replies[line.node];
    if (atLine === undefined) return false;
    if (atLine.ok && parseLineAnswer(atLine.value)?.ahead) return true;
    return quorumSaid;
  }

  /** An attempt without a quorum of grants, or out of turn in the line: what it took is given back. */
  #refused(
    request: AcquireRequest,
    replies: readonly (NodeReply<number | unknown[] | string> | undefined)[],
    tally: AcquireTally,
    place: LineAnswer | undefined,
  ): Refused | Promise<Refused> {
    const granted = tally.granted.length;
    if (granted === 0 && tally.failed === 0 && replies.every((r) => r !== undefined)) {
      // Every node refused: nothing of ours anywhere.
      return place === undefined ? CONTENDED : { ...CONTENDED, place };
    }
    // Contention only when a quorum answered: fewer answering is an outage, whatever they said.
    const reason = granted + tally.refused >= this.quorum ? 'contention' : 'quorum';
    // Grants that were not our turn are no split vote: the caller waits in line.
    const split = granted > 0 && place?.ahead !== true;
    return this.#refuse(request, replies, reason, tally.error, split, place);
  }

  /**
   * Raises the fencing counters of the nodes `behind` to `tokens` until, with the `current`
   * nodes (already there), a quorum knows them.
   */
  async #raiseFences(
    request: AcquireRequest,
    behind: readonly RedisClient[],
    tokens: readonly number[],
    current: number,
  ): Promise<QuorumCount> {
    const argv = tokens.map(String);
    const call = this.#call(request.ttlMs);
    const raised = await gather(
      behind.map((client) => raiseFenceScript.run<number>(client, request.keys, argv, call)),
      (rs) => current + rs.filter((r) => r?.ok).length >= this.quorum,
    );
    return count(raised, isRaised);
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
    let i = 0;
    for (const client of request.nodes) {
      const reply = replies[i++];
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
    return releaseScript.run<number>(client, keys, [value, notify ? this.#channel : ''], this.#call(ttlMs));
  }

  /** Compare-and-delete on every node. A node counts as done when every key there was ours. */
  async release(keys: LockKeys, value: string, nodes: readonly RedisClient[]): Promise<QuorumCount> {
    const n = keys.length / 3;
    const isDone = (released: number) => released === n;
    // Every node hands the lock to the head of a line it keeps: the line may have moved off a
    // node that failed to answer another process (its waiters queue on the next node), which
    // this process cannot know. Usually one node keeps a line; elsewhere the script finds none.
    const lineKeys = this.#fairLine?.keysOf(keys);
    const call = this.#call(this.#nodeTimeoutMs);
    const replies = await gather(
      nodes.map((c) =>
        lineKeys !== undefined
          ? lineReleaseScript.run<number>(c, lineKeys, [value, this.#channel], call)
          : this.#releaseOn(c, keys, value, this.#nodeTimeoutMs),
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

/** The line part of the request of a one-resource lock (undefined for several: they poll). */
function lineRequest(
  fairLine: FairLine,
  keys: LockKeys,
  value: string,
  ttlMs: number,
  leaseMs: number,
): LineRequest | undefined {
  const lineKeys = fairLine.keysOf(keys);
  if (lineKeys === undefined) return undefined;
  const node = fairLine.nodeOf(keys);
  return {
    primary: node,
    node,
    keys: lineKeys,
    argvNoMarker: [value, String(ttlMs), '0'],
    leaseMs: String(leaseMs),
    score: '',
    join: true,
  };
}

/** The highest fencing token per resource among the grants (`first` among them; each holds one per resource). */
function highestTokens(first: Tokens, granted: readonly Tokens[]): Tokens {
  const tokens: Tokens = [...first];
  for (const grant of granted) {
    let r = 0;
    for (const token of grant) {
      if (token > (tokens[r] ?? token)) tokens[r] = token;
      r++;
    }
  }
  return tokens;
}

/** The connections to the granting nodes whose counter of some resource is below `tokens`. */
function nodesBehind(
  nodes: readonly RedisClient[],
  tally: AcquireTally,
  tokens: readonly number[],
): RedisClient[] {
  const behind: RedisClient[] = [];
  let g = 0;
  for (const grant of tally.granted) {
    const client = nodes[tally.grantedAt[g++] ?? -1];
    if (client !== undefined && grant.some((t, r) => t < (tokens[r] ?? t))) behind.push(client);
  }
  return behind;
}

/** A raise of the fencing counters answered (it always answers 1). */
const isRaised = (): boolean => true;
