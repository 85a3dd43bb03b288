import { type Running, settleAck } from './delivery.js';
import { reclaimScript } from './scripts.js';
import type { WorkerContext } from './worker-context.js';

/** Whether a failed Redis call may still have run (it timed out, or its connection broke after it was written). */
export function mayHaveRun(error: unknown): boolean {
  return (error as { maybeExecuted?: unknown } | null)?.maybeExecuted === true;
}

interface LostCall {
  readonly call: string;
  readonly acks: readonly Running[];
}

/**
 * A worker's fetch calls whose reply was lost although Redis may have run them: a call that
 * timed out on a paused or slow server runs when the server catches up, and its reply then goes
 * nowhere. Without this, the jobs such a call took would sit leased to nobody for a whole lease,
 * and its completions, sent again, would find their token gone and report a lost lease. Before
 * the worker's next fetch, {@link reclaim} hands those jobs back at once and settles the
 * completions by what Redis holds.
 */
export class LostCalls {
  readonly #ctx: WorkerContext;
  readonly #settle: (acks: readonly Running[], reply: unknown[]) => void;
  #lost: LostCall[] = [];
  #reclaiming: Promise<boolean> | undefined;

  /** `settle`: the completions' settle (reply index 1 + i is completion i: 1 done, 0 lease lost). */
  constructor(ctx: WorkerContext, settle: (acks: readonly Running[], reply: unknown[]) => void) {
    this.#ctx = ctx;
    this.#settle = settle;
  }

  get size(): number {
    return this.#lost.length;
  }

  /** Lets every kept completion go unconfirmed (the worker closed); their jobs come back after the lease. */
  abandon(): void {
    for (const l of this.#lost) for (const run of l.acks) settleAck(run);
    this.#lost = [];
  }

  /** A call named `call`, with completions `acks`, failed in a way that says it may have run. */
  add(call: string, acks: readonly Running[]): void {
    this.#lost.push({ call, acks });
  }

  /**
   * Hands back the jobs the lost calls took and settles their completions; resolves false when
   * Redis failed (they are kept for the next try). One reclaim at a time: a second caller waits
   * for the first. After a lease they are moot (the jobs came back anyway), but still settled.
   */
  reclaim(): Promise<boolean> {
    if (this.#lost.length === 0) return Promise.resolve(true);
    this.#reclaiming ??= this.#run().finally(() => {
      this.#reclaiming = undefined;
    });
    return this.#reclaiming;
  }

  async #run(): Promise<boolean> {
    const lost = this.#lost;
    this.#lost = [];
    const acks = lost.flatMap((l) => l.acks);
    const { redis, keys, retentionMs } = this.#ctx;
    const args: (string | number)[] = [keys.jobPrefix, keys.wakeChannel, lost.length];
    for (const l of lost) args.push(l.call);
    args.push(acks.length);
    for (const run of acks) args.push(run.job.id, run.job.token);
    args.push(retentionMs);
    let reply: unknown[];
    try {
      reply = await reclaimScript.run<unknown[]>(redis, keys.list, args);
    } catch {
      // Kept for the next try (a reclaim that ran but was lost too is harmless to repeat: its
      // completions are then found done). A completion whose lease ran out meanwhile is let go,
      // as a failed completion is: the job comes back anyway, and close() must not wait on it.
      const now = performance.now();
      const kept = lost.map((l) => ({
        call: l.call,
        acks: l.acks.filter((run) => {
          if (!run.gone && now < run.leaseUntil) return true;
          settleAck(run);
          return false;
        }),
      }));
      this.#lost = [...kept, ...this.#lost];
      return false;
    }
    const now = performance.now();
    // 2: the job is gone (deleted at completion). While this delivery's lease lasts nobody else
    // could have taken the job, so its completion was the lost call's.
    const results = reply.map((r, i) => {
      if (i === 0 || Number(r) !== 2) return r;
      const run = acks[i - 1];
      return run !== undefined && now < run.leaseUntil ? 1 : 0;
    });
    this.#settle(acks, results);
    const handedBack = Number(reply[0]);
    if (handedBack > 0) {
      this.#ctx.logger.warn(
        { queue: this.#ctx.name, jobs: handedBack, calls: lost.length },
        'fetch reply lost, jobs it took handed back',
      );
    }
    return true;
  }
}
