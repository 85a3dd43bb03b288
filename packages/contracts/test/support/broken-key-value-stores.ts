import { isInfrastructureError } from '../../src/errors.js';
import { MemoryKeyValueStore } from '../../src/memory.js';
import type { IncrOptions, KeyValueStore, SetOptions } from '../../src/ports/key-value.js';

/** Defects that can be switched on, one at a time, to show the conformance suite catches them. */
export interface KeyValueDefects {
  /** TTL options are dropped and expire() changes nothing. */
  ignoreTtl?: boolean;
  /** NX/XX are ignored. */
  ignoreMode?: boolean;
  /** incr with ttlMs always (re)sets the TTL, also on an existing key. */
  incrAlwaysSetsTtl?: boolean;
  /** incr reads, waits, then writes (lost updates under concurrency). */
  racyIncr?: boolean;
  /** incr parses floats and garbage instead of failing. */
  lenientIncr?: boolean;
  /** Bad input resolves (null / false / 0) instead of rejecting. */
  swallowInvalidArgument?: boolean;
}

/** A {@link MemoryKeyValueStore} wrapped with deliberate defects. Test-only. */
export class BrokenKeyValueStore implements KeyValueStore {
  readonly #inner = new MemoryKeyValueStore();
  health() {
    return this.#inner.health();
  }

  close() {
    return this.#inner.close();
  }

  constructor(readonly defects: KeyValueDefects) {}

  #guard<T>(fallback: T, op: () => Promise<T>): Promise<T> {
    if (!this.defects.swallowInvalidArgument) return op();
    return op().catch((error: unknown) => {
      if (isInfrastructureError(error, 'INVALID_ARGUMENT')) return fallback;
      throw error;
    });
  }

  get(key: string) {
    return this.#guard(null, () => this.#inner.get(key));
  }
  set(key: string, value: string, options: SetOptions = {}) {
    const o = { ...options };
    if (this.defects.ignoreTtl) delete o.ttlMs;
    if (this.defects.ignoreMode) delete o.mode;
    return this.#guard(false, () => this.#inner.set(key, value, o));
  }
  delete(...keys: string[]) {
    return this.#guard(0, () => this.#inner.delete(...keys));
  }
  async incr(key: string, options: IncrOptions = {}): Promise<number> {
    const o = { ...options };
    if (this.defects.ignoreTtl) delete o.ttlMs;
    if (this.defects.racyIncr || this.defects.lenientIncr) {
      const current = await this.#inner.get(key);
      await new Promise((resolve) => setImmediate(resolve));
      const parsed = this.defects.lenientIncr ? Number.parseFloat(current ?? '0') || 0 : Number(current ?? 0);
      const next = parsed + (o.by ?? 1);
      await this.#inner.set(key, String(next), o.ttlMs && current === null ? { ttlMs: o.ttlMs } : {});
      return next;
    }
    const result = await this.#guard(0, () => this.#inner.incr(key, o));
    if (this.defects.incrAlwaysSetsTtl && o.ttlMs !== undefined) await this.#inner.expire(key, o.ttlMs);
    return result;
  }
  async expire(key: string, ttlMs: number): Promise<boolean> {
    if (this.defects.ignoreTtl) return (await this.#inner.get(key)) !== null;
    return this.#guard(false, () => this.#inner.expire(key, ttlMs));
  }
  ttl(key: string) {
    return this.#guard(null, () => this.#inner.ttl(key));
  }
  mget(keys: readonly string[]) {
    return this.#guard([], () => this.#inner.mget(keys));
  }
  mset(
    entries: Readonly<Record<string, string>> | readonly (readonly [string, string])[],
    options: { ttlMs?: number } = {},
  ) {
    return this.#guard(undefined, () => this.#inner.mset(entries, this.defects.ignoreTtl ? {} : options));
  }
}
