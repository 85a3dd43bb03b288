import type { LockKeys } from './keys.js';

/** A waiter's place in a resource's line, as its line node answered. */
export interface LinePlace {
  /** Arrival score on the line node (µs on its clock), sent back on every later call. */
  score: string;
  /** Waiters ahead of this one (0 = head of the line). */
  rank: number;
}

/** The line node's refusal of an attempt: the caller's place, and whether it is its turn. */
export interface LineAnswer extends LinePlace {
  /** Another waiter is before the caller: not its turn, whatever the other nodes granted. */
  ahead: boolean;
}

/** A waiter's check between attempts: its place, and whether the lock key is unset. */
export interface LineCheck extends LinePlace {
  free: boolean;
}

/** How long a line node that failed to answer is left out of the line (attempts poll meanwhile), ms. */
const LINE_DOWN_MS = 1000;

/**
 * Where the fair line of a resource lives and whether that node is answering. The line of a
 * resource is on one node (chosen by a hash of its lock key), so one answer decides the order;
 * the lock itself is still the quorum of SET NX on every node, so a line that is lost, stale or
 * on a node that is down costs speed (acquires fall back to polling), never safety.
 */
export class FairLine {
  readonly #nodeCount: number;
  readonly #downUntil: number[];

  constructor(nodeCount: number) {
    this.#nodeCount = nodeCount;
    this.#downUntil = new Array<number>(nodeCount).fill(0);
  }

  /** Index of the node that keeps the line of the lock whose keys are `keys`. */
  nodeOf(keys: LockKeys): number {
    if (this.#nodeCount === 1) return 0;
    const key = keys[0];
    // FNV-1a, as for lanes, on a different seed so line nodes do not follow lanes.
    let h = 0x01000193;
    for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
    return (h >>> 0) % this.#nodeCount;
  }

  /**
   * The five keys of the line scripts (lock key, fencing counter, waiter marker, line, leases)
   * for a one-resource lock; undefined for several resources (they do not queue, they poll).
   * The line keys take the lock key's namespace letter `l` → `q`/`e`, keeping its hash tag.
   */
  keysOf(keys: LockKeys): string[] | undefined {
    if (keys.length !== 3) return undefined;
    const [lock, fence, marker] = keys as readonly [string, string, string];
    // The lock and fencing keys differ only in their namespace letter, right after the head.
    let at = 0;
    while (at < lock.length && lock.charCodeAt(at) === fence.charCodeAt(at)) at++;
    const head = lock.slice(0, at);
    const rest = lock.slice(at + 1);
    return [lock, fence, marker, `${head}q${rest}`, `${head}e${rest}`];
  }

  /**
   * The node that keeps the line now: the lock's own line node (`primary`) while it answers,
   * else the next one that does, so a line node that is down moves the line (which starts
   * again from the waiters' old arrival scores) instead of leaving everyone to poll.
   * Undefined when none is answering.
   */
  pick(primary: number): number | undefined {
    for (let k = 0; k < this.#nodeCount; k++) {
      const node = (primary + k) % this.#nodeCount;
      if (this.isUp(node)) return node;
    }
    return undefined;
  }

  isUp(node: number): boolean {
    // A node never marked down (and any index past the nodes) is up.
    const until = this.#downUntil[node] ?? 0;
    return until === 0 || performance.now() >= until;
  }

  markDown(node: number): void {
    this.#downUntil[node] = performance.now() + LINE_DOWN_MS;
  }

  markUp(node: number): void {
    this.#downUntil[node] = 0;
  }
}

/** Splits a line script's `"<score> <rank> <flag>"`; undefined for anything else. */
function splitLineReply(reply: unknown): { score: string; rank: number; flag: boolean } | undefined {
  if (typeof reply !== 'string') return undefined;
  const [score, rank, flag] = reply.split(' ');
  if (!score || rank === undefined) return undefined;
  return { score, rank: Number(rank), flag: flag === '1' };
}

/** The line acquire script's refusal (`"<score> <rank> <ahead>"`). */
export function parseLineAnswer(reply: unknown): LineAnswer | undefined {
  const parts = splitLineReply(reply);
  return parts && { score: parts.score, rank: parts.rank, ahead: parts.flag };
}

/** The line check script's reply (`"<score> <rank> <free>"`). */
export function parseLineCheck(reply: unknown): LineCheck | undefined {
  const parts = splitLineReply(reply);
  return parts && { score: parts.score, rank: parts.rank, free: parts.flag };
}
