import { randomUUID } from 'node:crypto';
import {
  isWellFormed,
  MAX_DELAY_MS,
  MAX_RESOURCE_LENGTH,
  MAX_TTL_MS,
  readList,
  readOptions,
  readSignal,
} from '../../src/caller-input.js';
import { InvalidArgumentError, LockLostError, LockTimeoutError } from '../../src/errors.js';
import type { HealthReport } from '../../src/ports/health.js';
import type { AcquireOptions, DistributedLock, Lock, WithLockOptions } from '../../src/ports/lock.js';

const bad = (what: string) => new InvalidArgumentError(`[test] bad ${what}`);

function checkName(name: unknown): string {
  if (typeof name !== 'string' || name === '' || name.length > MAX_RESOURCE_LENGTH || !isWellFormed(name))
    throw bad('resource');
  return name;
}

/** The same rules as MemoryLock's (and the Redlock adapter's), without trusting the caller's objects. */
function checkResources(resource: unknown): string[] {
  if (typeof resource === 'string') return [checkName(resource)];
  if (typeof resource !== 'object' || resource === null) throw bad('resource');
  const list = readList(resource, 'resource', '[test]', checkName);
  if (list.length === 0) throw bad('resource');
  if (new Set(list).size !== list.length) throw new InvalidArgumentError('[test] dup');
  return list;
}

function checkTtl(ttlMs: unknown): number {
  if (typeof ttlMs !== 'number' || !Number.isFinite(ttlMs) || ttlMs <= 0 || Math.ceil(ttlMs) > MAX_TTL_MS)
    throw bad('ttl');
  return ttlMs;
}

function checkAcquireOptions(
  options: unknown,
  extra: readonly string[] = [],
): AcquireOptions & WithLockOptions {
  const o = readOptions(
    options,
    ['retries', 'retryDelayMs', 'jitterMs', 'signal', ...extra],
    'options',
    '[test]',
  );
  const retries = o.retries ?? 10;
  if (
    typeof retries !== 'number' ||
    Number.isNaN(retries) ||
    retries < 0 ||
    (Number.isFinite(retries) && !Number.isInteger(retries))
  )
    throw bad('retries');
  for (const ms of [o.retryDelayMs ?? 0, o.jitterMs ?? 0])
    if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0 || ms > MAX_DELAY_MS) throw bad('delay');
  if (o.autoExtend !== undefined && typeof o.autoExtend !== 'boolean') throw bad('autoExtend');
  return { ...(o as AcquireOptions & WithLockOptions), signal: readSignal(o.signal, '[test]') };
}

/** Defects that can be switched on, one at a time, to show the conformance suite catches them. */
export interface LockDefects {
  /** release/extend never check the owner value. */
  ignoreOwner?: boolean;
  /** Locks never expire. */
  noExpiry?: boolean;
  /** Every acquisition gets fencing token 1. */
  constantFencing?: boolean;
  /** Every lock gets the same owner value. */
  sharedValue?: boolean;
  /** A multi-resource acquire keeps the resources it got before meeting a held one. */
  partialMulti?: boolean;
  /** withLock does not release when fn throws. */
  keepOnThrow?: boolean;
  /** withLock never renews the lock. */
  noRenewal?: boolean;
  /** withLock trusts its timers alone: a lock fn's synchronous work outlasted passes for held. */
  noSettleCheck?: boolean;
  /** No input validation at all. */
  noValidation?: boolean;
  /** The abort signal is ignored while waiting. */
  ignoreAbort?: boolean;
}

interface Holding {
  value: string;
  expiresAt: number;
}

/**
 * A deliberately simple polling lock, correct unless a defect is switched on. Test-only: it
 * exists so the package's tests can show each conformance check fails for the defect it targets.
 */
export class NaiveLock implements DistributedLock {
  readonly #held = new Map<string, Holding>();
  readonly #tokens = new Map<string, number>();
  #disposed = false;

  #closed = false;

  async health(): Promise<HealthReport> {
    return this.#closed
      ? { status: 'down', resource: 'lock', error: { code: 'CLOSED', message: 'closed' } }
      : { status: 'up', resource: 'lock' };
  }

  async close(): Promise<void> {
    this.#closed = true;
  }

  constructor(readonly defects: LockDefects = {}) {}

  /** Stops every waiting loop (for defects that would otherwise wait forever). */
  dispose(): void {
    this.#disposed = true;
  }

