import { AbortedError, type JobWorkerCloseOptions } from '@voelgoed/contracts';
import type { Running } from './delivery.js';
import { MESSAGE_PREFIX } from './errors.js';
import { deliveryArgs, type FetchedJob } from './fetch.js';
import { fields, MAX_DELAY_MS, numberIn } from './input.js';
import { releaseScript } from './scripts.js';
import type { WorkerContext } from './worker-context.js';

/** How long `close()` waits for running deliveries by default, ms. */
const DEFAULT_GRACE_MS = 10_000;

/** The `graceMs` of `close()` options (throws `InvalidArgumentError` on a bad one). */
export function readGraceMs(options: JobWorkerCloseOptions | undefined): number {
  const o = fields(options, ['graceMs'] as const, 'close options');
  return o.graceMs === undefined ? DEFAULT_GRACE_MS : numberIn(o.graceMs, 'graceMs', 0, MAX_DELAY_MS);
}

/** Every running delivery done (settled, never rejects). */
export function allFinished(running: Iterable<Running>): Promise<unknown> {
  return Promise.all([...running].map((r) => r.finished));
}

/** Waits until the running deliveries are done, or `graceMs` has passed. */
export async function waitForGrace(running: ReadonlySet<Running>, graceMs: number): Promise<void> {
  if (running.size === 0) return;
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    allFinished(running),
    new Promise((resolve) => (timer = setTimeout(resolve, graceMs))),
  ]);
  clearTimeout(timer);
}

/** Jobs a worker gives back unfinished, so another worker takes them at once. */
export class HandBacks {
  readonly #ctx: WorkerContext;
  readonly #pending = new Set<Promise<unknown>>();

  constructor(ctx: WorkerContext) {
    this.#ctx = ctx;
  }

  /** Releases the job (its failures unchanged); never rejects. */
  add(job: FetchedJob): void {
    const args = deliveryArgs(this.#ctx.keys, job);
    const done = releaseScript.run(this.#ctx.redis, this.#ctx.keys.list, args).catch(() => {});
    this.#pending.add(done);
    void done.finally(() => this.#pending.delete(done));
  }

  /** Grace over: stops the deliveries still running and hands their jobs back (logged). */
  abortRunning(running: ReadonlySet<Running>, graceMs: number): void {
    let handedBack = 0;
    for (const run of running) if (!run.gone && !run.acking) handedBack++;
    if (handedBack > 0) {
      this.#ctx.logger.warn(
        { queue: this.#ctx.name, graceMs, running: handedBack },
        'worker close grace exceeded, handing running jobs back',
      );
    }
    for (const run of running) {
      // A delivery whose outcome is on the way is settled by that outcome.
      if (run.gone || run.acking) continue;
      run.gone = true;
      run.controller.abort(
        new AbortedError(`${MESSAGE_PREFIX} the worker was closed before the job finished`),
      );
      this.add(run.job);
    }
  }

  /** Every hand-back sent so far settled. */
  settled(): Promise<unknown> {
    return Promise.all(this.#pending);
  }
}
