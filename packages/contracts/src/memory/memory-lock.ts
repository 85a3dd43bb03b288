import { randomUUID } from 'node:crypto';
import {
  isWellFormed,
  MAX_DELAY_MS,
  MAX_RESOURCE_LENGTH,
  MAX_TTL_MS,
  readList,
  readOptions,
  readSignal,
} from '../caller-input.js';
import { InvalidArgumentError, LockLostError, LockTimeoutError } from '../errors.js';
import { inMemoryHealth } from '../health-report.js';
import type { HealthReport } from '../ports/health.js';
import type { AcquireOptions, DistributedLock, Lock, WithLockOptions } from '../ports/lock.js';
import { validate } from '../validate.js';
import { type Clock, systemClock } from './clock.js';

const PREFIX = '[voelgoed:contracts]';
const DEFAULT_TTL_MS = 5000;
const ACQUIRE_FIELDS = ['retries', 'retryDelayMs', 'jitterMs', 'signal'] as const;

/** Options of {@link MemoryLock}: defaults for every `acquire`/`withLock` call. */
export interface MemoryLockOptions {
  /** Time source for expiry (default {@link systemClock}). Waits still use real timers. */
  clock?: Clock;
  /** Further attempts after the first one fails (default 10; `Infinity` until the signal aborts). */
  retries?: number;
  /** Base delay between attempts in ms (default 100). */
  retryDelayMs?: number;
  /** Random extra delay per wait, 0..jitterMs (default 50). */
  jitterMs?: number;
}

interface Holding {
  value: string;
  /** Clock time at which the holding expires. */
  expiresAt: number;
}

interface RetryPolicy {
  retries: number;
  retryDelayMs: number;
  jitterMs: number;
}

/**
 * An in-memory {@link DistributedLock} with the semantics of the Redlock adapter: unique random
 * owner values, per-resource fencing tokens that strictly increase, all-or-nothing
 * multi-resource locks, expiry by the (injectable) clock, and the same errors.
 *
 * Waiters are woken as soon as a resource they wait for is released or expires (like the Redis
 * adapter's pub/sub hand-off); such a wake-up attempt does not use up one of `retries`: only a
 * full `retryDelayMs + jitter` wait does, so `retries` bounds how long a waiter waits, however
 * contended the lock is.
 */
export class MemoryLock implements DistributedLock {
  readonly #clock: Clock;
  readonly #defaults: RetryPolicy;
  readonly #held = new Map<string, Holding>();
  readonly #tokens = new Map<string, number>();
  readonly #waiters = new Map<string, Set<() => void>>();

  #closed = false;
  /** Aborted by {@link close}: waiting acquisitions give up as the Redlock adapter's do. */
  readonly #closing = new AbortController();

