import { isWellFormed, MAX_TTL_MS, readOptions } from '../caller-input.js';
import { InvalidArgumentError } from '../errors.js';
import { inMemoryHealth } from '../health-report.js';
import type { ExpiringSet } from '../ports/expiring-set.js';
import type { HealthReport } from '../ports/health.js';
import { validate } from '../validate.js';
import { type Clock, systemClock } from './clock.js';

const PREFIX = '[voelgoed:contracts]';

/** Options of {@link MemoryExpiringSet}. */
export interface MemoryExpiringSetOptions {
  /** TTL used when a method is given none (default 60000 ms). */
  defaultTtlMs?: number;
  /** Time source (default {@link systemClock}); pass a `ManualClock` to move time by hand. */
  clock?: Clock;
}

/**
 * An in-memory {@link ExpiringSet} that behaves like the Redis one: TTLs rounded up to whole
 * ms, a member live while its expiry is in the future, `members()` soonest to expire first
 * (ties in UTF-8 byte order, as Redis sorts them), expired members dropped by `add`,
 * `tryAdd`, `refresh`, `remove` and `purge`.
 */
export class MemoryExpiringSet implements ExpiringSet {
  readonly #defaultTtlMs: number;
  readonly #clock: Clock;
  /** Member -> expiry (clock ms). */
  readonly #members = new Map<string, number>();

  #closed = false;

  /** `up` (it lives in this process) until {@link close}, `down` after. */
  async health(): Promise<HealthReport> {
    return inMemoryHealth('expiring-set', this.#closed);
  }

  /** Marks it closed: `health()` reports `down`, calls reject with `INVALID_ARGUMENT`. Idempotent. */
  async close(): Promise<void> {
    this.#closed = true;
  }

  constructor(options: MemoryExpiringSetOptions = {}) {
    const o = readOptions(options, ['defaultTtlMs', 'clock'], 'expiring set options', PREFIX);
    this.#defaultTtlMs = checkTtl(o.defaultTtlMs ?? 60_000, 'defaultTtlMs');
    this.#clock = checkClock(o.clock);
  }

  async add(member: string, ttlMs?: number): Promise<boolean> {
    const expiry = this.#expiry(member, ttlMs);
    this.#assertOpen();
    this.#purge();
    const existed = this.#members.has(member);
    this.#members.set(member, expiry);
    return !existed;
  }

  async tryAdd(member: string, ttlMs?: number): Promise<boolean> {
    const expiry = this.#expiry(member, ttlMs);
    this.#assertOpen();
    this.#purge();
    if (this.#members.has(member)) return false;
    this.#members.set(member, expiry);
    return true;
  }

  async refresh(member: string, ttlMs?: number): Promise<boolean> {
    const expiry = this.#expiry(member, ttlMs);
    this.#assertOpen();
    if (this.#live(member) === undefined) {
      this.#members.delete(member);
      return false;
    }
    this.#members.set(member, expiry);
    return true;
  }

  async remove(member: string): Promise<boolean> {
    checkMember(member);
    this.#assertOpen();
    const live = this.#live(member) !== undefined;
    this.#members.delete(member);
    return live;
  }

  async has(member: string): Promise<boolean> {
    return (await this.ttl(member)) !== undefined;
  }

  async ttl(member: string): Promise<number | undefined> {
    checkMember(member);
    this.#assertOpen();
    const expiry = this.#live(member);
    return expiry === undefined ? undefined : expiry - this.#clock.now();
  }

  async members(): Promise<string[]> {
    this.#assertOpen();
    const now = this.#clock.now();
    return [...this.#members]
      .filter(([, expiry]) => expiry > now)
      .sort(([a, x], [b, y]) => x - y || Buffer.compare(Buffer.from(a), Buffer.from(b)))
      .map(([member]) => member);
  }

  async count(): Promise<number> {
    this.#assertOpen();
    const now = this.#clock.now();
    let n = 0;
    for (const expiry of this.#members.values()) if (expiry > now) n++;
    return n;
  }

  async purge(): Promise<number> {
    this.#assertOpen();
    return this.#purge();
  }

  /** Removes every member. */
  clear(): void {
    this.#members.clear();
  }

  #purge(): number {
    const now = this.#clock.now();
    let n = 0;
    for (const [member, expiry] of this.#members) {
      if (expiry <= now) {
        this.#members.delete(member);
        n++;
      }
    }
    return n;
  }

  #live(member: string): number | undefined {
    const expiry = this.#members.get(member);
    return expiry !== undefined && expiry > this.#clock.now() ? expiry : undefined;
  }

  #assertOpen(): void {
    if (this.#closed) throw new InvalidArgumentError(`${PREFIX} the expiring set is closed`);
  }

  /** Checks a member and TTL (both before anything changes) and gives the expiry. */
  #expiry(member: unknown, ttlMs: unknown): number {
    checkMember(member);
    const ms = ttlMs === undefined ? this.#defaultTtlMs : checkTtl(ttlMs, 'ttlMs');
    return this.#clock.now() + ms;
  }
}

function checkMember(member: unknown): asserts member is string {
  validate.nonEmptyString(member, 'member', PREFIX);
  if (!isWellFormed(member))
    throw new InvalidArgumentError(`${PREFIX} member must not contain a lone surrogate`);
}

/** A TTL: a positive finite number of ms up to 2^53 - 1, rounded up to whole ms. */
function checkTtl(ttlMs: unknown, what: string): number {
  validate.positiveMs(ttlMs, what, PREFIX);
  const ms = Math.ceil(ttlMs);
  if (ms > MAX_TTL_MS) throw new InvalidArgumentError(`${PREFIX} ${what} must be at most 2^53 - 1 ms`);
  return ms;
}

/** A clock option: absent (the system clock) or something with a `now()`. */
function checkClock(clock: unknown): Clock {
  if (clock === undefined) return systemClock;
  if (typeof (clock as Partial<Clock> | null)?.now !== 'function') {
    throw new InvalidArgumentError(`${PREFIX} clock must have a now() method`);
  }
  return clock as Clock;
}
