import { ErrorCodes } from '../errors.js';
import type { DistributedLock } from '../ports/lock.js';
import { expectInfrastructureError, randomKey, SHORT_TTL } from './shared.js';

// What the topics of the DistributedLock suite share: TTLs, retry settings, resource names and
// the two probes of a resource (locked, free).

export { PAST_SHORT_TTL, SHORT_TTL } from './shared.js';
/**
 * TTL of the renewal check. With {@link SHORT_TTL} (renewed every ~50 ms) an event-loop stall of
 * ~100 ms, which a busy machine running several suites at once gives, lost the lock; at 600 ms a
 * clean-clone run on a loaded machine still lost it once. A lock renewed at a third of 2 s
 * survives any stall under ~1.3 s.
 */
export const RENEWED_TTL = 2_000;
/** Retry settings that wait up to a few seconds, polling often. */
export const PATIENT = { retries: 200, retryDelayMs: 20, jitterMs: 10 } as const;

const { LOCK_TIMEOUT } = ErrorCodes;

// One {hash tag} for every name: a Cluster-backed lock can then lock several of them together.
export const r = () => randomKey('{conformance}:lock');

/** Asserts that nobody can take `resource` right now (a single attempt fails with LOCK_TIMEOUT). */
export async function expectLocked(impl: DistributedLock, resource: string): Promise<void> {
  await expectInfrastructureError(impl.acquire(resource, 1000, { retries: 0 }), LOCK_TIMEOUT);
}

/**
 * Asserts that `resource` is free now (taken within a few quick attempts), leaving it free. A
 * Redlock release resolves on a quorum: the last nodes' deletes may still be on their way (a
 * loaded run's single attempt met one once), so a few attempts 20 ms apart are allowed.
 */
export async function expectFree(impl: DistributedLock, resource: string): Promise<void> {
  const lock = await impl.acquire(resource, 1000, { retries: 5, retryDelayMs: 20, jitterMs: 0 });
  await lock.release();
}
