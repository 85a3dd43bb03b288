import type { RedisClient } from '@voelgoed/redis';

/** A waiter's place in line for some lock keys (see {@link ReleaseNotifier.enter}). */
export interface WaitTicket {
  readonly keys: readonly string[];
  /** The owner value of a waiter in a fair line: a hand-off names it. */
  readonly value: string | undefined;
  /** Set while the waiter sleeps: ends the sleep (true = woken by a release). */
  resume: ((woken: boolean) => void) | undefined;
  /** A release came while this (first in line) waiter was busy with an attempt: try again at once. */
  missed: boolean;
  /**
   * Woken (or `missed` set) because a subscription was just confirmed, not by a release: the
   * attempt that follows re-checks for a release published before it, and uses up no retry.
   */
  recheck: boolean;
}

/** A subscription being opened or open (resolves its unsubscribe; undefined if it failed). */
type Subscription = Promise<(() => Promise<void>) | undefined>;

/** One node's subscriptions: to the shared channel, then to this manager's own channel. */
interface NodeSubscriptions {
  readonly client: RedisClient;
  readonly open: [Subscription | undefined, Subscription | undefined];
  /** When each last failed (performance.now(); -Infinity: never). */
  readonly failedAt: [number, number];
}

/** How long a subscription that failed is left alone before it is tried again, ms. */
const RESUBSCRIBE_AFTER_MS = 1000;
/** How long `close()` waits for the subscriptions to be closed (opened or still opening), ms. */
const CLOSE_WAIT_MS = 1000;

/**
 * Fast hand-off: waiters for a lock key park here, and a release published on the channel (by
 * the release script, only when a waiter left a marker) wakes them at once instead of after
 * their retry delay. One subscription per node, opened at the first contention; waiters never
 * wait for it (they still poll), so a node that is down costs nothing. A release published before
 * the first subscription of a kind is confirmed reaches nobody here: once one is, the waiters that
 * may have missed a release are woken to try once more.
 */
export class ReleaseNotifier {
  readonly #waiters = new Map<string, Set<WaitTicket>>();
  /** Waiters in a fair line, by owner value. */
  readonly #inLine = new Map<string, WaitTicket>();
  readonly #nodes: readonly NodeSubscriptions[];
  readonly #channel: string;
  readonly #ownChannel: string;
  readonly #lastRelease = new Map<string, string>();
  /** Whether a subscription of each kind (shared channel, own channel) was ever confirmed. */
  readonly #confirmed = [false, false];
  #closed = false;

