import { describe, expect, it } from '@jest/globals';
import { type ConformanceCheck, findCheck, jobQueueChecks, randomKey } from '../src/conformance.js';
import type { JobQueue } from '../src/ports/job-queue.js';
import { BrokenJobQueue, type JobQueueDefects } from './support/broken-job-queues.js';

const checks = jobQueueChecks<BrokenJobQueue>({ expireLease: (queue, id) => queue.expireLease(id) });

/** Runs one named check on a fresh queue; a check that hangs counts as failing. */
async function runCheck(name: string, defects: JobQueueDefects): Promise<void> {
  const check: ConformanceCheck<JobQueue> = findCheck(checks, name);
  const queue = new BrokenJobQueue(randomKey('broken-jobs'), defects);
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`check hung: ${name}`)), 90_000);
  });
  try {
    await Promise.race([check.run(queue), hang]);
  } finally {
    clearTimeout(timer);
    await queue.close({ graceMs: 0 });
  }
}

const LEASE =
  'a lost lease aborts the signal; the job is delivered again with a higher token, without using an attempt';
const TIMEOUT = 'a handler that overruns timeoutMs sees its signal abort, and the delivery counts as failed';
const CLOSE =
  'worker close lets deliveries finish within the grace period, then aborts the rest and hands them back without using an attempt';

const IDLE_AGE =
  'oldestWaitingMs is 0 when no job waits: an empty queue, delayed jobs not yet due, an active job';
const AGE =
  'oldestWaitingMs is the age in ms of the job that has waited longest, whatever its priority, and grows while it waits';
const DUE_AGE = 'a delayed job counts towards oldestWaitingMs from its due time, not from its enqueue';

const cases: [keyof JobQueueDefects, string[]][] = [
  ['frozenWaitAge', [AGE, DUE_AGE]],
  ['waitAgeInSeconds', [AGE, DUE_AGE]],
  ['waitAgeFromEnqueue', [IDLE_AGE, DUE_AGE]],
  ['waitAgeOfNewest', [AGE]],
  [
    'dropIdempotency',
    ['an id makes enqueue idempotent: created false and nothing stored, while waiting and after completion'],
  ],
  [
    'ignorePriority',
    ['high priority jobs are delivered before normal, normal before low, in enqueue order within a level'],
  ],
  ['neverAbort', [TIMEOUT, LEASE, CLOSE]],
  [
    'reuseTokens',
    [
      'the delivery token rises with every delivery of a job, across retries',
      LEASE,
      CLOSE,
      'retryDeadLetter puts a dead letter back with fresh attempts; removeDeadLetter deletes it; unknown ids give false',
    ],
  ],
  [
    'ignoreDelay',
    [
      'a job with delayMs or runAt is not delivered before its time, and is delivered after it',
      'counts reports jobs by state, and getJob reports each state',
    ],
  ],
  ['doubleConcurrency', ['a worker never runs more deliveries at once than its concurrency, and reaches it']],
  ['ignorePause', ['pause stops deliveries to every worker, enqueueing goes on, and resume restarts them']],
  [
    'storeBeforeValidating',
    ['enqueueMany validates every job before storing any: one bad job stores nothing'],
  ],
  [
    'noPayloadLimit',
    [
      'a payload over the size limit rejects PAYLOAD_TOO_LARGE and stores nothing; one at the limit is accepted',
    ],
  ],
  [
    'constantAttempt',
    [
      'a failing job is delivered with attempts 1..n, then dead-lettered with its last error',
      'the delivery token rises with every delivery of a job, across retries',
    ],
  ],
];

describe('the JobQueue suite fails a broken queue', () => {
  for (const [defect, names] of cases) {
    for (const name of names) {
      it(`${defect}: fails "${name}"`, async () => {
        await expect(runCheck(name, { [defect]: true })).rejects.toThrow();
        // Control: the same check passes on the same wrapper without the defect.
        await runCheck(name, {});
      }, 200_000);
    }
  }
});
