import { setTimeout as sleep } from 'node:timers/promises';
import { describeJobFailure, errorCodeOf } from '@voelgoed/contracts';
import { LEASE_TAKEN, loseLease, type Outcome, type Running } from './delivery.js';
import { publishJobEvent } from './events.js';
import { deliveryArgs } from './fetch.js';
import { backoffMs, redisRetryDelayMs } from './input.js';
import { failScript } from './scripts.js';
import type { WorkerContext } from './worker-context.js';

/**
 * Records a handler's failure: the job is retried after its backoff, or dead-lettered after its
 * last attempt (the fail script decides). Tries again while Redis cannot be reached and the
 * lease lasts. Returns the outcome ('failed' when Redis could not be told in time).
 */
export async function recordFailure(ctx: WorkerContext, run: Running, error: unknown): Promise<Outcome> {
  const { redis, keys } = ctx;
  const wait = backoffMs(run.job.backoff, run.attempt);
  const described = JSON.stringify(describeJobFailure(error));
  for (let tries = 0; ; tries++) {
    try {
      const recorded = Number(
        await failScript.run(redis, keys.list, deliveryArgs(keys, run.job, described, wait)),
      );
      return reportFailure(ctx, run, error, recorded, wait);
    } catch {
      // Redis unreachable: try again while the lease lasts; after it the job comes back anyway.
      if (run.gone || performance.now() >= run.leaseUntil) return 'failed';
      await sleep(redisRetryDelayMs(tries, 1_000));
    }
  }
}

/**
 * What the fail script did (`recorded`: 0 the token no longer held the job, 1 retried after
 * `wait` ms, 2 dead-lettered), as events and log lines; returns the outcome.
 */
function reportFailure(
  ctx: WorkerContext,
  run: Running,
  error: unknown,
  recorded: number,
  wait: number,
): Outcome {
  const { name, logger } = ctx;
  const { job, attempt, durationMs } = run;
  if (recorded === 0) {
    loseLease(ctx, run, LEASE_TAKEN);
    return 'lease_lost';
  }
  publishJobEvent({ queue: name, event: 'failed', attempt, durationMs, errorCode: errorCodeOf(error) });
  if (recorded === 2) {
    publishJobEvent({ queue: name, event: 'dead_lettered', attempt });
    logger.warn(
      { queue: name, jobId: job.id, attempts: attempt, errorCode: errorCodeOf(error) },
      'job dead-lettered',
    );
    return 'dead_lettered';
  }
  publishJobEvent({ queue: name, event: 'retried', attempt, delayMs: wait });
  logger.info(
    { queue: name, jobId: job.id, attempt, errorCode: errorCodeOf(error), retryInMs: wait },
    'job handler failed, retrying',
  );
  return 'retried';
}
