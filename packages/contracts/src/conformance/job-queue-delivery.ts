import type { JobQueue } from '../ports/job-queue.js';
import { expect } from './assert.js';
import {
  aborted,
  FAST,
  failure,
  gate,
  type JobQueueCheckSettings,
  jobId,
  waitFor,
  waitForEnd,
  waitForState,
  withWorker,
} from './job-queue-support.js';
import { type ConformanceCheck, sleep } from './shared.js';

const strictlyRising = (tokens: number[]): boolean =>
  tokens.every((t, i) => i === 0 || t > (tokens[i - 1] as number));

function leaseLossCheck(
  expireLease: NonNullable<JobQueueCheckSettings['expireLease']>,
): ConformanceCheck<JobQueue> {
  return {
    name: 'a lost lease aborts the signal; the job is delivered again with a higher token, without using an attempt',
    timeoutMs: 120_000,
    async run(queue) {
      const id = jobId();
      await queue.enqueue('leased', { id, attempts: 1 });
      const second = gate();
      const firstDone = gate();
      let firstSawAbort = false;
      let deliveries = 0;
      await withWorker(
        queue,
        async (job) => {
          deliveries += 1;
          if (deliveries === 1) {
            // The first delivery outlives its lease, then resolves: a result that must not count.
            firstSawAbort = await aborted(job.signal, 30_000);
            firstDone.open();
            return;
          }
          await second.promise;
        },
        { concurrency: 2 },
        async (seen) => {
          await waitFor(() => seen.length === 1, 'the first delivery');
          await expireLease(queue, id);
          await waitFor(() => seen.length === 2, 'a second delivery after the lease lapsed', 40_000);
          await waitFor(() => firstDone.opened, 'the first delivery to end', 40_000);
          expect(firstSawAbort).toBe(true);
          const [a, b] = seen;
          expect(b?.attempt).toBe(1);
          expect(b?.token).toBeGreaterThan(a?.token as number);
          // The attempt does not count a lost lease; the delivery count does.
          expect([a?.job.deliveryCount, b?.job.deliveryCount]).toEqual([1, 2]);
          // The first handler resolved after its lease was lost: the job is still the second's.
          expect((await queue.getJob(id))?.state).toBe('active');
          second.open();
          await waitForState(queue, id, 'completed');
          expect(await queue.getJob(id)).toMatchObject({ failures: 0, deliveryToken: b?.token });
        },
      );
    },
  };
}

/** A job that keeps failing uses every attempt, then becomes a dead letter with its last error. */
function exhaustedAttemptsCheck(): ConformanceCheck<JobQueue> {
  return {
    name: 'a failing job is delivered with attempts 1..n, then dead-lettered with its last error',
    async run(queue) {
      const id = jobId();
      const before = Date.now();
      await queue.enqueue({ order: 7 }, { id, attempts: 3, backoff: FAST });
      await withWorker(
        queue,
        (job) => {
          if (job.attempt < 3) throw new Error(`fail ${job.attempt}`);
          throw failure('BoomError', 'boom 3', 'BOOM');
        },
        {},
        async (seen) => {
          await waitForState(queue, id, 'dead-lettered');
          expect(seen.map((s) => [s.attempt, s.maxAttempts])).toEqual([
            [1, 3],
            [2, 3],
            [3, 3],
          ]);
          const letters = await queue.deadLetters();
          expect(letters).toHaveLength(1);
          expect(letters[0]).toMatchObject({
            id,
            payload: { order: 7 },
            attempts: 3,
            error: { name: 'BoomError', message: 'boom 3', code: 'BOOM' },
          });
          expect(letters[0]?.failedAt).toBeGreaterThanOrEqual(before - 1000);
          expect(await queue.getJob(id)).toMatchObject({ state: 'dead-lettered', failures: 3 });
          await sleep(100);
          expect(seen).toHaveLength(3);
        },
      );
    },
  };
}

