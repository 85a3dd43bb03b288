import { LEASE_TAKEN, loseLease, type Running } from './delivery.js';
import { renewScript } from './scripts.js';
import type { WorkerContext } from './worker-context.js';

/**
 * Keeps a worker's leases: one timer per worker (while it runs deliveries) renews every lease
 * it holds, in one call, every third of the lease time; a lease that could not be renewed
 * before its local deadline is lost.
 */
export class LeaseRenewal {
  readonly #ctx: WorkerContext;
  readonly #running: ReadonlySet<Running>;
  #timer: NodeJS.Timeout | undefined;
  #renewing = false;

  constructor(ctx: WorkerContext, running: ReadonlySet<Running>) {
    this.#ctx = ctx;
    this.#running = running;
  }

  /** A delivery started: renewals run (if they did not already). */
  start(): void {
    this.#timer ??= setInterval(this.#renewAll, Math.max(1, Math.floor(this.#ctx.leaseMs / 3)));
  }

  /** The worker closed: renewals stop, whatever still runs (its jobs were handed back). */
  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** A delivery ended: renewals stop once none runs. */
  stopWhenIdle(): void {
    if (this.#running.size === 0 && this.#timer !== undefined) {
      clearInterval(this.#timer);
      this.#timer = undefined;
    }
  }

  readonly #renewAll = (): void => {
    void this.#renew();
  };

  async #renew(): Promise<void> {
    const runs = this.#leasesToRenew();
    if (this.#renewing || runs.length === 0) return;
    this.#renewing = true;
    try {
      await this.#send(runs);
    } finally {
      this.#renewing = false;
    }
  }

  /** The leases still held; those whose local deadline passed are lost. */
  #leasesToRenew(): Running[] {
    const now = performance.now();
    const runs: Running[] = [];
    for (const run of this.#running) {
      // A delivery whose outcome is on the way is settled by that outcome's reply.
      if (run.gone || run.acking) continue;
      if (now >= run.leaseUntil) loseLease(this.#ctx, run, 'its lease ran out before it could be renewed');
      else runs.push(run);
    }
    return runs;
  }

  /** Renews `runs` in one call: a lease the server no longer holds for its token is lost. */
  async #send(runs: readonly Running[]): Promise<void> {
    const { redis, keys, leaseMs } = this.#ctx;
    const args: (string | number)[] = [keys.jobPrefix, keys.wakeChannel, leaseMs];
    for (const run of runs) args.push(run.job.id, run.job.token);
    const sentAt = performance.now();
    try {
      const held = await renewScript.run<unknown[]>(redis, keys.list, args);
      for (let i = 0; i < runs.length; i++) {
        const run = runs[i];
        if (run === undefined) continue;
        if (Number(held[i]) === 1) run.leaseUntil = Math.max(run.leaseUntil, sentAt + leaseMs);
        else if (!run.acking) loseLease(this.#ctx, run, LEASE_TAKEN);
      }
    } catch {
      // Redis unreachable: a lease holds until its local deadline, checked at the next tick.
      const t = performance.now();
      for (const run of runs) {
        if (!run.acking && t >= run.leaseUntil)
          loseLease(this.#ctx, run, 'its lease could not be renewed before it ran out');
      }
    }
  }
}
