import type { JobQueue } from '../ports/job-queue.js';
import { expect } from './assert.js';
import { jobId, waitFor, withWorker } from './job-queue-support.js';
import type { ConformanceCheck } from './shared.js';

/**
 * Slack of the "not early" checks, ms: a server may keep time at a coarser grain than the
 * test's `Date.now()` (never a check that a job came on time: only that it did not come early).
 */
const EARLY_SLACK_MS = 5;

/** Checks of delays: `delayMs` and `runAt` hold a job back until its time. */
export function delayChecks(): ConformanceCheck<JobQueue>[] {
  return [
    {
      name: 'a job with delayMs or runAt is not delivered before its time, and is delivered after it',
      async run(queue) {
        const at = new Map<string, number>();
        const due = new Map<string, number>();
        await withWorker(
          queue,
          (job) => {
            at.set(job.id, Date.now());
          },
          { concurrency: 3 },
          async () => {
            const now = Date.now();
            const [a, b, c, past] = [jobId(), jobId(), jobId(), jobId()];
            due.set(a, now + 150);
            await queue.enqueue('a', { id: a, delayMs: 150 });
            due.set(b, now + 200);
            await queue.enqueue('b', { id: b, runAt: new Date(now + 200) });
            due.set(c, now + 120);
            await queue.enqueue('c', { id: c, runAt: now + 120 });
            due.set(past, 0);
            await queue.enqueue('past', { id: past, runAt: now - 60_000 });
            await waitFor(() => at.size === 4, 'four deliveries');
          },
        );
        for (const [id, when] of at) {
          expect(when).toBeGreaterThanOrEqual((due.get(id) as number) - EARLY_SLACK_MS);
        }
      },
    },
  ];
}

/** Checks of priorities: the order in which waiting jobs are delivered. */
export function priorityChecks(): ConformanceCheck<JobQueue>[] {
  return [
    {
      name: 'high priority jobs are delivered before normal, normal before low, in enqueue order within a level',
      async run(queue) {
        await queue.enqueue('low 1', { priority: 'low' });
        await queue.enqueue('normal 1', { priority: 'normal' });
        await queue.enqueue('high 1', { priority: 'high' });
        await queue.enqueueMany([
          { payload: 'low 2', options: { priority: 'low' } },
          { payload: 'normal 2' },
          { payload: 'high 2', options: { priority: 'high' } },
        ]);
        await queue.enqueue('high 3', { priority: 'high' });
        await withWorker(
          queue,
          () => undefined,
          { concurrency: 1 },
          async (seen) => {
            await waitFor(() => seen.length === 7, 'seven deliveries');
            expect(seen.map((s) => s.payload)).toEqual([
              'high 1',
              'high 2',
              'high 3',
              'normal 1',
              'normal 2',
              'low 1',
              'low 2',
            ]);
          },
        );
      },
    },
    {
      name: 'a job whose runAt has passed waits in enqueue order, not ahead of jobs enqueued before it',
      async run(queue) {
        await queue.enqueue('first');
        await queue.enqueue('past', { runAt: Date.now() - 60_000 });
        await queue.enqueue('last');
        await withWorker(
          queue,
          () => undefined,
          { concurrency: 1 },
          async (seen) => {
            await waitFor(() => seen.length === 3, 'three deliveries');
            expect(seen.map((s) => s.payload)).toEqual(['first', 'past', 'last']);
          },
        );
      },
    },
    {
      name: 'a retried job goes to the back of the line, behind the jobs that waited (also with no backoff)',
      async run(queue) {
        await queue.enqueue('a', { attempts: 2, backoff: { initialMs: 0 } });
        await queue.enqueueMany(['b', 'c', 'd', 'e'].map((payload) => ({ payload })));
        await withWorker(
          queue,
          (job) => {
            if (job.payload === 'a' && job.attempt === 1) throw new Error('once');
          },
          { concurrency: 1 },
          async (seen) => {
            await waitFor(() => seen.length === 6, 'six deliveries');
            expect(seen.map((s) => `${s.payload}${s.attempt}`)).toEqual(['a1', 'b1', 'c1', 'd1', 'e1', 'a2']);
          },
        );
      },
    },
  ];
}
