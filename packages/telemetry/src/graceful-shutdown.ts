import { constants as osConstants } from 'node:os';
import { fieldsOf, refuseUnknownFields, TimeoutError } from '@voelgoed/contracts';
import { invalidArgument, MESSAGE_PREFIX } from './errors.js';

/** Anything with a `close()`: every port and adapter (`Resource`), a server, a pool. */
export interface ShutdownTarget {
  close(): Promise<unknown> | unknown;
}

/** Options of {@link gracefulShutdown}. */
export interface GracefulShutdownOptions {
  /** Signals that start the shutdown. Default `['SIGTERM', 'SIGINT']`; `[]` listens to none. */
  signals?: readonly NodeJS.Signals[];
  /** The whole shutdown's deadline, ms (default 10,000): every close shares it. */
  timeoutMs?: number;
  /**
   * Told of each close that failed (`error` as thrown) or was abandoned at the deadline (`error`
   * a `TimeoutError`), with the resource. A throwing `onError` is ignored.
   */
  onError?: (error: unknown, resource: ShutdownTarget) => void;
  /**
   * After a signal's shutdown, exit the process: code 0 when every close finished, 1 otherwise
   * (a second signal while shutting down exits at once with 1). A signal after a `shutdown()`
   * call (finished or not) waits for it and exits with its result. Default `true`: a process that
   * listens to SIGTERM no longer exits by itself. A direct `shutdown()` call never exits.
   */
  exit?: boolean;
}

/** How each resource's close went. */
export type ShutdownOutcome = 'closed' | 'failed' | 'abandoned';

/** What a shutdown did, in closing order (the reverse of registration). */
export interface ShutdownResult {
  /** True when every close finished without error within the deadline. */
  ok: boolean;
  outcomes: { resource: ShutdownTarget; outcome: ShutdownOutcome; error?: unknown }[];
  durationMs: number;
}

/** The handle {@link gracefulShutdown} returns. */
export interface GracefulShutdown {
  /**
   * Closes the resources now (once: later calls and signals get the same promise). Resolves
   * within the deadline, never rejects.
   */
  shutdown(): Promise<ShutdownResult>;
  /** Registers one more resource (closed before those registered earlier). */
  add(resource: ShutdownTarget): void;
  /** Stops listening to the signals (the resources stay open). */
  dispose(): void;
}

/**
 * Closes `resources` in reverse order of registration on the first of `signals` (or when
 * `shutdown()` is called), each within what is left of `timeoutMs`: a close that has not
 * finished by then is abandoned and reported, the closes after it are still started, and the
 * shutdown resolves within the deadline even when a server does not answer (paused, black-holed).
 *
 * @example
 * const shutdown = gracefulShutdown([redis, lock, http, queue], { timeoutMs: 10_000 });
 * // SIGTERM → queue, http, lock, redis closed in that order; the process exits when done.
 */
export function gracefulShutdown(
  resources: readonly ShutdownTarget[],
  options: GracefulShutdownOptions = {},
): GracefulShutdown {
  if (!Array.isArray(resources)) throw invalidArgument('gracefulShutdown() takes an array of resources');
  const list: ShutdownTarget[] = [];
  const add = (resource: ShutdownTarget) => {
    list.push(checkedResource(resource));
  };
  for (const resource of resources) add(resource);
  const { signals, timeoutMs, onError, exit } = readShutdownOptions(options);
  const report = safeReporter(onError);

  let running: Promise<ShutdownResult> | undefined;
  const shutdown = (): Promise<ShutdownResult> => {
    running ??= closeAll(list.slice().reverse(), timeoutMs, report);
    return running;
  };

  let signalled = false;
  let finished = false;
  const onSignal = () => {
    if (signalled && !finished) {
      // A second signal while closing: the operator insists.
      if (exit) process.exit(1);
      return;
    }
    // The first signal, also after (or while) a shutdown() the service called itself: the
    // process exits with that shutdown's result.
    signalled = true;
    void shutdown().then((result) => {
      finished = true;
      if (exit) process.exit(result.ok ? 0 : 1);
    });
  };
  for (const signal of signals) process.on(signal, onSignal);
  const dispose = () => {
    for (const signal of signals) process.off(signal, onSignal);
  };

  return { shutdown, add, dispose };
}

function checkedResource(resource: ShutdownTarget): ShutdownTarget {
  if (typeof resource !== 'object' || resource === null || typeof resource.close !== 'function') {
    throw invalidArgument('gracefulShutdown(): each resource must have a close() method');
  }
  return resource;
}

/** {@link GracefulShutdownOptions} checked, with their defaults. */
interface ShutdownSettings {
  signals: readonly NodeJS.Signals[];
  timeoutMs: number;
  onError: GracefulShutdownOptions['onError'];
  exit: boolean;
}