  async acquire(
    resource: string | readonly string[],
    ttlMs = 5000,
    rawOptions: AcquireOptions = {},
  ): Promise<Lock> {
    const d = this.defects;
    const resources = d.noValidation
      ? typeof resource === 'string'
        ? [resource]
        : [...resource]
      : checkResources(resource);
    if (!d.noValidation) checkTtl(ttlMs);
    const options = d.noValidation ? rawOptions : checkAcquireOptions(rawOptions);
    const retries = options.retries ?? 10;
    const delay = options.retryDelayMs ?? 100;
    for (let attempt = 0; ; attempt++) {
      if (options.signal?.aborted && !d.ignoreAbort)
        throw new LockTimeoutError('[test] aborted', resources, attempt, {
          cause: options.signal.reason,
          retryable: false,
        });
      if (this.#closed) throw new LockTimeoutError('[test] closed', resources, attempt, { retryable: false });
      const lock = this.#tryTake(resources, ttlMs);
      if (lock) return lock;
      if (attempt >= retries || this.#disposed)
        throw new LockTimeoutError('[test] timeout', resources, attempt + 1);
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }

  async release(resource: string | readonly string[], value: string): Promise<boolean> {
    const resources = this.defects.noValidation
      ? typeof resource === 'string'
        ? [resource]
        : [...resource]
      : checkResources(resource);
    if (!this.defects.noValidation && (typeof value !== 'string' || value === ''))
      throw new InvalidArgumentError('[test] bad release');
    return this.#release(resources, value);
  }

  async withLock<T>(
    resource: string | readonly string[],
    fn: (signal: AbortSignal, lock: Lock) => Promise<T> | T,
    rawOptions: WithLockOptions = {},
  ): Promise<T> {
    if (!this.defects.noValidation) checkResources(resource);
    if (!this.defects.noValidation && typeof fn !== 'function') throw new InvalidArgumentError('[test] fn');
    const options = this.defects.noValidation
      ? rawOptions
      : checkAcquireOptions(rawOptions, ['ttlMs', 'autoExtend']);
    const ttl = options.ttlMs ?? 5000;
    if (!this.defects.noValidation) checkTtl(ttl);
    const lock = await this.acquire(
      resource,
      ttl,
      this.defects.noValidation
        ? options
        : {
            retries: options.retries,
            retryDelayMs: options.retryDelayMs,
            jitterMs: options.jitterMs,
            signal: options.signal,
          },
    );
    const controller = new AbortController();
    let lost: LockLostError | undefined;
    const renew = setInterval(
      () => {
        if (options.autoExtend === false || this.defects.noRenewal) {
          if (!lock.held && !lost) {
            lost = new LockLostError('[test] lost', lock.resources);
            controller.abort(lost);
          }
          return;
        }
        lock.extend(ttl).catch((error: unknown) => {
          lost = error as LockLostError;
          controller.abort(lost);
        });
      },
      Math.min(MAX_DELAY_MS, Math.max(1, ttl / 3)),
    );
    let threw = false;
    try {
      return await fn(controller.signal, lock);
    } catch (error) {
      threw = true;
      throw error;
    } finally {
      if (!this.defects.noSettleCheck && !lost && !lock.held && Date.now() >= lock.expiresAt) {
        lost = new LockLostError('[test] lost while fn ran', lock.resources);
        controller.abort(lost);
      }
      clearInterval(renew);
      if (!(threw && this.defects.keepOnThrow)) await lock.release();
      // biome-ignore lint/correctness/noUnsafeFinally: mirrors the port: a lost lock fails withLock
      if (lost && !threw) throw lost;
    }
  }

  #live(resource: string): Holding | undefined {
    const h = this.#held.get(resource);
    if (h && !this.defects.noExpiry && h.expiresAt <= Date.now()) {
      this.#held.delete(resource);
      return undefined;
    }
    return h;
  }

  #tryTake(resources: string[], ttl: number): Lock | undefined {
    const value = this.defects.sharedValue ? 'same-value' : randomUUID();
    const expiresAt = Date.now() + ttl;
    if (this.defects.partialMulti) {
      for (const r of resources) {
        if (this.#live(r)) return undefined;
        this.#held.set(r, { value, expiresAt });
      }
    } else {
      if (resources.some((r) => this.#live(r))) return undefined;
      for (const r of resources) this.#held.set(r, { value, expiresAt });
    }
    const tokens = resources.map((r) => {
      const t = this.defects.constantFencing ? 1 : (this.#tokens.get(r) ?? 0) + 1;
      this.#tokens.set(r, t);
      return t;
    });
    return this.#handle(resources, value, tokens, expiresAt);
  }

  #owns(resources: string[], value: string): boolean {
    return resources.every((r) => this.defects.ignoreOwner || this.#live(r)?.value === value);
  }

  #release(resources: string[], value: string): boolean {
    let n = 0;
    for (const r of resources) {
      if (this.#live(r) && (this.defects.ignoreOwner || this.#live(r)?.value === value)) {
        this.#held.delete(r);
        n++;
      }
    }
    return n === resources.length;
  }

  #handle(resources: string[], value: string, tokens: number[], expiresAt: number): Lock {
    const self = this;
    let released = false;
    let until = expiresAt;
    return {
      resource: resources[0] as string,
      resources,
      value,
      fencingToken: tokens[0] as number,
      fencingTokens: tokens,
      get expiresAt() {
        return until;
      },
      get held() {
        return !released && self.#owns(resources, value) && resources.every((r) => self.#live(r));
      },
      async extend(ttlMs: number) {
        if (!self.defects.noValidation) checkTtl(ttlMs);
        if (
          released ||
          !self.#owns(resources, value) ||
          (!self.defects.ignoreOwner && !resources.every((r) => self.#live(r)))
        )
          throw new LockLostError('[test] lost', resources);
        until = Date.now() + ttlMs;
        for (const r of resources) self.#held.set(r, { value, expiresAt: until });
      },
      async release() {
        if (released) return false;
        released = true;
        return self.#release(resources, value);
      },
      async [Symbol.asyncDispose]() {
        await this.release();
      },
    };
  }
}
