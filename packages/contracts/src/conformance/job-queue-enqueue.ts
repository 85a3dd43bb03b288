import { ErrorCodes } from '../errors.js';
import type { EnqueueOptions, JobQueue } from '../ports/job-queue.js';
import { expect } from './assert.js';
import { type JobQueueCheckSettings, jobId, waitFor, waitForState, withWorker } from './job-queue-support.js';
import { type ConformanceCheck, expectInfrastructureError } from './shared.js';

const { INVALID_ARGUMENT, PAYLOAD_TOO_LARGE } = ErrorCodes;

async function expectEmpty(queue: JobQueue): Promise<void> {
  expect(await queue.counts()).toEqual({
    waiting: 0,
    delayed: 0,
    active: 0,
    deadLettered: 0,
    oldestWaitingMs: 0,
  });
}

/** Options that each break one rule of `EnqueueOptions`. */
function badOptions(): [string, unknown][] {
  return [
    ['an empty id', { id: '' }],
    ['an id of 257 characters', { id: 'x'.repeat(257) }],
    ['an id with a lone surrogate', { id: `${jobId()}\ud800` }],
    ['a number id', { id: 42 }],
    ['a negative delay', { delayMs: -1 }],
    ['a NaN delay', { delayMs: Number.NaN }],
    ['a delay of 2^31 ms', { delayMs: 2 ** 31 }],
    ['a string delay', { delayMs: '10' }],
    ['delayMs with runAt', { delayMs: 10, runAt: Date.now() + 10 }],
    ['an invalid Date', { runAt: new Date(Number.NaN) }],
    ['a string runAt', { runAt: 'tomorrow' }],
    ['an unknown priority', { priority: 'urgent' }],
    ['0 attempts', { attempts: 0 }],
    ['1.5 attempts', { attempts: 1.5 }],
    ['1001 attempts', { attempts: 1001 }],
    ['a negative initial backoff', { backoff: { initialMs: -1 } }],
    ['a backoff factor below 1', { backoff: { factor: 0.5 } }],
    ['a NaN backoff maximum', { backoff: { maxMs: Number.NaN } }],
    ['a number backoff', { backoff: 5 }],
    ['a zero timeout', { timeoutMs: 0 }],
    ['an infinite timeout', { timeoutMs: Number.POSITIVE_INFINITY }],
    ['a string as options', 'high'],
    ['null as options', null],
  ];
}

function circular(): unknown {
  const value: Record<string, unknown> = { a: 1 };
  value.self = value;
  return value;
}