/** The fields of {@link GracefulShutdownOptions}: any other (a misspelt `tiemoutMs`) is refused. */
const SHUTDOWN_FIELDS = fieldsOf<GracefulShutdownOptions>()(['signals', 'timeoutMs', 'onError', 'exit']);

function readShutdownOptions(options: GracefulShutdownOptions): ShutdownSettings {
  if (options === null || typeof options !== 'object')
    throw invalidArgument('gracefulShutdown(): options must be an object');
  refuseUnknownFields(options, SHUTDOWN_FIELDS, 'gracefulShutdown() options', MESSAGE_PREFIX);
  const { signals = ['SIGTERM', 'SIGINT'], timeoutMs = 10_000, onError, exit = true } = options;
  if (!Array.isArray(signals) || !signals.every((s) => typeof s === 'string' && s.startsWith('SIG'))) {
    throw invalidArgument('gracefulShutdown(): signals must be an array of signal names such as SIGTERM');
  }
  // Checked before any listener is added: SIGKILL and SIGSTOP cannot be caught (adding a listener
  // throws EINVAL, after the ones before it were added), and an unknown name never fires.
  const unusable = signals.find((s) => !(s in osConstants.signals) || s === 'SIGKILL' || s === 'SIGSTOP');
  if (unusable !== undefined) {
    throw invalidArgument(
      `gracefulShutdown(): ${unusable} cannot be listened for (SIGTERM, SIGINT, SIGHUP, …)`,
    );
  }
  if (
    typeof timeoutMs !== 'number' ||
    !Number.isFinite(timeoutMs) ||
    timeoutMs <= 0 ||
    timeoutMs > 2 ** 31 - 1
  ) {
    throw invalidArgument('gracefulShutdown(): timeoutMs must be a positive number of ms');
  }
  if (onError !== undefined && typeof onError !== 'function') {
    throw invalidArgument('gracefulShutdown(): onError must be a function');
  }
  return { signals, timeoutMs, onError, exit };
}

/** `onError`, called so that whatever it does (throw included) the shutdown goes on. */
function safeReporter(
  onError: GracefulShutdownOptions['onError'],
): (error: unknown, resource: ShutdownTarget) => void {
  return (error, resource) => {
    try {
      onError?.(error, resource);
    } catch {
      // The shutdown goes on whatever the callback does.
    }
  };
}

async function closeAll(
  ordered: ShutdownTarget[],
  timeoutMs: number,
  report: (error: unknown, resource: ShutdownTarget) => void,
): Promise<ShutdownResult> {
  const started = performance.now();
  const deadline = started + timeoutMs;
  const outcomes: ShutdownResult['outcomes'] = [];
  for (const resource of ordered) {
    const left = deadline - performance.now();
    const closing = Promise.resolve().then(() => resource.close());
    if (left <= 0) {
      // Nothing left to wait with: the close is started all the same and gets one turn of the
      // event loop, so a close that finishes at once (or throws) is reported as it went.
      const soon = await settledWithinATurn(closing);
      if (soon.state === 'closed') {
        outcomes.push({ resource, outcome: 'closed' });
        continue;
      }
      if (soon.state === 'failed') {
        outcomes.push({ resource, outcome: 'failed', error: soon.error });
        report(soon.error, resource);
        continue;
      }
      closing.catch(() => undefined);
      const error = new TimeoutError(
        `${MESSAGE_PREFIX} shutdown deadline of ${timeoutMs} ms passed before this close could finish: abandoned`,
      );
      outcomes.push({ resource, outcome: 'abandoned', error });
      report(error, resource);
      continue;
    }
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), left);
    });
    try {
      const won = await Promise.race([closing.then(() => 'closed' as const), timedOut]);
      if (won === 'timeout') {
        closing.catch(() => undefined);
        const error = new TimeoutError(
          `${MESSAGE_PREFIX} close did not finish within the shutdown deadline of ${timeoutMs} ms: abandoned`,
        );
        outcomes.push({ resource, outcome: 'abandoned', error });
        report(error, resource);
      } else {
        outcomes.push({ resource, outcome: 'closed' });
      }
    } catch (error) {
      outcomes.push({ resource, outcome: 'failed', error });
      report(error, resource);
    } finally {
      clearTimeout(timer);
    }
  }
  return {
    ok: outcomes.every((o) => o.outcome === 'closed'),
    outcomes,
    durationMs: Math.round(performance.now() - started),
  };
}

/** How `closing` stands after one turn of the event loop (a setImmediate). */
function settledWithinATurn(
  closing: Promise<unknown>,
): Promise<{ state: 'closed' } | { state: 'failed'; error: unknown } | { state: 'pending' }> {
  return new Promise((resolve) => {
    const immediate = setImmediate(() => resolve({ state: 'pending' }));
    closing.then(
      () => {
        clearImmediate(immediate);
        resolve({ state: 'closed' });
      },
      (error: unknown) => {
        clearImmediate(immediate);
        resolve({ state: 'failed', error });
      },
    );
  });
}
