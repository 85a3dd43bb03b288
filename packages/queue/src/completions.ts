import { randomUUID } from 'node:crypto';
import { LEASE_TAKEN, loseLease, type Running, settleAck } from './delivery.js';
import { publishJobEvent } from './events.js';
import { fetchArgs } from './fetch.js';
import { redisRetryDelayMs } from './input.js';
import { LostCalls, mayHaveRun } from './lost-calls.js';
import { fetchScript } from './scripts.js';
import type { WorkerContext } from './worker-context.js';

/** Most completions sent in one call: bounds one call's run time on the server. */
const MAX_ACKS = 500;

/**
 * Where the fetch loop is: 'call' (a fetch in flight: completions wait for the next one),
 * 'slot' (waiting for a free slot: a completion wakes it and goes with its fetch) or 'other'
 * (idle, rate-limited, backing off or stopped: completions are sent on their own). A worker
 * with two fetchers reports one phase for both: 'slot' if either waits for a slot, else 'call' if
 * either has a fetch in flight.
 */
export type LoopPhase = 'call' | 'slot' | 'other';

/**
 * A worker's finished deliveries whose completion has not been sent yet: they go with the fetch
 * loop's next fetch (one call, one round trip), or on their own while the loop does not fetch.
 */
export class Completions {
  readonly #ctx: WorkerContext;
  /** Where the fetchers are: decides who sends the waiting completions. */
  readonly #phase: () => LoopPhase;
  /** Wakes the fetch loop waiting for a free slot. */
  readonly #wakeLoop: () => void;
  #waiting: Running[] = [];
  #flushScheduled = false;
  #errors = 0;
  /** Calls with completions (fetches included) whose reply was lost: settled by a reclaim. */
  readonly lost: LostCalls;

  constructor(ctx: WorkerContext, phase: () => LoopPhase, wakeLoop: () => void) {
    this.#ctx = ctx;
    this.#phase = phase;
    this.#wakeLoop = wakeLoop;
    this.lost = new LostCalls(ctx, (acks, reply) => this.settle(acks, reply));
  }

  /** Completions waiting to be sent. */
  get size(): number {
    return this.#waiting.length;
  }

  /** Queues the completion: sent with the loop's next fetch, or on its own when the loop waits. */
  add(run: Running): Promise<void> {
    return new Promise<void>((resolve) => {
      run.acked = resolve;
      this.#waiting.push(run);
      this.#notify();
    });
  }

  /** The worker closed and will not wait longer: every completion not yet confirmed is let go. */
  abandon(): void {
    for (const run of this.#waiting) settleAck(run);
    this.#waiting = [];
    this.lost.abandon();
  }

  /** Up to {@link MAX_ACKS} waiting completions, to send now. */
  take(): Running[] {
    if (this.#waiting.length <= MAX_ACKS) {
      const acks = this.#waiting;
      this.#waiting = [];
      return acks;
    }
    return this.#waiting.splice(0, MAX_ACKS);
  }

  /** Completion results: 1 done (event), 0 the token no longer held the job (lease lost). */
  settle(acks: readonly Running[], reply: unknown[]): void {
    for (let i = 0; i < acks.length; i++) {
      const run = acks[i];
      if (run === undefined) continue;
      if (Number(reply[1 + i]) === 1) {
        run.outcome = 'completed';
        publishJobEvent({
          queue: this.#ctx.name,
          event: 'completed',
          attempt: run.attempt,
          durationMs: run.durationMs,
        });
      } else {
        loseLease(this.#ctx, run, LEASE_TAKEN);
      }
      settleAck(run);
    }
  }

  /**
   * The call that carried `acks` (named `call`) failed: when it may have run they wait for a
   * reclaim ({@link LostCalls}), else they go again ({@link retry}). Returns whether it may have run.
   */
  failed(call: string, acks: readonly Running[], error: unknown): boolean {
    const mayHave = mayHaveRun(error);
    if (mayHave) this.lost.add(call, acks);
    else this.retry(acks);
    return mayHave;
  }

  /** Redis unreachable: completions go again while their lease lasts; after it the job comes back anyway. */
  retry(acks: readonly Running[]): void {
    const now = performance.now();
    for (const run of acks) {
      if (run.gone || now >= run.leaseUntil) settleAck(run);
      else this.#waiting.push(run);
    }
  }

  /** Sends the waiting completions on their own (the loop is idle, waiting or stopped). */
  flushSoon(delayMs: number): void {
    if (this.#flushScheduled) return;
    this.#flushScheduled = true;
    const flush = () => {
      this.#flushScheduled = false;
      void this.#flush();
    };
    if (delayMs > 0) setTimeout(flush, delayMs);
    else setImmediate(flush);
  }

  /** Completions are waiting: whoever is to send them next is told. */
  #notify(delayMs = 0): void {
    const phase = this.#phase();
    if (phase === 'slot') this.#wakeLoop();
    else if (phase === 'other') this.flushSoon(delayMs);
    // 'call': the loop sends them after the reply.
  }

  async #flush(): Promise<void> {
    if (this.#waiting.length === 0) return;
    if (this.#phase() !== 'other') {
      this.#notify();
      return;
    }
    if (!(await this.lost.reclaim())) {
      this.#errors++;
      this.#notify(redisRetryDelayMs(this.#errors, 1_000));
      return;
    }
    const acks = this.take();
    const call = randomUUID();
    try {
      const reply = await fetchScript.run<unknown[]>(
        this.#ctx.redis,
        this.#ctx.keys.list,
        fetchArgs(this.#ctx, 0, acks, call),
      );
      this.#errors = 0;
      this.settle(acks, reply);
    } catch (error) {
      this.failed(call, acks, error);
      this.#errors++;
    }
    if (this.#waiting.length > 0) {
      this.#notify(this.#errors === 0 ? 0 : redisRetryDelayMs(this.#errors, 1_000));
    }
  }
}