/** Checks of retries: each failed delivery is retried with the next attempt and a higher token. */
export function retryChecks(): ConformanceCheck<JobQueue>[] {
  return [
    exhaustedAttemptsCheck(),
    {
      name: 'the delivery token rises with every delivery of a job, across retries',
      async run(queue) {
        const id = jobId();
        await queue.enqueue('t', { id, attempts: 4, backoff: FAST });
        await withWorker(
          queue,
          (job) => {
            if (job.attempt < 4) throw new Error('again');
          },
          {},
          async (seen) => {
            await waitForEnd(queue, id, 'completed');
            const tokens = seen.map((s) => s.token);
            expect(seen.map((s) => s.attempt)).toEqual([1, 2, 3, 4]);
            expect(seen.map((s) => s.job.deliveryCount)).toEqual([1, 2, 3, 4]);
            expect(strictlyRising(tokens)).toBe(true);
            expect(tokens[0]).toBeGreaterThan(0);
            expect(await queue.getJob(id)).toMatchObject({ failures: 3, deliveryToken: tokens[3] });
          },
        );
      },
    },
    {
      name: 'a job enqueued again under the id of a removed one gets tokens above the removed one’s',
      async run(queue) {
        // A store fencing on the token has seen the old job's: the new job's must pass it, and a
        // late completion of an old delivery must not pass for the new job's.
        const id = jobId();
        await queue.enqueue('old', { id, attempts: 2, backoff: FAST });
        await withWorker(
          queue,
          (job) => {
            if (job.payload === 'old') throw new Error('fails for good');
          },
          {},
          async (seen) => {
            await waitForState(queue, id, 'dead-lettered');
            expect(await queue.removeDeadLetter(id)).toBe(true);
            expect(await queue.getJob(id)).toBeUndefined();
            expect((await queue.enqueue('new', { id })).created).toBe(true);
            await waitForEnd(queue, id, 'completed');
            const old = seen.filter((s) => s.payload === 'old').map((s) => s.token);
            const fresh = seen.filter((s) => s.payload === 'new').map((s) => s.token);
            expect(old).toHaveLength(2);
            expect(fresh).toHaveLength(1);
            expect(fresh[0]).toBeGreaterThan(Math.max(...old));
            // The count is the new job's own.
            expect(seen.filter((s) => s.payload === 'new').map((s) => s.job.deliveryCount)).toEqual([1]);
          },
        );
      },
    },
  ];
}

/**
 * Checks of deliveries cut short: a lost lease (with the `expireLease` hook only) and a handler
 * that overruns its timeout both abort the delivery's signal.
 */
export function abortChecks(settings: JobQueueCheckSettings): ConformanceCheck<JobQueue>[] {
  const handlerTimeout: ConformanceCheck<JobQueue> = {
    name: 'a handler that overruns timeoutMs sees its signal abort, and the delivery counts as failed',
    timeoutMs: 60_000,
    async run(queue) {
      const [retried, dead] = [jobId(), jobId()];
      await queue.enqueue('retried', { id: retried, attempts: 2, timeoutMs: 50, backoff: FAST });
      await queue.enqueue('dead', { id: dead, attempts: 1, timeoutMs: 50 });
      const sawAbort: string[] = [];
      await withWorker(
        queue,
        async (job) => {
          if (job.id === retried && job.attempt === 2) return;
          if (await aborted(job.signal, 10_000)) sawAbort.push(job.id);
        },
        { concurrency: 2 },
        async (seen) => {
          await waitForEnd(queue, dead, 'dead-lettered');
          await waitForEnd(queue, retried, 'completed');
          expect(sawAbort.sort()).toEqual([retried, dead].sort());
          expect(seen.filter((s) => s.id === retried).map((s) => s.attempt)).toEqual([1, 2]);
          expect(await queue.getJob(retried)).toMatchObject({ failures: 1 });
          const [letter] = await queue.deadLetters();
          expect(letter).toMatchObject({ id: dead, attempts: 1, error: { code: 'TIMEOUT' } });
        },
      );
    },
  };
  return settings.expireLease === undefined
    ? [handlerTimeout]
    : [leaseLossCheck(settings.expireLease), handlerTimeout];
}

