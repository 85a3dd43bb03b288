import type { JobDelivery, JobHandler, JobQueue, JobWorker, JobWorkerOptions } from '../ports/job-queue.js';
import { randomKey, sleep } from './shared.js';

/** What the checks of the job-queue suite need besides the queue. */
export interface JobQueueCheckSettings {
  /** Makes the lease of `jobId`'s running delivery lapse now; without it the lease-loss check is left out. */
  readonly expireLease?: (queue: JobQueue, jobId: string) => Promise<void>;
  /** The payload limit of the factory's queues, in bytes. */
  readonly maxPayloadBytes: number;
}

/** Backoff short enough for real time: retries come within tens of ms. */
export const FAST = { initialMs: 10, factor: 2, maxMs: 40 } as const;

/** Generous limit of a condition wait: the suites run on loaded 2-core machines. */
const WAIT_MS = 20_000;

/** A fresh job id. */
export const jobId = (): string => randomKey('job');

/** Polls `condition` until it holds; throws naming `what` when `limitMs` passes first. */
export async function waitFor(
  condition: () => boolean | Promise<boolean>,
  what: string,
  limitMs = WAIT_MS,
): Promise<void> {
  const deadline = Date.now() + limitMs;
  for (;;) {
    if (await condition()) return;
    if (Date.now() > deadline)
      throw new Error(`[voelgoed:contracts] gave up waiting for ${what} after ${limitMs} ms`);
    await sleep(5);
  }
}

/** A promise with its resolve function. */
export interface Gate {
  readonly promise: Promise<void>;
  open(): void;
  readonly opened: boolean;
}

export function gate(): Gate {
  let open!: () => void;
  let opened = false;
  const promise = new Promise<void>((resolve) => {
    open = resolve;
  });
  return {
    promise,
    open: () => {
      opened = true;
      open();
    },
    get opened() {
      return opened;
    },
  };
}

/**
 * Resolves when `signal` aborts, or after `limitMs` (so that an implementation that never aborts
 * fails the check instead of hanging it); resolves true when the signal aborted.
 */
export function aborted(signal: AbortSignal, limitMs = 10_000): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), limitMs);
    signal.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        resolve(true);
      },
      { once: true },
    );
  });
}

/** What one delivery looked like to its handler. */
export interface Seen {
  readonly id: string;
  readonly payload: unknown;
  readonly attempt: number;
  readonly maxAttempts: number;
  readonly token: number;
  readonly signal: AbortSignal;
  readonly job: JobDelivery;
}

/**
 * Starts a worker whose deliveries are recorded in `seen` before `handler` runs, runs `body`, and
 * closes the worker (grace 0) whatever happened.
 */
export async function withWorker(
  queue: JobQueue,
  handler: JobHandler,
  options: JobWorkerOptions,
  body: (seen: Seen[], worker: JobWorker) => Promise<void>,
): Promise<void> {
  const seen: Seen[] = [];
  const worker = queue.process((job) => {
    seen.push({
      id: job.id,
      payload: job.payload,
      attempt: job.attempt,
      maxAttempts: job.maxAttempts,
      token: job.deliveryToken,
      signal: job.signal,
      job,
    });
    return handler(job);
  }, options);
  try {
    await body(seen, worker);
  } finally {
    await worker.close({ graceMs: 0 });
  }
}

/** Waits until `id` is in `state` (per `getJob`). */
export function waitForState(queue: JobQueue, id: string, state: string): Promise<void> {
  return waitFor(async () => (await queue.getJob(id))?.state === state, `job ${id} to be ${state}`);
}

/** Waits until `id` completed or was dead-lettered, and expects `state` (failing fast on the other). */
export async function waitForEnd(
  queue: JobQueue,
  id: string,
  state: 'completed' | 'dead-lettered',
): Promise<void> {
  let last: string | undefined;
  await waitFor(async () => {
    last = (await queue.getJob(id))?.state;
    return last === 'completed' || last === 'dead-lettered';
  }, `job ${id} to be ${state}`);
  if (last !== state)
    throw new Error(`[voelgoed:contracts] job ${id} ended ${String(last)}, expected ${state}`);
}

/** An error with a name and a code, as a handler's failure. */
export function failure(name: string, message: string, code?: string): Error {
  const error = new Error(message);
  error.name = name;
  if (code !== undefined) Object.assign(error, { code });
  return error;
}
