import { randomBytes } from 'node:crypto';
import {
  type AcquireOptions,
  boundedHealth,
  checkHealth,
  closedHealth,
  type DistributedLock,
  HEALTH_TIMEOUT_MS,
  type HealthReport,
  type Lock,
  type LockAcquireTrace,
  type LockLostError,
  TraceChannels,
  traceChannel,
  traced,
  type WithLockOptions,
} from '@voelgoed/contracts';
import { createRedisClient, type RedisClient } from '@voelgoed/redis';
import { checkSignal, readOptions, toResources } from './caller-input.js';
import { invalidArgument, LockNotAcquiredError, lockLost } from './errors.js';
import { codeOf, events } from './events.js';
import { FairLine } from './fair-line.js';
import { lockKeys, lockKeysOnly } from './keys.js';
import { RedisLockHandle } from './lock-handle.js';
import {
  checkDelay,
  checkRetries,
  checkTtl,
  MAX_DELAY_MS,
  type RedisLockOptions,
  type ResolvedLockOptions,
  resolveLockOptions,
} from './options.js';
import { type Granted, Redlock, type Refused } from './redlock.js';
import { ReleaseNotifier, type WaitTicket } from './release-notifier.js';
import { Watchdog } from './watchdog.js';

/** The trace channel around each acquire (nothing is built when nobody subscribes). */
const acquireTrace = traceChannel(TraceChannels.lockAcquire);

/** Size of the map of live handles at which handles past their validity are forgotten. */
const SWEEP_LIVE_AT = 10_000;

function reportAcquire(
  resources: readonly string[],
  started: number,
  attempts: number,
  outcome: 'acquired' | 'timeout' | 'error',
  errorCode?: string,
): void {
  events.acquire.publish({
    resourceCount: resources.length,
    waitMs: performance.now() - started,
    attempts,
    outcome,
    ...(errorCode === undefined ? {} : { errorCode }),
  });
}

/** Longest lease of a place in the fair line, ms: how long a waiter that died can hold up the line. */
const MAX_LEASE_MS = 5000;

/** How long a line met by an acquire makes later acquires of the same lock queue first, ms. */
const LINE_SEEN_MS = 1000;

/** How long `close()` waits for the clients it owns to close, ms. */
const CLOSE_TIMEOUT_MS = 2000;

/** The fields of `acquire`'s options. */
const ACQUIRE_FIELDS = ['retries', 'retryDelayMs', 'jitterMs', 'signal'] as const;

/** How one `acquire` retries, its arguments checked. */
interface AcquirePolicy {
  retries: number;
  retryDelayMs: number;
  jitterMs: number;
  signal: AbortSignal | undefined;
}

/**
 * Redlock over N independent Redis masters (N = 1, 3, 5, …), or over one Cluster or Sentinel
 * deployment, implementing the contracts' `DistributedLock`. Create it with {@link createRedisLock}.
 */
export class RedisLock implements DistributedLock {
  readonly #options: ResolvedLockOptions;
  readonly #clients: readonly RedisClient[];
  readonly #owned: boolean;
  readonly #redlock: Redlock;
  readonly #notifier: ReleaseNotifier;
  readonly #hashTags: boolean;
  /** Handles handed out and not yet released, by owner value (so release(resource, value) can mark them). */
  readonly #live = new Map<string, RedisLockHandle>();
  readonly #untrack = (handle: RedisLockHandle): void => {
    if (this.#live.get(handle.value) === handle) this.#live.delete(handle.value);
  };
  #sweepAt = SWEEP_LIVE_AT;
  /** Lock keys whose line an acquire of this process met lately, until when (performance.now()). */
  readonly #linesSeen = new Map<string, number>();
  readonly #valuePrefix = `${randomBytes(12).toString('base64url')}:`;
  #counter = 0;
  #closed = false;
  #warm: Promise<void> | undefined;
  #isWarm = false;

