import { ErrorCodes } from '../errors.js';
import type { EnqueueOptions, JobQueue } from '../ports/job-queue.js';
import { expect } from './assert.js';
import { type JobQueueCheckSettings, jobId } from './job-queue-support.js';
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
    ['a misspelt id (idd)', { idd: 'x' }],
    ["BullMQ's jobId for id", { jobId: 'x' }],
    ["BullMQ's delay for delayMs", { delay: 100 }],
    ['a misspelt backoff field', { backoff: { initial: 5 } }],
    ['a string as options', 'high'],
    ['null as options', null],
  ];
}

function circular(): unknown {
  const value: Record<string, unknown> = { a: 1 };
  value.self = value;
  return value;
}

/** Enqueues with each bad option (given a fresh id where it has none) and with payloads JSON cannot carry. */
async function expectBadEnqueuesRefused(queue: JobQueue): Promise<void> {
  for (const [, options] of badOptions()) {
    const id = jobId();
    const withId =
      typeof options === 'object' && options !== null && !('id' in options) ? { ...options, id } : options;
    await expectInfrastructureError(() => queue.enqueue('p', withId as EnqueueOptions), INVALID_ARGUMENT);
    expect(await queue.getJob(id)).toBeUndefined();
  }
  for (const payload of [undefined, () => 1, Symbol('s'), 10n, circular()]) {
    await expectInfrastructureError(() => queue.enqueue(payload, { id: jobId() }), INVALID_ARGUMENT);
  }
}

/** Bad ids, pages, drain timeouts, concurrencies and handlers for the calls besides enqueue. */
async function expectBadCallsRefused(queue: JobQueue): Promise<void> {
  for (const id of ['', 'x'.repeat(257), 7, `${jobId()}\udfff`] as unknown as string[]) {
    await expectInfrastructureError(() => queue.getJob(id), INVALID_ARGUMENT);
    await expectInfrastructureError(() => queue.retryDeadLetter(id), INVALID_ARGUMENT);
    await expectInfrastructureError(() => queue.removeDeadLetter(id), INVALID_ARGUMENT);
  }
  for (const options of [{ offset: -1 }, { limit: 0 }, { limit: 1.5 }, { limt: 5 }, 'all']) {
    await expectInfrastructureError(() => queue.deadLetters(options as { limit?: number }), INVALID_ARGUMENT);
  }
  for (const timeoutMs of [0, -1, Number.NaN, '5']) {
    await expectInfrastructureError(() => queue.drain({ timeoutMs: timeoutMs as number }), INVALID_ARGUMENT);
  }
  await expectInfrastructureError(() => queue.drain({ timeout: 5 } as object), INVALID_ARGUMENT);
  for (const options of [
    { concurrency: 0 },
    { concurrency: 1.5 },
    { concurrency: 1001 },
    { concurency: 5 },
    'many',
  ]) {
    await expectInfrastructureError(
      () => queue.process(() => undefined, options as { concurrency?: number }),
      INVALID_ARGUMENT,
    );
  }
  await expectInfrastructureError(() => queue.process('handler' as unknown as () => void), INVALID_ARGUMENT);
  // A bad close option rejects before anything is closed, with workers or without.
  for (const graceMs of [-1, Number.NaN, '10']) {
    await expectInfrastructureError(() => queue.close({ graceMs: graceMs as number }), INVALID_ARGUMENT);
  }
  await expectInfrastructureError(() => queue.close({ grace: 10 } as object), INVALID_ARGUMENT);
}

/** Checks of the payload size limit, also within a batch that must then store nothing. */
export function payloadLimitChecks(settings: JobQueueCheckSettings): ConformanceCheck<JobQueue>[] {
  return [
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
  ];
}

/** Checks of argument validation: every call refuses a caller's mistake before storing anything. */
export function argumentChecks(): ConformanceCheck<JobQueue>[] {
  return [
    {
      name: 'bad options and payloads reject INVALID_ARGUMENT before anything is stored',
      async run(queue) {
        await expectBadEnqueuesRefused(queue);
        await expectEmpty(queue);
        await expectBadCallsRefused(queue);
        await expectEmpty(queue);
      },
    },
  ];
}