/** Checks of enqueueing: payload round trips, idempotent ids, `enqueueMany`, limits and validation. */
export function enqueueChecks(settings: JobQueueCheckSettings): ConformanceCheck<JobQueue>[] {
  return [
    {
      name: 'a JSON payload comes back as a JSON round trip gives it, and a later change by the caller changes nothing',
      async run(queue) {
        const payload = {
          text: 'é😀\u0000"\\',
          n: -1.5e-7,
          list: [1, 'two', null, true, { deep: [[]] }],
          date: new Date(0),
          gone: undefined,
        };
        const expected = JSON.parse(JSON.stringify(payload));
        const before = Date.now();
        const { id, created } = await queue.enqueue(payload);
        expect(created).toBe(true);
        expect(typeof id).toBe('string');
        expect(id.length).toBeGreaterThan(0);
        payload.list.push('added later');
        payload.text = 'changed';
        expect(await queue.getJob(id)).toEqual({
          id,
          state: 'waiting',
          payload: expected,
          failures: 0,
          deliveryToken: 0,
        });
        await withWorker(
          queue,
          () => undefined,
          {},
          async (seen) => {
            await waitForState(queue, id, 'completed');
            expect(seen).toHaveLength(1);
            const job = seen[0]?.job;
            expect(job?.payload).toEqual(expected);
            expect(job).toMatchObject({ id, queue: queue.name, attempt: 1, maxAttempts: 3 });
            expect(job?.deliveryToken).toBeGreaterThan(0);
            expect(job?.signal.aborted).toBe(false);
            // Same machine, but the server's clock may round differently: a second either way.
            expect(job?.enqueuedAt).toBeGreaterThanOrEqual(before - 1000);
            expect(job?.enqueuedAt).toBeLessThanOrEqual(Date.now() + 1000);
          },
        );
        expect(await queue.getJob(id)).toMatchObject({ id, state: 'completed', failures: 0 });
      },
    },
    {
      name: 'a byte payload with all 256 byte values comes back as the same bytes in a Uint8Array',
      async run(queue) {
        const bytes = new Uint8Array(512).map((_, i) => i % 256);
        const expected = Buffer.from(bytes);
        const { id } = await queue.enqueue(bytes);
        bytes.fill(7);
        const stored = (await queue.getJob(id))?.payload;
        expect(stored).toBeInstanceOf(Uint8Array);
        expect(Buffer.from(stored as Uint8Array).equals(expected)).toBe(true);
        await withWorker(
          queue,
          () => undefined,
          {},
          async (seen) => {
            await waitFor(() => seen.length === 1, 'the delivery');
            const delivered = seen[0]?.payload;
            expect(delivered).toBeInstanceOf(Uint8Array);
            expect(Buffer.from(delivered as Uint8Array).equals(expected)).toBe(true);
          },
        );
      },
    },
    {
      name: 'an id makes enqueue idempotent: created false and nothing stored, while waiting and after completion',
      async run(queue) {
        const id = jobId();
        expect(await queue.enqueue({ n: 1 }, { id })).toEqual({ id, created: true });
        expect(await queue.enqueue({ n: 2 }, { id, priority: 'high' })).toEqual({ id, created: false });
        expect((await queue.counts()).waiting).toBe(1);
        expect((await queue.getJob(id))?.payload).toEqual({ n: 1 });
        await withWorker(
          queue,
          () => undefined,
          {},
          async (seen) => {
            await waitForState(queue, id, 'completed');
            expect(await queue.enqueue({ n: 3 }, { id })).toEqual({ id, created: false });
            await queue.drain({ timeoutMs: 20_000 });
            expect(seen.map((s) => s.payload)).toEqual([{ n: 1 }]);
          },
        );
        const [a, b] = [await queue.enqueue('x'), await queue.enqueue('x')];
        expect(a.created && b.created).toBe(true);
        expect(a.id).not.toBe(b.id);
      },
    },
    {
      name: 'enqueueMany stores the jobs in order and returns results in order; an existing id reports created false',
      async run(queue) {
        const existing = jobId();
        await queue.enqueue('first', { id: existing });
        const ids = [jobId(), jobId(), jobId(), jobId()];
        const results = await queue.enqueueMany([
          { payload: 0, options: { id: ids[0] } },
          { payload: 1, options: { id: ids[1] } },
          { payload: 'dup', options: { id: existing } },
          { payload: 2, options: { id: ids[2] } },
          { payload: 3, options: { id: ids[3] } },
          { payload: 4 },
        ]);
        expect(results.slice(0, 5)).toEqual([
          { id: ids[0], created: true },
          { id: ids[1], created: true },
          { id: existing, created: false },
          { id: ids[2], created: true },
          { id: ids[3], created: true },
        ]);
        expect(results[5]?.created).toBe(true);
        expect(await queue.enqueueMany([])).toEqual([]);
        await withWorker(
          queue,
          () => undefined,
          { concurrency: 1 },
          async (seen) => {
            await waitFor(() => seen.length === 6, 'six deliveries');
            expect(seen.map((s) => s.payload)).toEqual(['first', 0, 1, 2, 3, 4]);
          },
        );
      },
    },
    {
      name: 'enqueueMany validates every job before storing any: one bad job stores nothing',
      async run(queue) {
        const [a, b] = [jobId(), jobId()];
        await expectInfrastructureError(
          () =>
            queue.enqueueMany([
              { payload: 1, options: { id: a } },
              { payload: 2, options: { id: b, attempts: 0 } },
            ]),
          INVALID_ARGUMENT,
        );
        await expectInfrastructureError(
          () =>
            queue.enqueueMany([
              { payload: 1, options: { id: a } },
              { payload: new Uint8Array(settings.maxPayloadBytes + 1), options: { id: b } },
            ]),
          PAYLOAD_TOO_LARGE,
        );
        for (const bad of [null, 'jobs', [null], [{ payload: () => 1 }], [{ payload: 1, options: 5 }]]) {
          await expectInfrastructureError(
            () => queue.enqueueMany(bad as unknown as Parameters<JobQueue['enqueueMany']>[0]),
            INVALID_ARGUMENT,
          );
        }
        expect(await queue.getJob(a)).toBeUndefined();
        expect(await queue.getJob(b)).toBeUndefined();
        await expectEmpty(queue);
      },
    },
    {
      name: 'a payload over the size limit rejects PAYLOAD_TOO_LARGE and stores nothing; one at the limit is accepted',
      async run(queue) {
        const limit = settings.maxPayloadBytes;
        const id = jobId();
        await expectInfrastructureError(
          () => queue.enqueue(new Uint8Array(limit + 1), { id }),
          PAYLOAD_TOO_LARGE,
        );
        // JSON counts as its UTF-8 text: the quotes make this string two bytes too many.
        await expectInfrastructureError(() => queue.enqueue('x'.repeat(limit), { id }), PAYLOAD_TOO_LARGE);
        expect(await queue.getJob(id)).toBeUndefined();
        await expectEmpty(queue);
        expect(await queue.enqueue(new Uint8Array(limit).fill(255), { id })).toEqual({ id, created: true });
        expect(await queue.enqueue('x'.repeat(limit - 2), { id: jobId() })).toMatchObject({ created: true });
      },
    },
    {
      name: 'bad options and payloads reject INVALID_ARGUMENT before anything is stored',
      async run(queue) {
        for (const [, options] of badOptions()) {
          const id = jobId();
          const withId =
            typeof options === 'object' && options !== null && !('id' in options)
              ? { ...options, id }
              : options;
          await expectInfrastructureError(
            () => queue.enqueue('p', withId as EnqueueOptions),
            INVALID_ARGUMENT,
          );
          expect(await queue.getJob(id)).toBeUndefined();
        }
        for (const payload of [undefined, () => 1, Symbol('s'), 10n, circular()]) {
          await expectInfrastructureError(() => queue.enqueue(payload, { id: jobId() }), INVALID_ARGUMENT);
        }
        await expectEmpty(queue);
        for (const id of ['', 'x'.repeat(257), 7, `${jobId()}\udfff`] as unknown as string[]) {
          await expectInfrastructureError(() => queue.getJob(id), INVALID_ARGUMENT);
          await expectInfrastructureError(() => queue.retryDeadLetter(id), INVALID_ARGUMENT);
          await expectInfrastructureError(() => queue.removeDeadLetter(id), INVALID_ARGUMENT);
        }
        for (const options of [{ offset: -1 }, { limit: 0 }, { limit: 1.5 }, 'all']) {
          await expectInfrastructureError(
            () => queue.deadLetters(options as { limit?: number }),
            INVALID_ARGUMENT,
          );
        }
        for (const timeoutMs of [0, -1, Number.NaN, '5']) {
          await expectInfrastructureError(
            () => queue.drain({ timeoutMs: timeoutMs as number }),
            INVALID_ARGUMENT,
          );
        }
        for (const options of [{ concurrency: 0 }, { concurrency: 1.5 }, { concurrency: 1001 }, 'many']) {
          await expectInfrastructureError(
            () => queue.process(() => undefined, options as { concurrency?: number }),
            INVALID_ARGUMENT,
          );
        }
        await expectInfrastructureError(
          () => queue.process('handler' as unknown as () => void),
          INVALID_ARGUMENT,
        );
        await expectEmpty(queue);
      },
    },
  ];
}
