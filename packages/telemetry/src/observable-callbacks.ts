import type { MetricLabels, ObservableCallback, ObservableResult } from '@voelgoed/contracts';

/** What {@link ObservableCallbacks.collect} tells its owner. */
export interface CallbackReports {
  /** A callback threw or rejected within its time box. */
  onError(error: unknown): void;
  /** A callback had not settled within its time box (or was still running from before). */
  onTimeout(): void;
}

interface Entry {
  readonly callback: ObservableCallback;
  running: boolean;
}

/**
 * The callbacks of one observable instrument. At each collection they all start at once, each
 * with a result that takes observations only until the collection ends: when every callback has
 * settled, or after `timeoutMs`, whichever comes first. So a callback that never settles delays
 * a scrape by at most `timeoutMs`, and what it observes later is dropped (it cannot leak into a
 * later collection). A callback still running from an earlier collection is not called again
 * (hung calls must not pile up); it counts as timed out again.
 */
export class ObservableCallbacks {
  readonly #entries: Entry[] = [];

  constructor(
    readonly timeoutMs: number,
    readonly reports: CallbackReports,
  ) {}

  add(callback: ObservableCallback): void {
    this.#entries.push({ callback, running: false });
  }

  /** Runs the callbacks, handing each observation to `observe`; never rejects. */
  async collect(observe: (value: number, labels: MetricLabels | undefined) => void): Promise<void> {
    let open = true;
    const result: ObservableResult = {
      observe(value, labels) {
        if (open) observe(value, labels);
      },
    };
    const started: Entry[] = [];
    const runs: Promise<void>[] = [];
    for (const entry of this.#entries) {
      if (entry.running) {
        this.reports.onTimeout();
        continue;
      }
      started.push(entry);
      runs.push(this.#run(entry, result, () => open));
    }
    if (runs.length === 0) return;
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<false>((resolve) => {
      timer = setTimeout(resolve, this.timeoutMs, false);
    });
    const settled = await Promise.race([Promise.all(runs).then(() => true), expired]);
    clearTimeout(timer);
    open = false;
    if (!settled) {
      for (const entry of started) if (entry.running) this.reports.onTimeout();
    }
  }

  async #run(entry: Entry, result: ObservableResult, isOpen: () => boolean): Promise<void> {
    entry.running = true;
    try {
      await entry.callback(result);
    } catch (error) {
      // A failing callback must not break the whole scrape; it is counted instead (unless it
      // already counted as timed out).
      if (isOpen()) this.reports.onError(error);
    } finally {
      entry.running = false;
    }
  }
}
