import { hashTag, type RedisClient } from '@voelgoed/redis';
import { RateLimiter } from '@voelgoed/redis/rate-limiter';
import { invalidArgument } from './errors.js';
import { fields, MAX_DELAY_MS, numberIn, redisRetryDelayMs } from './input.js';

// A queue's rate limit: every worker of the queue, in every process, takes permits from one
// GCRA limiter (the rate limiter primitive of @voelgoed/redis) before it fetches, and fetches at
// most as many jobs as it was allowed. The limiter's key sits under the queue's hash tag, so a
// Cluster keeps it in the queue's slot.

/** Options of a queue's rate limit (`rateLimit` of `createRedisJobQueue`). */
export interface QueueRateLimit {
  /** Deliveries allowed per `perMs`, an integer 1–1,000,000. */
  max: number;
  /** The window, ms (1–2^31 − 1). */
  perMs: number;
  /**
   * Deliveries that may start at once after a quiet spell, an integer 1–`max`. Default 1: starts
   * are spread evenly (one every `perMs / max` ms), so no window of `perMs` ever sees more than
   * `max`. With `burst: max` (BullMQ-like bursts), a window of `perMs` may see up to
   * `max + burst − 1`; the long-run rate is `max` per `perMs` either way.
   */
  burst?: number;
}

/** The limiter's key under the queue's hash tag. */
const SUBJECT = 'rate';

/** A rate limit as read from the options, or undefined for none. */
export function readRateLimit(value: unknown): Required<QueueRateLimit> | undefined {
  if (value === undefined) return undefined;
  const o = fields(value, ['max', 'perMs', 'burst'] as const, 'rateLimit');
  if (o.max === undefined || o.perMs === undefined) throw invalidArgument('rateLimit needs max and perMs');
  const max = numberIn(o.max, 'rateLimit.max', 1, 1_000_000, true);
  const perMs = numberIn(o.perMs, 'rateLimit.perMs', 1, MAX_DELAY_MS);
  const burst = o.burst === undefined ? 1 : numberIn(o.burst, 'rateLimit.burst', 1, max, true);
  return { max, perMs, burst };
}

/** Resolves after `ms`, or at once when `signal` aborts. */
function pause(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

/** Fetch permits of one queue, shared by all its workers through Redis. */
export class FetchPermits {
  readonly #limiter: RateLimiter;
  readonly #burst: number;
  /** Ms between two permits in the long run. */
  readonly #intervalMs: number;

  /** The limiter's key is `{queue:<name>}:rate`, in the queue's Cluster slot. */
  constructor(redis: RedisClient, queue: string, limit: Required<QueueRateLimit>) {
    // GCRA with a burst of `burst` at `max / perMs`: `burst` permits per `burst × perMs / max` ms.
    this.#limiter = new RateLimiter(redis, {
      limit: limit.burst,
      periodMs: (limit.burst * limit.perMs) / limit.max,
      keyPrefix: `${hashTag(`queue:${queue}`)}:`,
    });
    this.#burst = limit.burst;
    this.#intervalMs = limit.perMs / limit.max;
  }

  /**
   * Takes up to `wanted` permits (at least one), waiting the limiter's retry-after while it
   * refuses (never polling faster). Resolves with the number taken, or 0 once `stop` aborts.
   * A permit a fetch then finds no job for is spent all the same.
   */
  async take(wanted: number, stop: AbortSignal): Promise<number> {
    let want = Math.max(1, Math.min(wanted, this.#burst));
    let errors = 0;
    while (!stop.aborted) {
      let result: Awaited<ReturnType<RateLimiter['consume']>>;
      try {
        result = await this.#limiter.consume(SUBJECT, want);
        errors = 0;
      } catch {
        // Redis down or paused: the fetch would fail too; back off as the fetch loop does.
        errors++;
        await pause(redisRetryDelayMs(errors, 2_000), stop);
        continue;
      }
      if (result.allowed) return stop.aborted ? 0 : want;
      // Fewer are free than asked for: take those at once; none: wait until one is.
      if (result.remaining >= 1 && result.remaining < want) {
        want = result.remaining;
        continue;
      }
      // retryAfterMs is for `want` permits; the first of them is free (want − 1) intervals sooner.
      const wait = result.retryAfterMs - (want - 1) * this.#intervalMs;
      want = 1;
      await pause(Math.max(1, Math.ceil(wait)), stop);
    }
    return 0;
  }
}
