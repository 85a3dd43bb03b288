import type { JobCounts, JobQueue } from '../ports/job-queue.js';
import { expect } from './assert.js';
import { gate, jobId, waitFor, waitForState, withWorker } from './job-queue-support.js';
import { type ConformanceCheck, sleep } from './shared.js';

/**
 * Slack of the age bounds, ms: a server keeps time at a coarser grain than `Date.now()`, and a
 * timer may fire a fraction of a ms early. The bounds are not speed assertions: a sleep is never
 * shorter than asked, and a job can never be older than the time since before its enqueue.
 */
const SLACK_MS = 5;

/** Checks of `counts().oldestWaitingMs` when nothing waits: it is 0. */
export function idleAgeChecks(): ConformanceCheck<JobQueue>[] {
  return [
    {
      name: 'oldestWaitingMs is 0 when no job waits: an empty queue, delayed jobs not yet due, an active job',
      async run(queue) {
        expect((await queue.counts()).oldestWaitingMs).toBe(0);
        await queue.enqueue('later', { delayMs: 600_000 });
        await queue.enqueue('at', { runAt: Date.now() + 600_000 });
        expect(await queue.counts()).toMatchObject({ waiting: 0, delayed: 2, oldestWaitingMs: 0 });
        const hold = gate();
        const id = jobId();
        await queue.enqueue('held', { id });
        await withWorker(
          queue,
          () => hold.promise,
          { concurrency: 1 },
          async () => {
            await waitForState(queue, id, 'active');
            expect(await queue.counts()).toMatchObject({ waiting: 0, active: 1, oldestWaitingMs: 0 });
            hold.open();
            await waitForState(queue, id, 'completed');
          },
        );
        expect(await queue.counts()).toMatchObject({ waiting: 0, delayed: 2, oldestWaitingMs: 0 });
      },
    },
  ];
}

/** Checks of `counts().oldestWaitingMs` while jobs wait: which job counts, its unit, and that it grows. */
export function waitingAgeChecks(): ConformanceCheck<JobQueue>[] {
  return [
    {
      name: 'oldestWaitingMs is the age in ms of the job that has waited longest, whatever its priority, and grows while it waits',
      async run(queue) {
        const start = Date.now();
        await queue.enqueue('low', { priority: 'low' });
        await sleep(60);
        await queue.enqueue('high', { priority: 'high' });
        const first = await queue.counts();
        await sleep(60);
        const second = await queue.counts();
        const elapsed = Date.now() - start;
        expect(first.waiting).toBe(2);
        // The low job (behind the high one in line) has waited at least the sleeps since its
        // enqueue resolved, and at most the time since before its enqueue.
        expect(first.oldestWaitingMs).toBeGreaterThanOrEqual(60 - SLACK_MS);
        expect(second.oldestWaitingMs).toBeGreaterThanOrEqual(first.oldestWaitingMs);
        expect(second.oldestWaitingMs).toBeGreaterThanOrEqual(120 - SLACK_MS);
        expect(second.oldestWaitingMs).toBeLessThanOrEqual(elapsed + SLACK_MS);
      },
    },
    {
      name: 'a delayed job counts towards oldestWaitingMs from its due time, not from its enqueue',
      async run(queue) {
        const delayMs = 300;
        const start = Date.now();
        await queue.enqueue('soon', { delayMs });
        let due: JobCounts | undefined;
        await waitFor(async () => {
          due = await queue.counts();
          return due.waiting === 1;
        }, 'the delayed job to be due');
        const seen = Date.now() - start;
        await sleep(60);
        const later = await queue.counts();
        const elapsed = Date.now() - start;
        // Ready `delayMs` after its enqueue (it was not before): its age is at most the time since.
        expect((due as JobCounts).oldestWaitingMs).toBeGreaterThanOrEqual(0);
        expect((due as JobCounts).oldestWaitingMs).toBeLessThanOrEqual(seen - delayMs + SLACK_MS);
        expect(later.oldestWaitingMs).toBeGreaterThanOrEqual(60 - SLACK_MS);
        expect(later.oldestWaitingMs).toBeLessThanOrEqual(elapsed - delayMs + SLACK_MS);
      },
    },
  ];
}
