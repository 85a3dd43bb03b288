import { afterEach, describe, expect, it } from '@jest/globals';
import { waitFor } from '../src/conformance/job-queue-support.js';
import { ManualClock, MemoryJobQueue, type MemoryJobQueueOptions } from '../src/memory.js';
import type { JobDelivery, JobHandler } from '../src/ports/job-queue.js';

const START = 1_000_000;
const queues: MemoryJobQueue[] = [];
afterEach(async () => {
  for (const queue of queues.splice(0)) await queue.close({ graceMs: 0 });
});

function setup(options: MemoryJobQueueOptions = {}, handler?: JobHandler) {
  const clock = new ManualClock(START);
  const queue = new MemoryJobQueue('unit', { clock, ...options });
  queues.push(queue);
  const seen: JobDelivery[] = [];
  const worker = queue.process((job) => {
    seen.push(job);
    return handler?.(job);
  });
  return { clock, queue, seen, worker };
}

const state = async (queue: MemoryJobQueue, id: string) => (await queue.getJob(id))?.state;

describe('MemoryJobQueue after close', () => {
  it('refuses a new worker with INVALID_ARGUMENT, as the Redis queue does', async () => {
    const queue = new MemoryJobQueue('closed');
    await queue.close();
    expect(() => queue.process(() => undefined)).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    );
  });
});

describe('MemoryJobQueue on a ManualClock', () => {
  it('delivers a delayed job only once the clock reaches its time', async () => {
    const { clock, queue, seen } = setup();
    const { id } = await queue.enqueue('later', { delayMs: 5000 });
    const at = await queue.enqueue('at', { runAt: new Date(START + 8000) });
    expect(await queue.counts()).toMatchObject({ waiting: 0, delayed: 2 });
    clock.advance(4999);
    expect(await state(queue, id)).toBe('delayed');
    clock.advance(1);
    await waitFor(() => seen.length === 1, 'the delayed job');
    expect(seen[0]?.id).toBe(id);
    clock.set(START + 7999);
    expect(await state(queue, at.id)).toBe('delayed');
    clock.set(START + 8000);
    await waitFor(() => seen.length === 2, 'the run-at job');
    expect(seen[1]?.payload).toBe('at');
  });

  it('waits an exponential, capped backoff between attempts (jitter at its top)', async () => {
    const { clock, queue, seen } = setup({ random: () => 0.999_999 }, () => {
      throw new Error('down');
    });
    const { id } = await queue.enqueue('x', {
      attempts: 4,
      backoff: { initialMs: 1000, factor: 2, maxMs: 3000 },
    });
    for (const [attempt, wait] of [
      [1, 1000],
      [2, 2000],
      [3, 3000],
    ] as const) {
      await waitFor(
        async () => seen.length === attempt && (await state(queue, id)) === 'delayed',
        `failure ${attempt}`,
      );
      clock.advance(wait - 1);
      expect(await state(queue, id)).toBe('delayed');
      clock.advance(1);
      await waitFor(() => seen.length === attempt + 1, `attempt ${attempt + 1}`);
    }
    await waitFor(async () => (await state(queue, id)) === 'dead-lettered', 'the dead letter');
    expect(seen.map((job) => job.attempt)).toEqual([1, 2, 3, 4]);
    const [letter] = await queue.deadLetters();
    expect(letter).toMatchObject({
      id,
      attempts: 4,
      failedAt: START + 6000,
      error: { name: 'Error', message: 'down' },
    });
  });

  it('retries at once when the jitter draws 0', async () => {
    const { queue, seen } = setup({ random: () => 0 }, () => {
      throw new Error('down');
    });
    const { id } = await queue.enqueue('x', { attempts: 3, backoff: { initialMs: 60_000 } });
    await waitFor(async () => (await state(queue, id)) === 'dead-lettered', 'the dead letter');
    expect(seen).toHaveLength(3);
  });

  it('aborts a delivery when its timeout passes on the clock, and counts it as failed', async () => {
    const { clock, queue, seen } = setup(
      {},
      (job) => new Promise((resolve) => job.signal.addEventListener('abort', () => resolve())),
    );
    const { id } = await queue.enqueue('x', { attempts: 1, timeoutMs: 1000 });
    await waitFor(() => seen.length === 1, 'the delivery');
    clock.advance(999);
    expect(await state(queue, id)).toBe('active');
    clock.advance(1);
    await waitFor(() => seen[0]?.signal.aborted === true, 'the abort');
    expect(seen[0]?.signal.reason).toMatchObject({ code: 'TIMEOUT' });
    await waitFor(async () => (await state(queue, id)) === 'dead-lettered', 'the dead letter');
  });

  it('a lease lapses when the clock jumps past it: the signal aborts and the job comes back with a higher token', async () => {
    let calls = 0;
    const { clock, queue, seen } = setup({ leaseMs: 1000 }, async (job) => {
      calls += 1;
      if (calls === 1)
        await new Promise<void>((resolve) => job.signal.addEventListener('abort', () => resolve()));
    });
    const { id } = await queue.enqueue('x');
    await waitFor(() => seen.length === 1, 'the delivery');
    clock.advance(1000);
    await waitFor(() => seen.length === 2, 'the second delivery');
    expect(seen[0]?.signal.reason).toMatchObject({ code: 'LOCK_LOST' });
    expect(seen.map((job) => [job.attempt, job.deliveryToken])).toEqual([
      [1, 1],
      [1, 2],
    ]);
    await waitFor(async () => (await state(queue, id)) === 'completed', 'completion');
    expect(await queue.getJob(id)).toEqual({ id, state: 'completed', failures: 0, deliveryToken: 2 });
  });

  it('remembers a completed id for idRetentionMs, then forgets it', async () => {
    const { clock, queue } = setup({ idRetentionMs: 60_000 });
    await queue.enqueue('x', { id: 'once' });
    await waitFor(async () => (await state(queue, 'once')) === 'completed', 'completion');
    clock.advance(59_999);
    expect(await queue.enqueue('y', { id: 'once' })).toEqual({ id: 'once', created: false });
    clock.advance(1);
    expect(await queue.getJob('once')).toBeUndefined();
    expect(await queue.enqueue('z', { id: 'once' })).toEqual({ id: 'once', created: true });
  });

  it('gives each delivery its own copy of the payload', async () => {
    const { queue, seen } = setup({ random: () => 0 }, (job) => {
      (job.payload as { list: number[] }).list.push(99);
      if (job.attempt === 1) throw new Error('again');
    });
    const { id } = await queue.enqueue({ list: [1] });
    await waitFor(async () => (await state(queue, id)) === 'completed', 'completion');
    expect(seen.map((job) => job.payload)).toEqual([{ list: [1, 99] }, { list: [1, 99] }]);
  });
});

describe('MemoryJobQueue construction', () => {
  it('refuses bad names and options with INVALID_ARGUMENT', () => {
    const invalid = expect.objectContaining({ code: 'INVALID_ARGUMENT' });
    for (const make of [
      () => new MemoryJobQueue(''),
      () => new MemoryJobQueue('x'.repeat(257)),
      () => new MemoryJobQueue('a\ud800'),
      () => new MemoryJobQueue('q', 'options' as never),
      () => new MemoryJobQueue('q', { leaseMs: 0 }),
      () => new MemoryJobQueue('q', { maxPayloadBytes: 0 }),
      () => new MemoryJobQueue('q', { idRetentionMs: -1 }),
      () => new MemoryJobQueue('q', { clock: {} as never }),
      () => new MemoryJobQueue('q', { random: 0.5 as never }),
    ]) {
      expect(make).toThrow(invalid);
    }
  });
});