  /**
   * @param channel the channel every release that finds a waiter marker publishes on.
   * @param ownChannel this manager's own channel, on which a line node hands the lock to the
   *   head of a fair line when that waiter is this manager's (so one process wakes, not all).
   */
  constructor(clients: readonly RedisClient[], channel: string, ownChannel: string) {
    // Never failed: -Infinity, not 0 (performance.now() starts near 0 in a fresh process, and
    // "failed at 0" kept every subscription away during the process's first second).
    this.#nodes = clients.map((client) => ({
      client,
      open: [undefined, undefined],
      failedAt: [Number.NEGATIVE_INFINITY, Number.NEGATIVE_INFINITY],
    }));
    this.#channel = channel;
    this.#ownChannel = ownChannel;
  }

  /**
   * Opens the subscriptions not open yet (on nodes that are up) and returns at once: to the
   * shared channel for waiters out of line, to the manager's own channel for waiters in line.
   */
  ensureSubscribed(inLine: boolean): void {
    if (this.#closed) return;
    const which = inLine ? 1 : 0;
    const channel = inLine ? this.#ownChannel : this.#channel;
    const now = performance.now();
    for (const { client, open: subscriptions, failedAt } of this.#nodes) {
      if (subscriptions[which] !== undefined) continue;
      if (client.state !== 'ready' || now - failedAt[which] < RESUBSCRIBE_AFTER_MS) continue;
      subscriptions[which] = client
        .subscribe(channel, (message) => this.#onMessage(message))
        .then(
          (unsubscribe) => {
            if (this.#closed) {
              // Confirmed after close() gave up waiting for it: closed here, or it would stay open.
              unsubscribe().catch(() => {});
              return undefined;
            }
            this.#onConfirmed(which);
            return unsubscribe;
          },
          () => {
            failedAt[which] = performance.now();
            subscriptions[which] = undefined;
            return undefined;
          },
        );
    }
  }

  /**
   * The first subscription of a kind is confirmed: a release published before it reached nobody
   * here, so the waiters that may have missed one try once more (the first waiter per lock key out
   * of line, every waiter in line: only the head's attempt can succeed, the others' are refused).
   */
  #onConfirmed(which: 0 | 1): void {
    if (this.#confirmed[which] || this.#closed) return;
    this.#confirmed[which] = true;
    const recheck = (ticket: WaitTicket) => {
      ticket.recheck = true;
      wake(ticket);
    };
    if (which === 1) {
      for (const ticket of this.#inLine.values()) recheck(ticket);
      return;
    }
    for (const tickets of this.#waiters.values()) {
      for (const first of tickets) {
        recheck(first);
        break;
      }
    }
  }

  /**
   * A message is `<lock key>\n<owner value>`, which each node publishes once per release, or
   * `\x01<head value>\n<lock key>`, the line node's hand-off to the head of the line.
   */
  #onMessage(message: string): void {
    if (message.charCodeAt(0) === 1) {
      const end = message.indexOf('\n');
      const ticket = this.#inLine.get(message.slice(1, end < 0 ? undefined : end));
      if (ticket !== undefined) wake(ticket);
      return;
    }
    const at = message.lastIndexOf('\n');
    if (at < 0) return;
    const key = message.slice(0, at);
    const value = message.slice(at + 1);
    // The same release arrives from every node: wake for the first copy only.
    if (this.#lastRelease.get(key) === value) return;
    if (this.#lastRelease.size >= 10_000) this.#lastRelease.clear();
    this.#lastRelease.set(key, value);
    this.#wakeOne(key);
  }

  /**
   * Hands a release of `key` to the first waiter in line in this process, and only to it: waking
   * more would only make them race each other (and burn their retries). When that waiter is busy
   * with an attempt (which may have reached a node before the release), it is told to try again
   * at once should the attempt fail. Waiters further back still poll at their retry delay.
   */
  #wakeOne(key: string): void {
    const tickets = this.#waiters.get(key);
    if (!tickets) return;
    for (const first of tickets) {
      wake(first);
      return;
    }
  }

  /**
   * Takes a place in line for `keys` (lock keys) and keeps it across attempts, so a waiter whose
   * poll found the lock held again is not sent to the back. Call {@link leave} when done.
   */
  enter(keys: readonly string[], value?: string): WaitTicket {
    const ticket: WaitTicket = { keys, value, resume: undefined, missed: false, recheck: false };
    if (value !== undefined) this.#inLine.set(value, ticket);
    for (const key of keys) {
      let tickets = this.#waiters.get(key);
      if (!tickets) {
        tickets = new Set();
        this.#waiters.set(key, tickets);
      }
      tickets.add(ticket);
    }
    return ticket;
  }

  /** Gives up the place in line. */
  leave(ticket: WaitTicket): void {
    ticket.resume?.(false);
    if (ticket.value !== undefined) this.#inLine.delete(ticket.value);
    for (const key of ticket.keys) {
      const tickets = this.#waiters.get(key);
      if (tickets?.delete(ticket) && tickets.size === 0) this.#waiters.delete(key);
    }
  }

  /**
   * Sleeps until a release of one of the ticket's keys wakes it, `ms` pass, or `signal` aborts,
   * whichever comes first. Resolves true when woken by a release.
   */
  wait(ticket: WaitTicket, ms: number, signal: AbortSignal | undefined): Promise<boolean> {
    if (ticket.missed) {
      ticket.missed = false;
      return Promise.resolve(true);
    }
    return new Promise<boolean>((resolve) => {
      const finish = (woken: boolean) => {
        if (ticket.resume !== finish) return;
        ticket.resume = undefined;
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        resolve(woken);
      };
      const onAbort = () => finish(false);
      ticket.resume = finish;
      const timer = setTimeout(() => finish(false), ms);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /**
   * Wakes every waiter and closes the subscriptions, within {@link CLOSE_WAIT_MS} in all: a
   * subscription still being opened on a paused node may never settle, and an unsubscribe sent to
   * one never gets its answer. Those are left to the client's own close (or its owner's).
   */
  async close(): Promise<void> {
    this.#closed = true;
    for (const tickets of [...this.#waiters.values()])
      for (const ticket of [...tickets]) ticket.resume?.(false);
    const open = this.#nodes.flatMap((node) => node.open).filter((s) => s !== undefined);
    if (open.length === 0) return;
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, CLOSE_WAIT_MS);
    });
    const unsubscribe = async (s: Subscription) => (await s)?.();
    await Promise.race([Promise.allSettled(open.map(unsubscribe)), late]);
    clearTimeout(timer);
  }
}

/** Ends a waiter's sleep as woken by a release, or (busy with an attempt) makes it try again at once. */
function wake(ticket: WaitTicket): void {
  if (ticket.resume) ticket.resume(true);
  else ticket.missed = true;
}