  /** `up` (it lives in this process) until {@link close}, `down` after. */
  async health(): Promise<HealthReport> {
    return inMemoryHealth('lock', this.#closed);
  }

  /**
   * Stops taking acquisitions, as the Redlock adapter does: waiting ones reject with
   * `LOCK_TIMEOUT` (not retryable), later ones too; held locks stay until released or expired;
   * `health()` reports `down`. Idempotent.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#closing.abort(CLOSED);
  }

  constructor(options: MemoryLockOptions = {}) {
    this.#clock = options.clock ?? systemClock;
    this.#defaults = retryPolicy(
      readOptions(options, ['retries', 'retryDelayMs', 'jitterMs', 'clock'], 'MemoryLock options', PREFIX),
      { retries: 10, retryDelayMs: 100, jitterMs: 50 },
    );
  }

  async acquire(
    resource: string | readonly string[],
    ttlMs: number = DEFAULT_TTL_MS,
    options?: AcquireOptions,
  ): Promise<Lock> {
    const resources = checkResources(resource);
    const ttl = checkTtl(ttlMs);
    const o = readOptions(options, ACQUIRE_FIELDS, 'acquire options', PREFIX);
    return this.#acquire(resources, ttl, retryPolicy(o, this.#defaults), readSignal(o.signal, PREFIX));
  }

  async #acquire(
    resources: readonly string[],
    ttl: number,
    policy: RetryPolicy,
    signal: AbortSignal | undefined,
  ): Promise<Lock> {
    let attempts = 0;
    if (signal?.aborted) throw lockTimeout(resources, attempts, signal.reason);
    for (let round = 0; ; round++) {
      if (this.#closed) throw lockTimeout(resources, attempts, CLOSED);
      attempts += 1;
      const lock = this.#tryTake(resources, ttl);
      if (lock) return lock;
      if (round >= policy.retries) throw lockTimeout(resources, attempts);
      const delay = timerMs(policy.retryDelayMs + Math.random() * policy.jitterMs);
      try {
        const woken = await this.#wait(resources, ttl, delay, signal, () => {
          attempts += 1;
        });
        if (woken) return woken;
      } catch (reason) {
        throw lockTimeout(resources, attempts, reason);
      }
    }
  }

  async release(resource: string | readonly string[], value: string): Promise<boolean> {
    const resources = checkResources(resource);
    validate.nonEmptyString(value, 'lock value', PREFIX);
    return this.#release(resources, value);
  }

  async withLock<T>(
    resource: string | readonly string[],
    fn: (signal: AbortSignal, lock: Lock) => Promise<T> | T,
    options?: WithLockOptions,
  ): Promise<T> {
    const resources = checkResources(resource);
    if (typeof fn !== 'function') throw new InvalidArgumentError(`${PREFIX} withLock needs a function`);
    const o = readOptions(options, [...ACQUIRE_FIELDS, 'ttlMs', 'autoExtend'], 'withLock options', PREFIX);
    const ttl = checkTtl(o.ttlMs ?? DEFAULT_TTL_MS);
    const autoExtend = o.autoExtend ?? true;
    if (typeof autoExtend !== 'boolean') {
      throw new InvalidArgumentError(`${PREFIX} withLock autoExtend must be a boolean`);
    }
    const policy = retryPolicy(o, this.#defaults);
    const lock = await this.#acquire(resources, ttl, policy, readSignal(o.signal, PREFIX));

    const controller = new AbortController();
    let lost: LockLostError | undefined;
    let done = false;
    let timer: NodeJS.Timeout | undefined;
    const markLost = (why: string, cause?: unknown) => {
      if (lost || done) return;
      lost = new LockLostError(`${PREFIX} lock lost while running withLock: ${why}`, resources, { cause });
      controller.abort(lost);
    };
    if (autoExtend) {
      const interval = Math.min(MAX_DELAY_MS, Math.max(1, Math.floor(ttl / 3)));
      const renew = () => {
        lock.extend(ttl).then(
          () => {
            if (!done) timer = setTimeout(renew, interval);
          },
          (error: unknown) => markLost('it could not be extended', error),
        );
      };
      timer = setTimeout(renew, interval);
    } else {
      const watch = () => {
        if (!lock.held) return markLost('it expired');
        timer = setTimeout(watch, timerMs(lock.expiresAt - this.#clock.now()));
      };
      timer = setTimeout(watch, timerMs(ttl));
    }

    let result: T;
    try {
      result = await fn(controller.signal, lock);
    } finally {
      // fn's own synchronous work may have outlasted the TTL with no timer run to notice.
      if (!(lock as MemoryLockHandle).released && !lock.held) markLost('its validity ran out while fn ran');
      done = true;
      clearTimeout(timer);
      await lock.release();
    }
    if (lost) throw lost;
    return result;
  }

  /** Whether `resource` is currently held by anyone. For assertions in tests. */
  isLocked(resource: string): boolean {
    validate.nonEmptyString(resource, 'resource', PREFIX);
    return this.#live(resource) !== undefined;
  }

  #live(resource: string): Holding | undefined {
    const holding = this.#held.get(resource);
    if (holding === undefined) return undefined;
    if (holding.expiresAt <= this.#clock.now()) {
      this.#held.delete(resource);
      return undefined;
    }
    return holding;
  }

  #owns(resources: readonly string[], value: string): boolean {
    return resources.every((r) => this.#live(r)?.value === value);
  }