  constructor(options: RedisLockOptions) {
    if (typeof options !== 'object' || options === null) throw invalidArgument('options must be an object');
    this.#options = resolveLockOptions(options);
    const { clients, urls } = options;
    if ((clients === undefined) === (urls === undefined)) {
      throw invalidArgument('give either clients or urls (one per independent Redis master)');
    }
    let lanes: RedisClient[][];
    if (clients !== undefined) {
      if (!Array.isArray(clients) || clients.length === 0)
        throw invalidArgument('clients must be a non-empty array');
      this.#clients = clients.slice();
      lanes = [this.#clients.slice()];
      this.#owned = false;
    } else {
      if (!Array.isArray(urls) || urls.length === 0) throw invalidArgument('urls must be a non-empty array');
      for (const url of urls) {
        if (typeof url !== 'string' || url === '') throw invalidArgument('urls must be non-empty strings');
      }
      // Create them all first: a malformed URL throws before any connection is opened.
      const created: RedisClient[] = [];
      lanes = [];
      try {
        for (let l = 0; l < this.#options.connectionsPerNode; l++) {
          const lane: RedisClient[] = [];
          // Only the first lane logs its reconnects: one line per node, not per connection.
          const logger = l === 0 ? { logger: this.#options.logger } : {};
          for (const url of urls) lane.push(createRedisClient({ ...logger, ...options.clientOptions, url }));
          created.push(...lane);
          lanes.push(lane);
        }
      } catch (error) {
        for (const c of created) void c.close();
        throw error;
      }
      this.#clients = created;
      this.#owned = true;
    }
    const o = this.#options;
    this.#hashTags =
      o.hashTags === 'auto' ? this.#clients.some((c) => c.target.startsWith('cluster(')) : o.hashTags;
    this.#redlock = new Redlock(
      lanes,
      o.nodeTimeoutMs,
      o.driftFactor,
      o.channel,
      o.fairLine ? new FairLine(lanes[0]!.length) : undefined,
    );
    // The line node publishes a hand-off on `<channel>/<the head's value prefix>`: its owner's.
    this.#notifier = new ReleaseNotifier(
      lanes[0]!,
      o.channel,
      `${o.channel}/${this.#valuePrefix.slice(0, -1)}`,
    );
  }

  /** Number of nodes a lock must be held on: N/2+1. */
  get quorum(): number {
    return this.#redlock.quorum;
  }

  /**
   * Takes the lock on `resource` (or on all of `resources`, all or nothing) for `ttlMs`.
   * Rejects with {@link LockNotAcquiredError} (a `LockTimeoutError`, code `LOCK_TIMEOUT`, with
   * `reason` contention/quorum/validity/aborted) once the retries are spent or the signal aborts,
   * and with `InvalidArgumentError` for bad input. The lock is never handed out already expired.
   */
  acquire(resource: string | readonly string[], ttlMs?: number, options?: AcquireOptions): Promise<Lock> {
    return this.acquireHandle(resource, ttlMs, options);
  }

  /** Same as {@link acquire}, typed as this package's lock handle. */
  async acquireHandle(
    resource: string | readonly string[],
    ttlMs?: number,
    options?: AcquireOptions,
  ): Promise<RedisLockHandle> {
    const resources = toResources(resource);
    const ttl = checkTtl(ttlMs, this.#options.ttlMs);
    return this.#acquire(resources, ttl, this.#policy(readOptions(options, ACQUIRE_FIELDS)));
  }

  /** The retry settings of one call: its options over the manager's defaults. */
  #policy(options: Partial<Record<(typeof ACQUIRE_FIELDS)[number], unknown>>): AcquirePolicy {
    const o = this.#options;
    return {
      retries: checkRetries(options.retries, o.retries),
      retryDelayMs: checkDelay('retryDelayMs', options.retryDelayMs, o.retryDelayMs),
      jitterMs: checkDelay('jitterMs', options.jitterMs, o.jitterMs),
      signal: checkSignal(options.signal),
    };
  }

