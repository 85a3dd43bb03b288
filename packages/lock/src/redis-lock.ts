import { randomBytes } from 'node:crypto';
import {
  type AcquireOptions,
  boundedHealth,
  checkHealth,
  closedHealth,
  type DistributedLock,
  errorCodeOf,
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
import { type Resources, toResources } from './caller-input.js';
import { invalidArgument, LockNotAcquiredError, lockLost } from './errors.js';
import { events } from './events.js';
import { FairLine } from './fair-line.js';
import { lockKeys, lockKeysOnly } from './keys.js';
import { RedisLockHandle } from './lock-handle.js';
import {
  type AcquirePolicy,
  isArray,
  MAX_DELAY_MS,
  type RedisLockOptions,
  type ResolvedLockOptions,
  readLockOptions,
  resolveAcquire,
  resolveLockOptions,
  resolveWithLock,
} from './options.js';
import type { Tokens } from './quorum.js';
import { type AcquireRequest, type Granted, type Lanes, Redlock, type Refused } from './redlock.js';
import { ReleaseNotifier, type WaitTicket } from './release-notifier.js';
import { Watchdog } from './watchdog.js';

/** The trace channel around each acquire (nothing is built when nobody subscribes). */
const acquireTrace = traceChannel(TraceChannels.lockAcquire);

/** Size of the map of live handles at which handles past their validity are forgotten. */
const SWEEP_LIVE_AT = 10_000;

/** How long a line met by an acquire makes later acquires of the same lock queue first, ms. */
const LINE_SEEN_MS = 1000;

/** How long `close()` takes at most, all its steps together, ms. */
const CLOSE_TIMEOUT_MS = 2000;

/** A grant whose validity ran out on the way back, given back: a refusal like any other. */
const RAN_OUT: Refused = Object.freeze({ ok: false, reason: 'validity', split: false, error: undefined });

/**
 * Redlock over N independent Redis masters (N = 1, 3, 5, …), or over one Cluster or Sentinel
 * deployment, implementing the contracts' `DistributedLock`. Create it with {@link createRedisLock}.
 */
export class RedisLock implements DistributedLock {
  readonly #options: ResolvedLockOptions;
  /** Every connection: the clients given, or all that were created from `urls`. */
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
  #closing: Promise<void> | undefined;
  #warm: Promise<void> | undefined;
  #isWarm = false;

  constructor(given: RedisLockOptions) {
    if (typeof given !== 'object' || given === null) throw invalidArgument('options must be an object');
    // Read once, field by field: a throwing getter or a revoked Proxy is INVALID_ARGUMENT (with
    // what it threw as the cause), and nothing read later can change under us.
    const options = readLockOptions(given);
    const o = resolveLockOptions(options);
    this.#options = o;
    const { clients, urls } = options;
    if ((clients === undefined) === (urls === undefined)) {
      throw invalidArgument('give either clients or urls (one per independent Redis master)');
    }
    this.#owned = clients === undefined;
    const lanes = clients === undefined ? lanesOfUrls(urls, options, o) : lanesOfClients(clients);
    const nodes = lanes[0];
    this.#clients = this.#owned ? lanes.flat() : nodes;
    this.#hashTags =
      o.hashTags === 'auto' ? this.#clients.some((c) => c.deployment === 'cluster') : o.hashTags;
    const fairLine = o.fairLine ? new FairLine(nodes.length) : undefined;
    this.#redlock = new Redlock(lanes, o.nodeTimeoutMs, o.driftFactor, o.channel, fairLine);
    // The line node publishes a hand-off on `<channel>/<the head's value prefix>`: its owner's.
    this.#notifier = new ReleaseNotifier(nodes, o.channel, `${o.channel}/${this.#valuePrefix.slice(0, -1)}`);
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
    return this.#acquire(resources, resolveAcquire(this.#options, ttlMs, options));
  }

  /** An acquire, inside a span of the trace channel when someone subscribes to it. */
  #acquire(resources: Resources, policy: AcquirePolicy): Promise<RedisLockHandle> {
    if (!acquireTrace.hasSubscribers) return this.#acquireReported(resources, policy, undefined);
    return traced(
      acquireTrace,
      () => ({ resources, ttlMs: policy.ttlMs, nodes: this.#redlock.clients.length }),
      (trace) => this.#acquireReported(resources, policy, trace),
    );
  }

  /**
   * The steps of an acquire: one request (keys, owner value) for all its attempts, the warm-up,
   * the retry loop, the handle; its outcome reported on the acquire event and the trace.
   */
  async #acquireReported(
    resources: Resources,
    policy: AcquirePolicy,
    trace: LockAcquireTrace | undefined,
  ): Promise<RedisLockHandle> {
    if (this.#closed)
      throw new LockNotAcquiredError('aborted', resources, 0, invalidArgument('the lock manager is closed'));
    if (this.#redlock.drift(policy.ttlMs) >= policy.ttlMs) {
      // start + ttl − drift is never later than the start: no attempt could ever leave validity,
      // so none is made (and no retry could change that: not retryable).
      const error = new LockNotAcquiredError('validity', resources, 0, undefined, false);
      reportNotAcquired(resources, performance.now(), 0, error, trace);
      throw error;
    }
    const keys = lockKeys(this.#options.prefix, resources, this.#hashTags);
    const value = this.#nextValue();
    const started = performance.now();
    const request = this.#redlock.request(keys, value, policy.ttlMs, policy.waiterTtlMs, policy.leaseMs);
    // The TTL clock of the first attempt must not include opening the connections.
    if (!this.#isWarm) {
      this.#warm ??= this.#warmUp();
      await this.#warm;
    }
    let granted: Granted | undefined;
    try {
      granted = await this.#attemptUntilGranted(request, resources, policy);
      const lock = this.#handOut(request, resources, granted);
      reportAcquired(resources, started, request.attempts, granted.tokens, trace);
      return lock;
    } catch (error) {
      reportNotAcquired(resources, started, request.attempts, error, trace);
      throw error;
    } finally {
      // Given up (retries spent, aborted, closed): out of the line at once, not when the lease
      // runs out. Sent before any later call of this lock on the same connection.
      if (granted === undefined && request.line !== undefined) await this.#redlock.lineLeave(request);
    }
  }

  /**
   * The retry loop: attempts until one is granted, the retries are spent, or the caller gives up
   * (signal, close()); between attempts it sleeps until a release wakes it or the delay passes.
   */
  async #attemptUntilGranted(
    request: AcquireRequest,
    resources: Resources,
    policy: AcquirePolicy,
  ): Promise<Granted> {
    const { retries, signal } = policy;
    // In a line (seen lately from this process), a newcomer queues before it tries: trying
    // first would take the lock on some nodes from under the head being handed it.
    let mustTry = request.line === undefined || !this.#lineSeen(request.keys[0]);
    let ticket: WaitTicket | undefined;
    // A re-check made once a subscription was confirmed (see ReleaseNotifier) is not counted:
    // it uses up no retry, and `attempts` stays the count of the caller's attempts.
    let recheck = false;
    try {
      for (;;) {
        if (signal?.aborted || this.#closed) throw aborted(resources, request.attempts, signal);
        if (!recheck) request.attempts++;
        const last = request.attempts > retries;
        let result = await this.#attempt(request, mustTry, last);
        if (result.ok && result.validUntil <= performance.now()) {
          // Its validity ran out on the way back (a stalled event loop): never hand out a lock
          // that is not held. Release it and try again like any refusal.
          await this.#redlock.release(request.keys, request.value, request.nodes);
          result = RAN_OUT;
        }
        if (result.ok) {
          if (!signal?.aborted && !this.#closed) return result;
          // The caller gave up meanwhile: do not leave the lock behind.
          await this.#redlock.release(request.keys, request.value, request.nodes);
          throw aborted(resources, request.attempts, signal);
        }
        if (last) throw new LockNotAcquiredError(result.reason, resources, request.attempts, result.error);
        ticket ??= this.#notifier.enter(
          lockKeysOnly(request.keys),
          request.line === undefined ? undefined : request.value,
        );
        mustTry = await this.#sleepBeforeRetry(request, result, ticket, policy);
        recheck = ticket.recheck;
        ticket.recheck = false;
      }
    } finally {
      if (ticket) this.#notifier.leave(ticket);
    }
  }

  /**
   * One attempt. In line, only the head tries, and only once the lock is free (or the line is
   * down). The last attempt is a real one, so that its refusal says what the nodes said, and
   * takes no place in line (it will not wait).
   */
  #attempt(request: AcquireRequest, mustTry: boolean, last: boolean): Promise<Granted | Refused> {
    if (request.line !== undefined) request.line.join = !last;
    return mustTry || last ? this.#redlock.attempt(request) : this.#attemptInLine(request);
  }

  /** A waiter's attempt in line: a check of its place first, a real attempt at the head with the lock free. */
  async #attemptInLine(request: AcquireRequest): Promise<Granted | Refused> {
    const check = await this.#redlock.lineCheck(request);
    if (check !== undefined && (check.rank > 0 || !check.free)) {
      return { ok: false, reason: 'contention', split: false, error: undefined, place: check };
    }
    return this.#redlock.attempt(request);
  }

  /**
   * Sleeps after a refusal until a release wakes the ticket, the delay passes or the signal
   * aborts; resolves whether the next attempt must try (in line, it may check its place first).
   */
  async #sleepBeforeRetry(
    request: AcquireRequest,
    refused: Refused,
    ticket: WaitTicket,
    policy: AcquirePolicy,
  ): Promise<boolean> {
    const { retryDelayMs, jitterMs } = policy;
    if (refused.place !== undefined) this.#sawLine(request.keys[0]);
    if (refused.reason === 'contention' && this.#options.fastHandoff)
      this.#notifier.ensureSubscribed(refused.place !== undefined);
    // After a split vote nobody holds the lock: retry soon, at a random moment so that the
    // contenders fall out of step (they were woken together).
    // After the line node failed, the line moved: queue there soon (no release wakes a caller
    // that is in no line and left no marker).
    const delay =
      refused.split || refused.lineMoved
        ? Math.random() * Math.min(retryDelayMs, 10)
        : Math.min(MAX_DELAY_MS, retryDelayMs + Math.random() * jitterMs);
    // A release missed during the attempt means "try again at once", except after a split
    // vote: then the random delay is what gets the contenders out of step.
    if (refused.split) {
      ticket.missed = false;
      ticket.recheck = false;
    }
    const woken = await this.#notifier.wait(ticket, delay, policy.signal);
    // Out of line (none, or its node is down) every wake-up and poll is an attempt; in line,
    // a hand-off (or a split vote) is, and a poll is a check of the line first.
    return refused.place === undefined || woken || refused.split;
  }

  /** The handle of a granted request, tracked (so that release(resource, value) can mark it). */
  #handOut(request: AcquireRequest, resources: Resources, granted: Granted): RedisLockHandle {
    const lock = new RedisLockHandle({
      redlock: this.#redlock,
      keys: request.keys,
      resources,
      value: request.value,
      fencingTokens: granted.tokens,
      validUntil: granted.validUntil,
      onReleased: this.#untrack,
      nodes: request.nodes,
      logger: this.#options.logger,
    });
    this.#track(lock);
    return lock;
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
    const result = await this.#redlock.release(keys, value, this.#redlock.lane(keys[0]));
    const released = result.done >= this.#redlock.quorum;
    // A handle of this manager with that value is no longer held once all its resources are released.
    const handle = released ? this.#live.get(value) : undefined;
    if (handle?.resources.every((r) => resources.includes(r))) handle.markReleased();
    events.release.publishLazy(() => ({
      resourceCount: resources.length,
      heldMs: 0,
      outcome: released ? 'released' : result.failed > 0 ? 'error' : 'not_owner',
      ...(!released && result.failed > 0 ? { errorCode: errorCodeOf(result.error) } : {}),
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
    const policy = resolveWithLock(this.#options, options);
    const { ttlMs, autoExtend } = policy;
    const lock = await this.#acquire(resources, policy);
    // Checked again here, not only when the lock was granted: fn never starts without the lock.
    if (!lock.held) {
      await lock.release();
      throw lockLost(lock.resources, 'its validity ran out before fn could start');
    }
    const controller = new AbortController();
    let lost: LockLostError | undefined;
    const watchdog = new Watchdog(
      lock,
      ttlMs,
      Math.max(1, ttlMs * this.#options.renewFraction),
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
      watchdog.stopChecked();
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
    // One connection per node: the first lane.
    const nodes = this.#redlock.clients;
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
   * not released: they expire after their TTL. Idempotent (a second call gets the first one's
   * promise), and done within 2 s even when a node is paused: every step is bounded.
   */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    this.#closed = true;
    const deadline = performance.now() + CLOSE_TIMEOUT_MS;
    // Bounded by the notifier itself (1 s): an unsubscribe sent to a paused node is never answered.
    await this.#notifier.close();
    if (!this.#owned) return;
    // RedisClient.close() waits for the replies of commands in flight (an extend or release
    // sent to a paused, SIGSTOPped node never gets one): do not let one such node hang close().
    const left = Math.max(1, deadline - performance.now());
    const timeoutMs = Math.max(1, Math.min(this.#options.nodeTimeoutMs, left));
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.allSettled(this.#clients.map((c) => c.close({ timeoutMs }))),
      new Promise((resolve) => {
        timer = setTimeout(resolve, left);
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

/** What the lock calls on a client: anything without them would fail later with a TypeError. */
const CLIENT_METHODS = ['command', 'subscribe', 'ready', 'health'] as const;

/**
 * The clients given, as the one lane: they are the caller's, used as they are. Each must look
 * like a `RedisClient` of `@voelgoed/redis` (have the methods the lock calls).
 */
function lanesOfClients(clients: readonly RedisClient[]): Lanes {
  if (!isArray(clients, 'clients') || clients.length === 0)
    throw invalidArgument('clients must be a non-empty array');
  const lane = clients.slice();
  for (const client of lane) {
    let missing: string | undefined;
    try {
      if (typeof client !== 'object' || client === null) missing = 'an object';
      else missing = CLIENT_METHODS.find((m) => typeof client[m] !== 'function');
    } catch (error) {
      throw invalidArgument('clients must be RedisClients of @voelgoed/redis: one could not be read', error);
    }
    if (missing !== undefined) {
      throw invalidArgument(
        `clients must be RedisClients of @voelgoed/redis (one has no ${missing === 'an object' ? 'object' : `${missing}()`})`,
      );
    }
  }
  return [lane];
}

/**
 * Creates `connectionsPerNode` lanes of clients over `urls` (see {@link Redlock}). A client
 * connects as it is created: when a later url is malformed, every client made so far is closed.
 */
function lanesOfUrls(
  urls: readonly string[] | undefined,
  options: RedisLockOptions,
  resolved: ResolvedLockOptions,
): Lanes {
  if (!isArray(urls, 'urls') || urls.length === 0) throw invalidArgument('urls must be a non-empty array');
  for (const url of urls) {
    if (typeof url !== 'string' || url === '') throw invalidArgument('urls must be non-empty strings');
  }
  const created: RedisClient[] = [];
  const createLane = (extra: { logger?: ResolvedLockOptions['logger'] }): RedisClient[] => {
    const lane: RedisClient[] = [];
    for (const url of urls) {
      const client = createRedisClient({ ...extra, ...options.clientOptions, url });
      // Known at once, so that a later url's error closes it too (it is connecting already).
      created.push(client);
      lane.push(client);
    }
    return lane;
  };
  try {
    // Only the first lane logs its reconnects: one line per node, not per connection.
    const lanes: [RedisClient[], ...RedisClient[][]] = [createLane({ logger: resolved.logger })];
    for (let l = 1; l < resolved.connectionsPerNode; l++) lanes.push(createLane({}));
    return lanes;
  } catch (error) {
    for (const c of created) void c.close();
    throw error;
  }
}

/** Why an acquire gave up while waiting: its signal aborted, or the lock manager was closed. */
function aborted(
  resources: Resources,
  attempts: number,
  signal: AbortSignal | undefined,
): LockNotAcquiredError {
  return new LockNotAcquiredError('aborted', resources, attempts, signal?.reason);
}

function publishAcquire(
  resources: Resources,
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

/** Reports a granted acquire on `voelgoed:lock:acquire` and its trace (when there is one). */
function reportAcquired(
  resources: Resources,
  started: number,
  attempts: number,
  tokens: Tokens,
  trace: LockAcquireTrace | undefined,
): void {
  if (events.acquire.enabled) publishAcquire(resources, started, attempts, 'acquired');
  if (trace !== undefined) {
    trace.attempts = attempts;
    trace.fencingTokens = tokens;
    trace.outcome = 'acquired';
  }
}

/** Reports an acquire that gave up (`timeout`) or failed (`error`) on the event and its trace. */
function reportNotAcquired(
  resources: Resources,
  started: number,
  attempts: number,
  error: unknown,
  trace: LockAcquireTrace | undefined,
): void {
  const outcome = error instanceof LockNotAcquiredError ? 'timeout' : 'error';
  if (events.acquire.enabled) publishAcquire(resources, started, attempts, outcome, errorCodeOf(error));
  if (trace !== undefined) {
    trace.attempts = attempts;
    trace.outcome = outcome;
    if (error instanceof LockNotAcquiredError) trace.reason = error.reason;
    trace.errorCode = errorCodeOf(error);
  }
}
