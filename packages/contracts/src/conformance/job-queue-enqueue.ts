import type { JobQueue } from '../ports/job-queue.js';
import { expect } from './assert.js';
import { jobId, waitFor, waitForState, withWorker } from './job-queue-support.js';
import type { ConformanceCheck } from './shared.js';

/** A JSON payload (changed by the caller after the enqueue) is stored and delivered as JSON gives it. */
function jsonPayloadCheck(): ConformanceCheck<JobQueue> {
  return {
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
  };
}

/** Checks of payloads: what is enqueued is what is stored and delivered. */
export function payloadChecks(): ConformanceCheck<JobQueue>[] {
  return [
    jsonPayloadCheck(),
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
  ];
}

/** Checks of ids: an id makes an enqueue idempotent, alone and within `enqueueMany`. */
export function idempotencyChecks(): ConformanceCheck<JobQueue>[] {
  return [
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
    enqueueManyCheck(),
  ];
}

/** `enqueueMany` keeps the order of its jobs, in its results and in the queue. */
function enqueueManyCheck(): ConformanceCheck<JobQueue> {
  return {
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
  };
}