  #tryTake(resources: readonly string[], ttl: number): Lock | undefined {
    if (resources.some((r) => this.#live(r) !== undefined)) return undefined;
    const value = randomUUID();
    const expiresAt = this.#clock.now() + ttl;
    const tokens = resources.map((r) => {
      const token = (this.#tokens.get(r) ?? 0) + 1;
      this.#tokens.set(r, token);
      this.#held.set(r, { value, expiresAt });
      return token;
    });
    return new MemoryLockHandle(resources, value, tokens, expiresAt, {
      owns: () => this.#owns(resources, value),
      extend: (ms) => this.#extend(resources, value, ms),
      release: () => this.#release(resources, value),
    });
  }

  #extend(resources: readonly string[], value: string, ttl: number): number | undefined {
    if (!this.#owns(resources, value)) return undefined;
    const expiresAt = this.#clock.now() + ttl;
    for (const r of resources) this.#held.set(r, { value, expiresAt });
    return expiresAt;
  }

  #release(resources: readonly string[], value: string): boolean {
    let released = 0;
    for (const r of resources) {
      if (this.#live(r)?.value === value) {
        this.#held.delete(r);
        released += 1;
        this.#notify(r);
      }
    }
    return released === resources.length;
  }

  #notify(resource: string): void {
    if (!this.#waiters.has(resource)) return;
    queueMicrotask(() => {
      for (const wake of [...(this.#waiters.get(resource) ?? [])]) wake();
    });
  }

  /**
   * Waits `delayMs`, trying again whenever a resource is released or the blocking holding
   * expires. Resolves with the lock if such a try won, `undefined` when the delay ran out;
   * rejects with the abort reason if `signal` aborts.
   */
  #wait(
    resources: readonly string[],
    ttl: number,
    delayMs: number,
    signal: AbortSignal | undefined,
    onAttempt: () => void,
  ): Promise<Lock | undefined> {
    return new Promise((resolve, reject) => {
      let expiryTimer: NodeJS.Timeout | undefined;
      let settled = false;
      const cleanup = () => {
        settled = true;
        clearTimeout(timer);
        clearTimeout(expiryTimer);
        for (const r of resources) {
          const set = this.#waiters.get(r);
          set?.delete(wake);
          if (set?.size === 0) this.#waiters.delete(r);
        }
        signal?.removeEventListener('abort', onAbort);
        closing.removeEventListener('abort', onAbort);
      };
      const scheduleExpiryWake = () => {
        clearTimeout(expiryTimer);
        const now = this.#clock.now();
        // Every blocking holding must have expired before a try can win.
        const until = Math.max(0, ...resources.map((r) => (this.#live(r)?.expiresAt ?? now) - now));
        if (until + 1 < delayMs) expiryTimer = setTimeout(wake, until + 1);
      };
      const wake = () => {
        if (settled) return;
        onAttempt();
        const lock = this.#tryTake(resources, ttl);
        if (lock) {
          cleanup();
          resolve(lock);
        } else {
          scheduleExpiryWake();
        }
      };
      const closing = this.#closing.signal;
      const onAbort = () => {
        cleanup();
        reject(signal?.aborted ? signal.reason : CLOSED);
      };
      const timer = setTimeout(() => {
        cleanup();
        resolve(undefined);
      }, delayMs);
      for (const r of resources) {
        let set = this.#waiters.get(r);
        if (!set) {
          set = new Set();
          this.#waiters.set(r, set);
        }
        set.add(wake);
      }
      signal?.addEventListener('abort', onAbort, { once: true });
      closing.addEventListener('abort', onAbort, { once: true });
      scheduleExpiryWake();
    });
  }
}

interface HandleBackend {
  owns(): boolean;
  /** New expiry, or undefined when the lock is no longer ours. */
  extend(ttl: number): number | undefined;
  release(): boolean;
}

/** A lock handed out by {@link MemoryLock}. */
class MemoryLockHandle implements Lock {
  readonly resource: string;
  readonly fencingToken: number;
  #expiresAt: number;
  #lost = false;
  #released = false;
  readonly #backend: HandleBackend;

  constructor(
    readonly resources: readonly string[],
    readonly value: string,
    readonly fencingTokens: readonly number[],
    expiresAt: number,
    backend: HandleBackend,
  ) {
    this.resource = resources[0] as string;
    this.fencingToken = fencingTokens[0] as number;
    this.#expiresAt = expiresAt;
    this.#backend = backend;
  }

  get expiresAt(): number {
    return this.#expiresAt;
  }

  get held(): boolean {
    return !this.#lost && this.#backend.owns();
  }

  async extend(ttlMs: number): Promise<void> {
    const ttl = checkTtl(ttlMs);
    const expiresAt = this.#lost ? undefined : this.#backend.extend(ttl);
    if (expiresAt === undefined) {
      this.#lost = true;
      throw new LockLostError(`${PREFIX} cannot extend a lock that is no longer held`, this.resources);
    }
    this.#expiresAt = expiresAt;
  }

  /** Whether its owner released it (through `release()`). */
  get released(): boolean {
    return this.#released;
  }

  async release(): Promise<boolean> {
    if (this.#lost) return false;
    this.#lost = true;
    this.#released = true;
    return this.#backend.release();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.release();
  }
}

/**
 * A resource name: non-empty text that survives UTF-8 (as in Redis: a lone surrogate would not),
 * at most {@link MAX_RESOURCE_LENGTH} code units (as the Redlock adapter: a name goes out in
 * three keys to every node on every attempt).
 */
function checkName(name: unknown): string {
  validate.nonEmptyString(name, 'resource', PREFIX);
  if (name.length > MAX_RESOURCE_LENGTH) {
    throw new InvalidArgumentError(
      `${PREFIX} resource must be at most ${MAX_RESOURCE_LENGTH} characters long`,
    );
  }
  if (!isWellFormed(name))
    throw new InvalidArgumentError(`${PREFIX} resource must not contain a lone surrogate`);
  return name;
}

function checkResources(resource: unknown): readonly string[] {
  if (typeof resource === 'string') return [checkName(resource)];
  if (typeof resource !== 'object' || resource === null) {
    throw new InvalidArgumentError(`${PREFIX} resource must be a non-empty string or a non-empty array`);
  }
  const list = readList(resource, 'resource', PREFIX, checkName);
  if (list.length === 0) {
    throw new InvalidArgumentError(`${PREFIX} resource must be a non-empty string or a non-empty array`);
  }
  if (new Set(list).size !== list.length) {
    throw new InvalidArgumentError(`${PREFIX} resources must not repeat`);
  }
  return Object.freeze(list);
}

/** A TTL: a positive finite number of ms up to 2^53 - 1, rounded up to a whole ms. */
function checkTtl(ttlMs: unknown): number {
  validate.positiveMs(ttlMs, 'ttlMs', PREFIX);
  const ttl = Math.ceil(ttlMs);
  if (ttl > MAX_TTL_MS) throw new InvalidArgumentError(`${PREFIX} ttlMs must be at most 2^53 - 1 ms`);
  return ttl;
}

/** A timer delay Node can hold (longer ones would fire at once). */
function timerMs(ms: number): number {
  return Math.min(MAX_DELAY_MS, Math.max(1, ms));
}

/** Retry settings as read from a caller (types not yet checked). */
interface RetryInput {
  retries?: unknown;
  retryDelayMs?: unknown;
  jitterMs?: unknown;
}

function retryPolicy(options: RetryInput, defaults: RetryPolicy): RetryPolicy {
  const retries = options.retries ?? defaults.retries;
  if (
    typeof retries !== 'number' ||
    Number.isNaN(retries) ||
    retries < 0 ||
    (retries !== Number.POSITIVE_INFINITY && !Number.isInteger(retries))
  ) {
    throw new InvalidArgumentError(`${PREFIX} retries must be an integer >= 0 or Infinity`);
  }
  return {
    retries,
    retryDelayMs: delayMs('retryDelayMs', options.retryDelayMs ?? defaults.retryDelayMs),
    jitterMs: delayMs('jitterMs', options.jitterMs ?? defaults.jitterMs),
  };
}

/** A wait in ms: 0 up to what a Node timer can hold. */
function delayMs(what: string, ms: unknown): number {
  if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0 || ms > MAX_DELAY_MS) {
    throw new InvalidArgumentError(`${PREFIX} ${what} must be a number of ms from 0 to 2^31 - 1`);
  }
  return ms;
}

/** The reason a wait ends with when the lock manager is closed. */
const CLOSED = new InvalidArgumentError(`${PREFIX} the lock manager is closed`);

/**
 * Retries spent (retryable: the lock may be free later), or given up on the caller's signal or
 * {@link MemoryLock.close} (not retryable, as the Redlock adapter says: the caller stopped it).
 */
function lockTimeout(resources: readonly string[], attempts: number, cause?: unknown): LockTimeoutError {
  if (cause === undefined) {
    return new LockTimeoutError(
      `${PREFIX} could not acquire the lock: after ${attempts} attempts`,
      resources,
      attempts,
    );
  }
  const why = cause === CLOSED ? 'the lock manager is closed' : 'the signal aborted';
  return new LockTimeoutError(`${PREFIX} could not acquire the lock: ${why}`, resources, attempts, {
    cause,
    retryable: false,
  });
}
