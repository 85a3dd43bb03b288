import { ErrorCodes } from '../errors.js';
import type { JobQueue } from '../ports/job-queue.js';
import { expect } from './assert.js';
import { aborted, gate, jobId, type Seen, waitFor, waitForState, withWorker } from './job-queue-support.js';
import { type ConformanceCheck, expectInfrastructureError, sleep } from './shared.js';

/** Checks of a worker's concurrency limit. */
export function concurrencyChecks(): ConformanceCheck<JobQueue>[] {
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
      name: 'a handler past its timeoutMs that ignores its signal keeps its slot until it returns (its job fails at once)',
      timeoutMs: 60_000,
      async run(queue) {
        let running = 0;
        let most = 0;
        let mostReported = 0;
        const ids = [jobId(), jobId(), jobId()];
        await withWorker(
          queue,
          async () => {
            running += 1;
            most = Math.max(most, running);
            // Ignores its signal: CPU-bound work, or a call that takes no signal.
            await sleep(400);
            running -= 1;
          },
          { concurrency: 1 },
          async (seen, worker) => {
            const watch = setInterval(() => {
              mostReported = Math.max(mostReported, worker.running);
            }, 5);
            try {
              await queue.enqueueMany(
                ids.map((id) => ({ payload: id, options: { id, timeoutMs: 50, attempts: 1 } })),
              );
              await waitFor(
                () => seen.length === 3 && running === 0,
                'the three handlers to have run',
                20_000,
              );
              await waitFor(async () => (await queue.counts()).deadLettered === 3, 'three dead letters');
            } finally {
              clearInterval(watch);
            }
          },
        );
        expect(most).toBe(1);
        expect(mostReported).toBe(1);
        const dead = await queue.deadLetters();
        expect(dead.map((d) => d.error.code).sort()).toEqual(['TIMEOUT', 'TIMEOUT', 'TIMEOUT']);
      },
    },
  ];
}

/** Checks of the queue-wide flow of deliveries: pause and resume, and drain. */
export function pauseAndDrainChecks(): ConformanceCheck<JobQueue>[] {
  return [
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
  ];
}

/** Checks of closing a worker: the grace period, then aborted deliveries handed back. */
export function workerCloseChecks(): ConformanceCheck<JobQueue>[] {
  return [
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
    {
      name: 'worker close does not wait for a handler that ignores its aborted signal: its job is handed back, its outcome refused',
      timeoutMs: 60_000,
      async run(queue) {
        const id = jobId();
        const stuck = gate();
        const started = gate();
        const worker = queue.process(async () => {
          started.open();
          await stuck.promise;
        });
        try {
          await queue.enqueue('stuck', { id });
          await started.promise;
          const closed = worker.close({ graceMs: 100 }).then(() => 'closed');
          // Cleared after the race: a pending 15 s timer kept Jest from exiting after the run.
          let timer: NodeJS.Timeout | undefined;
          const hung = new Promise<string>((resolve) => {
            timer = setTimeout(() => resolve('still waiting after 15 s'), 15_000);
          });
          try {
            expect(await Promise.race([closed, hung])).toBe('closed');
          } finally {
            clearTimeout(timer);
          }
          expect(await queue.getJob(id)).toMatchObject({ state: 'waiting', failures: 0 });
        } finally {
          // The handler returns at last: its success must not complete the handed-back job.
          stuck.open();
        }
        await sleep(100);
        expect(await queue.getJob(id)).toMatchObject({ state: 'waiting', failures: 0 });
      },
    },
  ];
}