/** Checks of dead letters: listing, paging, retrying and removing them. */
export function deadLetterChecks(): ConformanceCheck<JobQueue>[] {
  return [
    {
      name: 'a dead letter keeps at most 2,000 characters of its error message (and 200 of its name and code)',
      async run(queue) {
        const id = jobId();
        await queue.enqueue('huge error', { id, attempts: 1 });
        const message = `first line\n${'x'.repeat(200_000)}`;
        await withWorker(
          queue,
          () => {
            throw Object.assign(new Error(message), { name: 'N'.repeat(300), code: 'C'.repeat(300) });
          },
          {},
          async () => {
            await waitForState(queue, id, 'dead-lettered');
            const [letter] = await queue.deadLetters();
            expect(letter?.id).toBe(id);
            const error = letter?.error as { name: string; message: string; code?: string };
            expect(error.message.startsWith(message.slice(0, 2_000))).toBe(true);
            expect(error.message.length).toBeLessThanOrEqual(2_100);
            expect(error.message).toContain(`${message.length - 2_000} more characters`);
            expect(error.name.startsWith('N'.repeat(200))).toBe(true);
            expect(error.name.length).toBeLessThanOrEqual(250);
            expect(error.code?.length).toBeLessThanOrEqual(250);
          },
        );
      },
    },
    {
      name: 'retryDeadLetter puts a dead letter back with fresh attempts; removeDeadLetter deletes it; unknown ids give false',
      async run(queue) {
        const [a, b] = [jobId(), jobId()];
        let failing = true;
        await withWorker(
          queue,
          () => {
            if (failing) throw new Error('down');
          },
          {},
          async (seen) => {
            await queue.enqueue('a', { id: a, attempts: 1 });
            await waitForState(queue, a, 'dead-lettered');
            await queue.enqueue('b', { id: b, attempts: 1 });
            await waitForState(queue, b, 'dead-lettered');
            expect((await queue.deadLetters()).map((d) => d.id)).toEqual([a, b]);
            expect((await queue.deadLetters({ offset: 1, limit: 1 })).map((d) => d.id)).toEqual([b]);
            expect((await queue.deadLetters({ limit: 1 })).map((d) => d.id)).toEqual([a]);
            expect((await queue.counts()).deadLettered).toBe(2);
            failing = false;
            expect(await queue.retryDeadLetter(a)).toBe(true);
            await waitForState(queue, a, 'completed');
            const runs = seen.filter((s) => s.id === a);
            expect(runs.map((s) => s.attempt)).toEqual([1, 1]);
            expect(runs[1]?.token).toBeGreaterThan(runs[0]?.token as number);
            expect(await queue.removeDeadLetter(b)).toBe(true);
            expect(await queue.getJob(b)).toBeUndefined();
            expect(await queue.deadLetters()).toEqual([]);
            for (const id of [a, b, jobId()]) {
              expect(await queue.retryDeadLetter(id)).toBe(false);
              expect(await queue.removeDeadLetter(id)).toBe(false);
            }
            expect(await queue.enqueue('b again', { id: b })).toEqual({ id: b, created: true });
            await waitForState(queue, b, 'completed');
          },
        );
      },
    },
  ];
}

/** Checks of job states, as `counts` and `getJob` report them. */
export function stateChecks(): ConformanceCheck<JobQueue>[] {
  return [
    {
      name: 'counts reports jobs by state, and getJob reports each state',
      async run(queue) {
        const [waiting, delayed, active, dead] = [jobId(), jobId(), jobId(), jobId()];
        await queue.enqueue('d', { id: delayed, delayMs: 600_000 });
        await queue.enqueue('w', { id: waiting });
        expect(await queue.counts()).toMatchObject({ waiting: 1, delayed: 1, active: 0, deadLettered: 0 });
        expect(await queue.getJob(waiting)).toMatchObject({ state: 'waiting', deliveryToken: 0 });
        expect(await queue.getJob(delayed)).toMatchObject({ state: 'delayed', payload: 'd' });
        expect(await queue.getJob(jobId())).toBeUndefined();
        const hold = gate();
        await queue.pause();
        await queue.enqueue('a', { id: active, priority: 'high' });
        await queue.enqueue('x', { id: dead, attempts: 1 });
        await withWorker(
          queue,
          async (job) => {
            if (job.id === active) await hold.promise;
            if (job.id === dead) throw new Error('dead');
          },
          { concurrency: 3 },
          async () => {
            await queue.resume();
            await waitForState(queue, dead, 'dead-lettered');
            await waitForState(queue, waiting, 'completed');
            expect(await queue.getJob(active)).toMatchObject({ state: 'active', failures: 0 });
            expect(((await queue.getJob(active))?.deliveryToken ?? 0) > 0).toBe(true);
            expect(await queue.counts()).toEqual({
              waiting: 0,
              delayed: 1,
              active: 1,
              deadLettered: 1,
              oldestWaitingMs: 0,
            });
            hold.open();
            await waitForState(queue, active, 'completed');
            expect(await queue.counts()).toEqual({
              waiting: 0,
              delayed: 1,
              active: 0,
              deadLettered: 1,
              oldestWaitingMs: 0,
            });
            expect(await queue.getJob(dead)).toMatchObject({ state: 'dead-lettered', failures: 1 });
          },
        );
      },
    },
  ];
}