  #acquire(resources: string[], ttl: number, policy: AcquirePolicy): Promise<RedisLockHandle> {
    if (!acquireTrace.hasSubscribers) return this.#acquireTraced(resources, ttl, policy, undefined);
    return traced(
      acquireTrace,
      () => ({ resources, ttlMs: ttl, nodes: this.#redlock.clients.length }),
      (trace) => this.#acquireTraced(resources, ttl, policy, trace),
    );
  }

  /** `#acquire`, filling the trace context's result fields when there is one. */
  async #acquireTraced(
    resources: string[],
    ttl: number,
    policy: AcquirePolicy,
    trace: LockAcquireTrace | undefined,
  ): Promise<RedisLockHandle> {
    const o = this.#options;
    const { retries, retryDelayMs, jitterMs, signal } = policy;
    if (this.#closed)
      throw new LockNotAcquiredError('aborted', resources, 0, invalidArgument('the lock manager is closed'));
    const keys = lockKeys(o.prefix, resources, this.#hashTags);
    const value = this.#nextValue();
    const started = performance.now();
    // The marker must outlive a waiter's sleep so that the release finds it.
    const waiterTtlMs = Math.ceil(Math.max(250, 2 * (retryDelayMs + jitterMs)));
    // A place in line outlives a few of the waiter's checks (one per retry delay), no more: a
    // waiter that died is skipped that much later, and never more than 5 s later (a waiter that
    // sleeps longer between checks is out of line meanwhile and comes back at its old place).
    const leaseMs = Math.ceil(Math.min(MAX_LEASE_MS, Math.max(1000, 4 * (retryDelayMs + jitterMs))));
    const request = this.#redlock.request(keys, value, ttl, waiterTtlMs, leaseMs);
    const line = request.line;
    let attempts = 0;
    let granted = false;
    let ticket: WaitTicket | undefined;
    // In a line (seen lately from this process), a newcomer queues before it tries: trying
    // first would take the lock on some nodes from under the head being handed it.
    let mustTry = line === undefined || !this.#lineSeen(keys[0]!);
    // The TTL clock of the first attempt must not include opening the connections.
    if (!this.#isWarm) {
      if (this.#warm === undefined) this.#warm = this.#warmUp();
      await this.#warm;
    }
    try {
      for (;;) {
        if (signal?.aborted || this.#closed) {
          throw new LockNotAcquiredError('aborted', resources, attempts, signal?.reason);
        }
        attempts++;
        let result: Granted | Refused | undefined;
        if (!mustTry && attempts <= retries) {
          // In line: only the head tries, and only once the lock is free (or the line is down).
          // The last attempt is a real one, so that its refusal says what the nodes said.
          const check = await this.#redlock.lineCheck(request);
          if (check !== undefined && (check.rank > 0 || !check.free)) {
            result = { ok: false, reason: 'contention', split: false, error: undefined, place: check };
          }
        }
        if (line !== undefined) line.join = attempts <= retries;
        result ??= await this.#redlock.attempt(request);
        if (result.ok && result.validUntil <= performance.now()) {
          // Its validity ran out on the way back (a stalled event loop): never hand out a lock
          // that is not held. Release it and try again like any refusal.
          await this.#redlock.release(keys, value, request.nodes);
          result = { ok: false, reason: 'validity', split: false, error: undefined };
        }
        if (result.ok) {
          if (signal?.aborted || this.#closed) {
            // The caller gave up meanwhile: do not leave the lock behind.
            await this.#redlock.release(keys, value, request.nodes);
            throw new LockNotAcquiredError('aborted', resources, attempts, signal?.reason);
          }
          const lock = new RedisLockHandle(
            this.#redlock,
            keys,
            resources,
            value,
            result.tokens,
            result.validUntil,
            this.#untrack,
            request.nodes,
            this.#options.logger,
          );
          this.#track(lock);
          if (events.acquire.enabled) reportAcquire(resources, started, attempts, 'acquired');
          if (trace !== undefined) {
            trace.attempts = attempts;
            trace.fencingTokens = result.tokens;
            trace.outcome = 'acquired';
          }
          granted = true;
          return lock;
        }
        if (attempts > retries) {
          throw new LockNotAcquiredError(result.reason, resources, attempts, result.error);
        }
        if (result.place !== undefined) this.#sawLine(keys[0]!);
        if (result.reason === 'contention' && o.fastHandoff)
          this.#notifier.ensureSubscribed(result.place !== undefined);
        // After a split vote nobody holds the lock: retry soon, at a random moment so that the
        // contenders fall out of step (they were woken together).
        const delay = result.split
          ? Math.random() * Math.min(retryDelayMs, 10)
          : Math.min(MAX_DELAY_MS, retryDelayMs + Math.random() * jitterMs);
        ticket ??= this.#notifier.enter(lockKeysOnly(keys), line === undefined ? undefined : value);
        // A release missed during the attempt means "try again at once", except after a split
        // vote: then the random delay is what gets the contenders out of step.
        if (result.split) ticket.missed = false;
        const woken = await this.#notifier.wait(ticket, delay, signal);
        // Out of line (none, or its node is down) every wake-up and poll is an attempt; in line,
        // a hand-off (or a split vote) is, and a poll is a check of the line first.
        mustTry = result.place === undefined || woken || result.split;
      }
    } catch (error) {
      if (events.acquire.enabled) {
        const outcome = error instanceof LockNotAcquiredError ? 'timeout' : 'error';
        reportAcquire(resources, started, attempts, outcome, codeOf(error));
      }
      if (trace !== undefined) {
        trace.attempts = attempts;
        trace.outcome = error instanceof LockNotAcquiredError ? 'timeout' : 'error';
        if (error instanceof LockNotAcquiredError) trace.reason = error.reason;
        trace.errorCode = codeOf(error);
      }
      throw error;
    } finally {
      if (ticket) this.#notifier.leave(ticket);
      // Given up (retries spent, aborted, closed): out of the line at once, not when the lease
      // runs out. Sent before any later call of this lock on the same connection.
      if (!granted && line !== undefined) await this.#redlock.lineLeave(request);
    }
  }

  /**
   * A fresh owner value: a random 96-bit prefix per manager and a counter, unique across
   * processes without drawing random bytes per acquisition.
   */
  #nextValue(): string {
    this.#counter++;
    return this.#valuePrefix + this.#counter.toString(36);
  }

  /** Whether an acquire of this process met a line for this lock key in the last second. */
  #lineSeen(lockKey: string): boolean {
    const until = this.#linesSeen.get(lockKey);
    if (until === undefined) return false;
    if (until > performance.now()) return true;
    this.#linesSeen.delete(lockKey);
    return false;
  }

  #sawLine(lockKey: string): void {
    if (this.#linesSeen.size >= 10_000) this.#linesSeen.clear();
    this.#linesSeen.set(lockKey, performance.now() + LINE_SEEN_MS);
  }

  #track(lock: RedisLockHandle): void {
    const live = this.#live;
    // Handles dropped without a release would pile up: past their validity they are not held
    // anyway, so forget them now and then (after the map doubled, so the sweeps stay O(1) amortised).
    if (live.size >= this.#sweepAt) {
      const now = performance.now();
      for (const [value, handle] of live) if (handle.validUntil <= now) live.delete(value);
      this.#sweepAt = Math.max(SWEEP_LIVE_AT, 2 * live.size);
    }
    live.set(lock.value, lock);
  }

