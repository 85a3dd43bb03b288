import type { JobQueue } from '../ports/job-queue.js';
import type { BadInputOptions } from './bad-input.js';
import { jobQueueBadInputCheck } from './job-queue-bad-input.js';
import { idleAgeChecks, waitingAgeChecks } from './job-queue-counts.js';
import { abortChecks, deadLetterChecks, retryChecks, stateChecks } from './job-queue-delivery.js';
import { idempotencyChecks, payloadChecks } from './job-queue-enqueue.js';
import { delayChecks, priorityChecks } from './job-queue-schedule.js';
import type { JobQueueCheckSettings } from './job-queue-support.js';
import { argumentChecks, payloadLimitChecks } from './job-queue-validation.js';
import { concurrencyChecks, pauseAndDrainChecks, workerCloseChecks } from './job-queue-workers.js';
import { lifecycleChecks } from './lifecycle.js';
import {
  type ConformanceCheck,
  type ConformanceOptions,
  describeChecks,
  randomKey,
  resolveRunner,
  suiteArguments,
} from './shared.js';

/** Options of {@link describeJobQueue} and {@link jobQueueChecks}. */
export interface JobQueueConformanceOptions<T extends JobQueue = JobQueue> extends ConformanceOptions<T> {
  /**
   * Makes the lease of job `jobId`'s running delivery lapse now, as a worker that stalled past
   * its lease would see it (on Redis: delete or expire the lease; `MemoryJobQueue`:
   * `(q, id) => q.expireLease(id)`). The suite cannot stall a server, so without this hook the
   * lease-loss check is left out; a delivery handed back by a closing worker still checks that
   * a re-delivery carries a higher token. The check waits up to 30 s for the worker to notice
   * (at its next renewal: give the factory's queues a short lease) and 40 s for the re-delivery.
   */
  expireLease?: (queue: T, jobId: string) => Promise<unknown>;
  /** The payload limit of the factory's queues, in bytes (default 1 MiB, the queues' default). */
  maxPayloadBytes?: number;
  /** Seed, runs and call deadline of the bad-input check. */
  badInput?: BadInputOptions;
}

const DEFAULT_MAX_PAYLOAD = 1024 * 1024;

/**
 * The checks of {@link describeJobQueue}, each a named `(queue) => Promise<void>` run against a
 * fresh, empty queue. Real time only, with delays and backoffs of tens of ms and condition
 * waits with generous limits; the only time assertion is that a delayed job did not come early.
 * Each check closes the workers it starts.
 */
export function jobQueueChecks<T extends JobQueue = JobQueue>(
  options: Pick<JobQueueConformanceOptions<T>, 'expireLease' | 'maxPayloadBytes' | 'badInput'> = {},
): ConformanceCheck<JobQueue>[] {
  const expireLease = options.expireLease;
  const settings: JobQueueCheckSettings = {
    maxPayloadBytes: options.maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD,
    ...(expireLease === undefined
      ? {}
      : {
          expireLease: async (queue: JobQueue, jobId: string) => {
            await expireLease(queue as T, jobId);
          },
        }),
  };
  // One topic per line, in the order the suite runs them.
  const checks = [
    ...payloadChecks(),
    ...idempotencyChecks(),
    ...payloadLimitChecks(settings),
    ...argumentChecks(),
    ...retryChecks(),
    ...abortChecks(settings),
    ...deadLetterChecks(),
    ...stateChecks(),
    ...delayChecks(),
    ...priorityChecks(),
    ...concurrencyChecks(),
    ...pauseAndDrainChecks(),
    ...workerCloseChecks(),
    ...idleAgeChecks(),
    ...waitingAgeChecks(),
    jobQueueBadInputCheck(options.badInput),
    ...lifecycleChecks<JobQueue>((queue) => queue),
  ];
  // Whatever the runner's default (Vitest's is 5 s), a check on a loaded machine gets a minute.
  return checks.map((check) => (check.timeoutMs === undefined ? { ...check, timeoutMs: 60_000 } : check));
}

/**
 * Registers the {@link JobQueue} conformance suite: every implementation (Redis, in memory) must
 * pass it. The factory gets a fresh queue name per test (implementations on one shared server
 * keep their tests apart by it) and returns an empty queue of that name.
 *
 * @example
 * describeJobQueue('MemoryJobQueue', (name) => new MemoryJobQueue(name), {
 *   teardown: (q) => q.close(),
 *   expireLease: (q, id) => q.expireLease(id),
 * });
 */
export function describeJobQueue<T extends JobQueue>(
  factory: (name: string) => T | Promise<T>,
  options?: JobQueueConformanceOptions<T>,
): void;
export function describeJobQueue<T extends JobQueue>(
  name: string,
  factory: (name: string) => T | Promise<T>,
  options?: JobQueueConformanceOptions<T>,
): void;
export function describeJobQueue(...args: unknown[]): void {
  const what = 'describeJobQueue';
  const { name, factory, options } = suiteArguments<
    (name: string) => JobQueue | Promise<JobQueue>,
    JobQueueConformanceOptions
  >(what, args);
  const runner = resolveRunner(options.runner, what);
  const heading = name === undefined ? 'JobQueue conformance' : `JobQueue conformance: ${name}`;
  describeChecks(heading, jobQueueChecks(options), () => factory(randomKey('jobs')), { ...options, runner });
}
