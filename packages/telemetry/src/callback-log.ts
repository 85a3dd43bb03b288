import { type Logger, silentLogger } from '@voelgoed/contracts';

/** One line per metric and kind at most this often: a broken callback fails at every scrape. */
const EVERY_MS = 60_000;

const CODE = /^[A-Za-z][\w.-]{0,63}$/;

/** The error's `code` when it is a short word, else its class name: never its message. */
function errorCode(error: unknown): string {
  try {
    const code = (error as { code?: unknown } | null)?.code;
    if (typeof code === 'string' && CODE.test(code)) return code;
    const name = (error as { name?: unknown } | null)?.name;
    return typeof name === 'string' && CODE.test(name) ? name : 'ERROR';
  } catch {
    return 'ERROR';
  }
}

/**
 * Tells the operator that an observable callback failed or outlived its time box at a scrape:
 * warn, with the metric and an error code, at most once a minute per metric and kind.
 */
export class CallbackLog {
  readonly #last = new Map<string, number>();
  readonly #logger: Logger;
  readonly #timeoutMs: number;
  readonly #now: () => number;

  constructor(logger: Logger = silentLogger, timeoutMs: number, now: () => number = Date.now) {
    this.#logger = logger;
    this.#timeoutMs = timeoutMs;
    this.#now = now;
  }

  failed(metric: string, error: unknown): void {
    if (!this.#due(`f:${metric}`)) return;
    this.#logger.warn({ metric, errorCode: errorCode(error) }, 'telemetry observable callback failed');
  }

  timedOut(metric: string): void {
    if (!this.#due(`t:${metric}`)) return;
    this.#logger.warn({ metric, timeoutMs: this.#timeoutMs }, 'telemetry observable callback timed out');
  }

  #due(key: string): boolean {
    if (this.#logger === silentLogger) return false;
    const now = this.#now();
    const last = this.#last.get(key);
    if (last !== undefined && now - last < EVERY_MS) return false;
    this.#last.set(key, now);
    return true;
  }
}
