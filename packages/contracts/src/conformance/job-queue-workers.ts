import { ErrorCodes } from '../errors.js';
import type { JobQueue } from '../ports/job-queue.js';
import { expect } from './assert.js';
import { aborted, gate, jobId, type Seen, waitFor, waitForState, withWorker } from './job-queue-support.js';
import { type ConformanceCheck, expectInfrastructureError, sleep } from './shared.js';

/**
 * Slack of the "not early" checks, ms: a server may keep time at a coarser grain than the
 * test's `Date.now()` (never a check that a job came on time: only that it did not come early).
 */
const EARLY_SLACK_MS = 5;

/** Checks of scheduling: delays, run-at times and priorities. */
export function scheduleChecks(): ConformanceCheck<JobQueue>[] {
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
  ];
}

/** Checks of workers: concurrency, pause and resume, drain, close with a grace period. */
export function workerChecks(): ConformanceCheck<JobQueue>[] {
  return [
    {
      name: 'a worker never runs more deliveries at once than its concurrency, and reaches it',
      timeoutMs: 60_000,
      async run(queue) {
        const full = gate();
        let running = 0;
        let most = 0;
        // Opens the gate after a while even if the concurrency is never reached, so that the
        // check fails on the count instead of hanging.
        const fallback = setTimeout(() => full.open(), 8000);
        try {
          await withWorker(
            queue,
            async () => {
              running += 1;
              most = Math.max(most, running);
              if (running === 4) full.open();
              await full.promise;
              running -= 1;
            },
            { concurrency: 4 },
            async (_seen, worker) => {
              await queue.enqueueMany(Array.from({ length: 20 }, (_, i) => ({ payload: i })));
              await waitFor(() => full.opened, 'four deliveries at once');
              expect(worker.running).toBeLessThanOrEqual(4);
              await queue.drain({ timeoutMs: 30_000 });
            },
          );
        } finally {
          clearTimeout(fallback);
        }
        expect(most).toBe(4);
      },
    },
    {
      name: 'pause stops deliveries to every worker, enqueueing goes on, and resume restarts them',
      async run(queue) {
        await queue.pause();
        expect(await queue.isPaused()).toBe(true);
        await withWorker(
          queue,
          () => undefined,
          { concurrency: 2 },
          async (seen) => {
            await queue.enqueueMany([{ payload: 1 }, { payload: 2 }, { payload: 3 }]);
            // A negative check: deliveries that were going to happen would have by now.
            await sleep(200);
            expect(seen).toHaveLength(0);
            expect((await queue.counts()).waiting).toBe(3);
            await queue.resume();
            expect(await queue.isPaused()).toBe(false);
            await queue.drain({ timeoutMs: 20_000 });
            expect(seen.map((s) => s.payload).sort()).toEqual([1, 2, 3]);
          },
        );
      },
    },
    {
      name: 'drain resolves once every job completed or was dead-lettered, and rejects TIMEOUT while jobs remain',
      async run(queue) {
        await queue.drain();
        const [ok, bad] = [jobId(), jobId()];
        await queue.enqueue('ok', { id: ok });
        await queue.enqueue('bad', { id: bad, attempts: 1 });
        await expectInfrastructureError(() => queue.drain({ timeoutMs: 100 }), ErrorCodes.TIMEOUT);
        await withWorker(
          queue,
          (job) => {
            if (job.id === bad) throw new Error('bad');
          },
          {},
          async () => {
            await queue.drain({ timeoutMs: 20_000 });
            expect((await queue.getJob(ok))?.state).toBe('completed');
            expect((await queue.getJob(bad))?.state).toBe('dead-lettered');
          },
        );
      },
    },
    {
      name: 'worker close lets deliveries finish within the grace period, then aborts the rest and hands them back without using an attempt',
      timeoutMs: 60_000,
      async run(queue) {
        const [quick, slow, later] = [jobId(), jobId(), jobId()];
        const closing = gate();
        const seenByFirst: Seen[] = [];
        const first = queue.process(
          async (job) => {
            seenByFirst.push({
              id: job.id,
              payload: job.payload,
              attempt: job.attempt,
              maxAttempts: job.maxAttempts,
              token: job.deliveryToken,
              signal: job.signal,
              job,
            });
            await closing.promise;
            if (job.id === slow) await aborted(job.signal, 20_000);
          },
          { concurrency: 2 },
        );
        await queue.enqueue('quick', { id: quick });
        await queue.enqueue('slow', { id: slow });
        await waitFor(() => seenByFirst.length === 2, 'both deliveries to the first worker');
        const closed = first.close({ graceMs: 1000 });
        closing.open();
        await closed;
        const slowRun = seenByFirst.find((s) => s.id === slow) as Seen;
        expect(slowRun.signal.aborted).toBe(true);
        expect(await queue.getJob(quick)).toMatchObject({ state: 'completed', failures: 0 });
        expect(await queue.getJob(slow)).toMatchObject({ state: 'waiting', failures: 0 });
        await queue.enqueue('later', { id: later });
        await withWorker(
          queue,
          () => undefined,
          {},
          async (seen) => {
            await queue.drain({ timeoutMs: 20_000 });
            const again = seen.find((s) => s.id === slow);
            expect(again?.attempt).toBe(1);
            expect(again?.token).toBeGreaterThan(slowRun.token);
            expect(seen.map((s) => s.id).sort()).toEqual([slow, later].sort());
          },
        );
        expect(seenByFirst).toHaveLength(2);
        await waitForState(queue, slow, 'completed');
      },
    },
  ];
}
