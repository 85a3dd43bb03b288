import type { Resource } from './health.js';

/**
 * The swappable face of a set whose members each expire (holds, reservations, "seen" marks):
 * a sorted set on Redis, or in memory for tests. Members are non-empty strings; TTLs are in
 * ms (positive, finite, at most 2^53 - 1, rounded up to whole ms). An expired member is gone
 * for every method. Bad input rejects with `InvalidArgumentError`.
 */
export interface ExpiringSet extends Resource {
  /** Adds `member` (or renews it) for `ttlMs` (default: the set's default TTL); resolves true when it was not a live member before. */
  add(member: string, ttlMs?: number): Promise<boolean>;
  /** Adds `member` only when it is not a live member; resolves false (and changes nothing) otherwise. */
  tryAdd(member: string, ttlMs?: number): Promise<boolean>;
  /** Gives a live member a new TTL from now; resolves false (and adds nothing) when it is absent or expired. */
  refresh(member: string, ttlMs?: number): Promise<boolean>;
  /** Removes `member`; resolves true when it was a live member. */
  remove(member: string): Promise<boolean>;
  /** Whether `member` is live. */
  has(member: string): Promise<boolean>;
  /** Ms `member` has left, or `undefined` when it is absent or expired. */
  ttl(member: string): Promise<number | undefined>;
  /** Live members, soonest to expire first. */
  members(): Promise<string[]>;
  /** Number of live members. */
  count(): Promise<number>;
  /** Deletes expired members that are still stored; resolves with how many there were. */
  purge(): Promise<number>;
}
