import { afterEach, describe, expect, it } from '@jest/globals';
import { waitFor } from '../src/conformance/job-queue-support.js';
import { ManualClock, MemoryJobQueue, type MemoryJobQueueOptions } from '../src/memory.js';

// counts().oldestWaitingMs on a ManualClock: exact ages, from the moment each job became ready.

const START = 1_000_000;
const queues: MemoryJobQueue[] = [];
afterEach(async () => {
  for (const queue of queues.splice(0)) await queue.close({ graceMs: 0 });
});

function setup(options: MemoryJobQueueOptions = {}) {
  const clock = new ManualClock(START);
  const queue = new MemoryJobQueue('age', { clock, ...options });
  queues.push(queue);
  return { clock, queue };
}

/** A handler that never settles: its delivery holds the worker's only slot. */
const hang = () => new Promise<void>(() => undefined);

describe('MemoryJobQueue counts().oldestWaitingMs', () => {
  it('is the age of the longest-waiting ready job, whatever its priority; delayed jobs count from their due time', async () => {
    const { clock, queue } = setup();
    expect((await queue.counts()).oldestWaitingMs).toBe(0);
    await queue.enqueue('low', { priority: 'low' });
    clock.advance(1500);
    expect(await queue.counts()).toMatchObject({ waiting: 1, oldestWaitingMs: 1500 });
    await queue.enqueue('high', { priority: 'high' });
    await queue.enqueue('later', { delayMs: 5000 });
    expect(await queue.counts()).toMatchObject({ waiting: 2, delayed: 1, oldestWaitingMs: 1500 });
    clock.advance(5500);
    expect(await queue.counts()).toMatchObject({ waiting: 3, delayed: 0, oldestWaitingMs: 7000 });
  });

  it('counts a delayed job from its due time, not from its enqueue or from when it was looked at', async () => {
    const { clock, queue } = setup();
    await queue.enqueue('soon', { delayMs: 1000 });
    expect((await queue.counts()).oldestWaitingMs).toBe(0);
    clock.advance(3000);
    expect(await queue.counts()).toMatchObject({ waiting: 1, oldestWaitingMs: 2000 });
    clock.advance(500);
    expect(await queue.counts()).toMatchObject({ waiting: 1, oldestWaitingMs: 2500 });
  });

  it('counts a job whose lease lapsed from the lapse, and a handed-back job from the hand-back', async () => {
    const { clock, queue } = setup({ leaseMs: 10_000 });
    const worker = queue.process(hang, { concurrency: 1 });
    const { id } = await queue.enqueue('stalls');
    await waitFor(async () => (await queue.getJob(id))?.state === 'active', 'the delivery');
    expect(await queue.counts()).toMatchObject({ waiting: 0, active: 1, oldestWaitingMs: 0 });
    // The lease (renewed at START) runs out at START + 10 s; the queue notices on its next look.
    clock.advance(25_000);
    await waitFor(async () => (await queue.getJob(id))?.state === 'waiting', 'the lapse');
    // The hung handler still holds the worker's only slot, so the job waits.
    expect(await queue.counts()).toMatchObject({ waiting: 1, active: 0, oldestWaitingMs: 15_000 });
    await worker.close({ graceMs: 0 });

    const second = setup();
    const closing = second.queue.process(hang, { concurrency: 1 });
    const held = await second.queue.enqueue('held');
    await waitFor(async () => (await second.queue.getJob(held.id))?.state === 'active', 'the delivery');
    second.clock.advance(4000);
    await closing.close({ graceMs: 0 });
    expect(await second.queue.counts()).toMatchObject({ waiting: 1, oldestWaitingMs: 0 });
    second.clock.advance(700);
    expect(await second.queue.counts()).toMatchObject({ waiting: 1, oldestWaitingMs: 700 });
  });
});