  /** Waits (once, at most nodeTimeoutMs) for the clients' first connections. */
  async #warmUp(): Promise<void> {
    this.#isWarm = this.#clients.every((c) => c.state === 'ready');
    if (this.#isWarm) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.allSettled(this.#clients.map((c) => c.ready())),
      new Promise((resolve) => {
        timer = setTimeout(resolve, this.#options.nodeTimeoutMs);
      }),
    ]);
    clearTimeout(timer);
    this.#isWarm = true;
  }

  /**
   * Releases the lock on `resource` (or `resources`) if `value` still owns it on a majority of
   * nodes. Resolves whether it did; never releases someone else's lock.
   */
  async release(resource: string | readonly string[], value: string): Promise<boolean> {
    const resources = toResources(resource);
    if (typeof value !== 'string' || value === '') throw invalidArgument('value must be a non-empty string');
    const keys = lockKeys(this.#options.prefix, resources, this.#hashTags);
    const result = await this.#redlock.release(keys, value, this.#redlock.lane(keys[0]!));
    const released = result.done >= this.#redlock.quorum;
    // A handle of this manager with that value is no longer held once all its resources are released.
    const handle = released ? this.#live.get(value) : undefined;
    if (handle?.resources.every((r) => resources.includes(r))) handle.markReleased();
    events.release.publishLazy(() => ({
      resourceCount: resources.length,
      heldMs: 0,
      outcome: released ? 'released' : result.failed > 0 ? 'error' : 'not_owner',
      ...(!released && result.failed > 0 ? { errorCode: codeOf(result.error) } : {}),
    }));
    return released;
  }

  /**
   * Runs `fn` while holding the lock and releases it whatever `fn` does. The lock is renewed
   * every ttl × renewFraction ms; when it is lost (taken over, not renewable in time, validity
   * over), the signal given to `fn` aborts with a `LockLostError` and `withLock` rejects with it
   * once `fn` settles.
   */
  async withLock<T>(
    resource: string | readonly string[],
    fn: (signal: AbortSignal, lock: Lock) => Promise<T> | T,
    options?: WithLockOptions,
  ): Promise<T> {
    const resources = toResources(resource);
    if (typeof fn !== 'function') throw invalidArgument('fn must be a function');
    const o = readOptions(options, [...ACQUIRE_FIELDS, 'ttlMs', 'autoExtend']);
    const ttl = checkTtl(o.ttlMs, this.#options.ttlMs);
    const autoExtend = o.autoExtend ?? true;
    if (typeof autoExtend !== 'boolean') throw invalidArgument('autoExtend must be a boolean');
    const lock = await this.#acquire(resources, ttl, this.#policy(o));
    // Checked again here, not only when the lock was granted: fn never starts without the lock.
    if (!lock.held) {
      await lock.release();
      throw lockLost(lock.resources, 'its validity ran out before fn could start');
    }
    const controller = new AbortController();
    let lost: LockLostError | undefined;
    const watchdog = new Watchdog(
      lock,
      ttl,
      Math.max(1, ttl * this.#options.renewFraction),
      autoExtend,
      (error) => {
        lost = error;
        controller.abort(error);
      },
    );
    watchdog.start();
    let result: T;
    try {
      result = await fn(controller.signal, lock);
    } finally {
      watchdog.stop();
      await lock.release();
    }
    if (lost) throw lost;
    return result;
  }

  /**
   * `up` when every node answers a PING within a second, `degraded` when a quorum does but not
   * all, `down` below a quorum or after {@link close}. `details`: nodes, answering, quorum, and
   * each node's target and status. Never throws; answers within about a second.
   */
  async health(): Promise<HealthReport> {
    const nodes = this.#owned
      ? this.#clients.slice(0, this.#clients.length / this.#options.connectionsPerNode)
      : this.#clients;
    const target = nodes.map((c) => c.target).join(',');
    if (this.#closed) return closedHealth('lock', target);
    const quorum = this.#redlock.quorum;
    return boundedHealth(
      'lock',
      async () => {
        const started = performance.now();
        const reports = await Promise.all(nodes.map((c) => checkHealth(c, { name: 'redis' })));
        const answering = reports.filter((r) => r.status === 'up').length;
        const status = answering === nodes.length ? 'up' : answering >= quorum ? 'degraded' : 'down';
        const firstError = reports.find((r) => r.error !== undefined)?.error;
        return {
          status,
          resource: 'lock',
          target,
          latencyMs: Math.round((performance.now() - started) * 100) / 100,
          ...(status === 'up' || firstError === undefined
            ? {}
            : { error: status === 'down' ? { ...firstError, code: 'NO_QUORUM' } : firstError }),
          details: {
            nodes: nodes.length,
            answering,
            quorum,
            node: reports.map((r) => ({ target: r.target, status: r.status })),
          },
        };
      },
      { timeoutMs: HEALTH_TIMEOUT_MS + 500, target },
    );
  }

  /**
   * Stops taking new acquisitions (waiting ones reject with `LOCK_TIMEOUT`, reason `aborted`),
   * closes the pub/sub subscriptions and, when created from `urls`, the clients. Held locks are
   * not released: they expire after their TTL. Idempotent.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#notifier.close();
    if (!this.#owned) return;
    // RedisClient.close() waits for a graceful QUIT, which a paused (SIGSTOPped) server never
    // answers: do not let one such node hang close().
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.allSettled(this.#clients.map((c) => c.close({ timeoutMs: this.#options.nodeTimeoutMs }))),
      new Promise((resolve) => {
        timer = setTimeout(resolve, CLOSE_TIMEOUT_MS);
      }),
    ]);
    clearTimeout(timer);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/**
 * Creates a Redlock lock manager:
 * `createRedisLock({ urls: ['redis://a:6379', 'redis://b:6379', 'redis://c:6379'] })`.
 */
export function createRedisLock(options: RedisLockOptions): RedisLock {
  return new RedisLock(options);
}
