import { randomUUID } from 'node:crypto';
import { InvalidArgumentError, LockLostError, LockTimeoutError } from '../../src/errors.js';
import type { AcquireOptions, DistributedLock, Lock, WithLockOptions } from '../../src/ports/lock.js';

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

  constructor(readonly defects: LockDefects = {}) {}

  /** Stops every waiting loop (for defects that would otherwise wait forever). */
  dispose(): void {
    this.#disposed = true;
  }

  async acquire(
    resource: string | readonly string[],
    ttlMs = 5000,
    options: AcquireOptions = {},
  ): Promise<Lock> {
    if (!this.defects.noValidation && typeof resource !== 'string' && !Array.isArray(resource))
      throw new InvalidArgumentError('[test] bad resource');
    const resources = typeof resource === 'string' ? [resource] : [...resource];
    const d = this.defects;
    if (!d.noValidation) {
      if (resources.length === 0 || resources.some((r) => typeof r !== 'string' || r === ''))
        throw new InvalidArgumentError('[test] bad resource');
      if (new Set(resources).size !== resources.length) throw new InvalidArgumentError('[test] dup');
      if (!Number.isFinite(ttlMs) || ttlMs <= 0) throw new InvalidArgumentError('[test] bad ttl');
      const retries = options.retries ?? 10;
      if (Number.isNaN(retries) || retries < 0 || (Number.isFinite(retries) && !Number.isInteger(retries)))
        throw new InvalidArgumentError('[test] bad retries');
      for (const ms of [options.retryDelayMs ?? 0, options.jitterMs ?? 0])
        if (!Number.isFinite(ms) || ms < 0) throw new InvalidArgumentError('[test] bad delay');
    }
    const retries = options.retries ?? 10;
    const delay = options.retryDelayMs ?? 100;
    for (let attempt = 0; ; attempt++) {
      if (options.signal?.aborted && !d.ignoreAbort)
        throw new LockTimeoutError('[test] aborted', resources, attempt, { cause: options.signal.reason });
      const lock = this.#tryTake(resources, ttlMs);
      if (lock) return lock;
      if (attempt >= retries || this.#disposed)
        throw new LockTimeoutError('[test] timeout', resources, attempt + 1);
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }

  async release(resource: string | readonly string[], value: string): Promise<boolean> {
    const resources = typeof resource === 'string' ? [resource] : [...resource];
    if (!this.defects.noValidation && (resources.length === 0 || resources.includes('') || value === ''))
      throw new InvalidArgumentError('[test] bad release');
    return this.#release(resources, value);
  }

  async withLock<T>(
    resource: string | readonly string[],
    fn: (signal: AbortSignal, lock: Lock) => Promise<T> | T,
    options: WithLockOptions = {},
  ): Promise<T> {
    if (!this.defects.noValidation && typeof fn !== 'function') throw new InvalidArgumentError('[test] fn');
    const ttl = options.ttlMs ?? 5000;
    const lock = await this.acquire(resource, ttl, options);
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
      Math.max(1, ttl / 3),
    );
    let threw = false;
    try {
      return await fn(controller.signal, lock);
    } catch (error) {
      threw = true;
      throw error;
    } finally {
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
        if (!self.defects.noValidation && (!Number.isFinite(ttlMs) || ttlMs <= 0))
          throw new InvalidArgumentError('[test] bad ttl');
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
