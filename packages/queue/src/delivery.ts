import {
  type JobDelivery,
  type JobHandler,
  LockLostError,
  type QueueProcessTrace,
  TimeoutError,
} from '@voelgoed/contracts';
import { MESSAGE_PREFIX } from './errors.js';
import { publishJobEvent } from './events.js';
import type { FetchedJob } from './fetch.js';
import { decodePayload } from './input.js';
import type { WorkerContext } from './worker-context.js';

/** How a delivery ended, for the trace. */
export type Outcome = NonNullable<QueueProcessTrace['outcome']>;

/** One delivery in a worker: from its fetch until its outcome is recorded. */
export interface Running {
  readonly job: FetchedJob;
  readonly controller: AbortController;
  /** Local deadline of the lease: set from the send time of the command that set it, so never later than the server's. */
  leaseUntil: number;
  /** The lease is gone (lost, or handed back): the outcome is not acknowledged. */
  gone: boolean;
  /** The handler is done and its outcome is on the way: renewals leave the delivery alone. */
  acking: boolean;
  readonly attempt: number;
  durationMs: number;
  /** Set when the completion was acknowledged (for the trace). */
  outcome: Outcome | undefined;
  /** Settles a completion waiting in the worker's batch. */
  acked: (() => void) | undefined;
  /** The handler's `timeoutMs` timer, while it runs. */
  timeout: NodeJS.Timeout | undefined;
  /**
   * Set when `timeoutMs` passed before the handler returned: settles (never rejects) when the
   * handler itself does, which may be much later (a handler that ignores its signal).
   */
  overran: Promise<unknown> | undefined;
  /** Settles (never rejects) when the delivery is done. */
  finished: Promise<unknown>;
}

/** Lets go of a completion waiting to be sent (once): its delivery's course goes on. */
export function settleAck(run: Running): void {
  const done = run.acked;
  run.acked = undefined;
  done?.();
}

/** A fetched job, about to run, whose lease lasts until `leaseUntil` (local clock). */
export function newRunning(job: FetchedJob, leaseUntil: number): Running {
  return {
    job,
    controller: new AbortController(),
    leaseUntil,
    gone: false,
    acking: false,
    attempt: job.failures + 1,
    durationMs: 0,
    outcome: undefined,
    acked: undefined,
    timeout: undefined,
    overran: undefined,
    finished: Promise.resolve(),
  };
}

/**
 * Calls the handler with the delivery; the promise rejects with its error, or with a
 * `TimeoutError` (aborting the delivery's signal) once the job's `timeoutMs` has passed. The
 * caller clears `run.timeout` when it settles.
 */
export function callHandler(handler: JobHandler, run: Running, queue: string): Promise<unknown> {
  const { job, controller, attempt } = run;
  const delivery: JobDelivery = Object.freeze({
    id: job.id,
    queue,
    payload: decodePayload(job.kind, job.payload),
    attempt,
    maxAttempts: job.maxAttempts,
    deliveryToken: job.token,
    deliveryCount: job.deliveryCount,
    enqueuedAt: job.enqueuedAt,
    signal: controller.signal,
  });
  const handled = Promise.resolve().then(() => handler(delivery));
  if (job.timeoutMs === undefined) return handled;
  const ms = job.timeoutMs;
  const timedOut = new Promise((_, reject) => {
    run.timeout = setTimeout(() => {
      const error = new TimeoutError(`${MESSAGE_PREFIX} the handler ran longer than timeoutMs (${ms} ms)`);
      run.overran = handled.then(
        () => {},
        () => {},
      );
      controller.abort(error);
      reject(error);
    }, ms);
  });
  const raced = Promise.race([handled, timedOut]);
  // The handler keeps its own promise; its late rejection must not go unhandled.
  handled.catch(() => {});
  return raced;
}

/** Why a delivery is lost when Redis says its token no longer holds the job. */
export const LEASE_TAKEN = 'its lease ran out or a later delivery took the job';

/** The delivery lost its job (`why`): reported, and the handler's signal aborted. Once per delivery. */
export function loseLease(ctx: Pick<WorkerContext, 'name' | 'logger'>, run: Running, why: string): void {
  if (run.gone) return;
  run.gone = true;
  const queue = ctx.name;
  publishJobEvent({ queue, event: 'lease_lost', attempt: run.attempt });
  ctx.logger.warn({ queue, jobId: run.job.id, attempt: run.attempt, reason: why }, 'job lease lost');
  run.controller.abort(new LockLostError(`${MESSAGE_PREFIX} delivery lost: ${why}`, [run.job.id]));
}

const NO_CARRIER: Readonly<Record<string, string>> = Object.freeze({});

/** A stored carrier back (string fields only; anything unreadable is no carrier). */
export function readCarrier(json: string): Readonly<Record<string, string>> {
  if (json === '') return NO_CARRIER;
  try {
    const parsed: unknown = JSON.parse(json);
    if (typeof parsed !== 'object' || parsed === null) return NO_CARRIER;
    const carrier: Record<string, string> = {};
    for (const [k, v] of Object.entries(parsed)) if (typeof v === 'string') carrier[k] = v;
    return carrier;
  } catch {
    return NO_CARRIER;
  }
}
