import { ErrorCodes, type InfrastructureError, isInfrastructureError } from '../errors.js';
import { JunkGenerator } from './junk.js';
import { formatSeed, type SeededRandom } from './seeded-random.js';

/** Settings of one bad-input suite (each suite has its own defaults). */
export interface BadInputOptions {
  /** Seed of the junk. The environment variable `VOELGOED_JUNK_SEED` (decimal or 0x hex) overrides it. */
  seed?: number;
  /** Number of runs (one call with junk each). `VOELGOED_JUNK_RUNS` overrides it. */
  runs?: number;
  /** Deadline of one call, ms (default 5000): a call that has not settled by then fails the run. */
  callTimeoutMs?: number;
}

/** One call of a port method with junk in it, and what it may do. */
export interface BadInputCall<R = unknown> {
  /** What is called, with labels of its arguments (never the values: they may be 1 MiB). */
  readonly label: string;
  /** Makes the call. It must return a promise (a synchronous throw fails the run). */
  readonly invoke: () => Promise<R>;
  /**
   * Whether a rejection with this typed error is allowed. Default: only `INVALID_ARGUMENT` (a
   * caller mistake is refused before any attempt).
   */
  readonly accept?: (error: InfrastructureError) => boolean;
  /** A rejection that is allowed though it is no InfrastructureError (e.g. the error `fn` threw). */
  readonly passThrough?: (error: unknown) => boolean;
  /** Checks a success; throw (or return a message) to fail the run. */
  readonly onSuccess?: (value: R) => string | undefined | Promise<string | undefined>;
}

/** How a call settled (once it passed {@link BadInputCall}'s rules). */
export type CallOutcome<R> =
  | { readonly ok: true; readonly value: R }
  | { readonly ok: false; readonly error: unknown };

/** What a suite's run function gets. */
export interface JunkRunContext {
  /** The run's number (0-based). */
  readonly index: number;
  readonly junk: JunkGenerator;
  readonly random: SeededRandom;
  /** Makes the call and checks it against the rules; a broken rule throws {@link BadInputFailure}. */
  call<R>(call: BadInputCall<R>): Promise<CallOutcome<R>>;
}

/** A run broke a rule. The message says which call and how. */
export class BadInputFailure extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BadInputFailure';
  }
}

const DEFAULT_CALL_TIMEOUT_MS = 5000;
/** Failures listed before the suite stops (the rest are not run: one is enough to go on). */
const MAX_FAILURES = 5;

/** The codes a caller mistake may give: only `INVALID_ARGUMENT`. */
export const onlyInvalidArgument = (error: InfrastructureError): boolean =>
  error.code === ErrorCodes.INVALID_ARGUMENT;

/** `name (code X): message`, cut short, for failure messages. */
export function describeError(error: unknown): string {
  if (typeof error !== 'object' || error === null) return `a thrown ${typeof error}`;
  const e = error as { name?: unknown; code?: unknown; message?: unknown };
  const message = typeof e.message === 'string' ? e.message.slice(0, 300) : '';
  const code = e.code === undefined ? '' : ` (code ${String(e.code)})`;
  return `${typeof e.name === 'string' ? e.name : 'an object'}${code}: ${message}`;
}

function fromEnv(name: string): number | undefined {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === '') return undefined;
  const n = Number(raw.trim());
  if (!Number.isSafeInteger(n) || n < 0)
    throw new Error(`[voelgoed:contracts] ${name} must be an integer >= 0`);
  return n;
}

/** The seed, runs and deadline a suite runs with: the environment, then `options`, then the suite's defaults. */
export function resolveBadInputOptions(
  options: BadInputOptions,
  defaults: { seed: number; runs: number },
): Required<BadInputOptions> {
  return {
    seed: fromEnv('VOELGOED_JUNK_SEED') ?? options.seed ?? defaults.seed,
    runs: fromEnv('VOELGOED_JUNK_RUNS') ?? options.runs ?? defaults.runs,
    callTimeoutMs: options.callTimeoutMs ?? DEFAULT_CALL_TIMEOUT_MS,
  };
}

/** Settles with the promise's outcome, or `'timeout'` after `ms`. */
async function settleWithin<R>(promise: Promise<R>, ms: number): Promise<CallOutcome<R> | 'timeout'> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), ms);
  });
  try {
    return await Promise.race([
      promise.then(
        (value): CallOutcome<R> => ({ ok: true, value }),
        (error: unknown): CallOutcome<R> => ({ ok: false, error }),
      ),
      deadline,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Makes one call and checks it: it returns a promise, settles within `timeoutMs`, and either
 * resolves (and passes `onSuccess`) or rejects with an allowed typed error.
 */
export async function checkCall<R>(call: BadInputCall<R>, timeoutMs: number): Promise<CallOutcome<R>> {
  let promise: Promise<R>;
  try {
    promise = call.invoke();
  } catch (error) {
    throw new BadInputFailure(
      `${call.label} threw synchronously instead of rejecting: ${describeError(error)}`,
    );
  }
  if (typeof (promise as { then?: unknown } | undefined)?.then !== 'function') {
    throw new BadInputFailure(`${call.label} did not return a promise`);
  }
  const outcome = await settleWithin(Promise.resolve(promise), timeoutMs);
  if (outcome === 'timeout') {
    throw new BadInputFailure(`${call.label} did not settle within ${timeoutMs} ms (a hang)`);
  }
  if (outcome.ok) {
    let problem: string | undefined;
    try {
      problem = (await call.onSuccess?.(outcome.value)) ?? undefined;
    } catch (error) {
      problem = describeError(error);
    }
    if (problem !== undefined) throw new BadInputFailure(`${call.label} resolved, but ${problem}`);
    return outcome;
  }
  const { error } = outcome;
  if (call.passThrough?.(error)) return outcome;
  if (!isInfrastructureError(error)) {
    throw new BadInputFailure(
      `${call.label} rejected with ${describeError(error)}: expected a typed InfrastructureError or a success`,
    );
  }
  if (!(call.accept ?? onlyInvalidArgument)(error)) {
    throw new BadInputFailure(
      `${call.label} rejected with ${describeError(error)}: not a code this call may give`,
    );
  }
  return outcome;
}

/**
 * Runs `run` `settings.runs` times with junk from one seeded generator, collects the failures
 * (up to five) and throws one error listing them, with the seed and the way to replay them.
 */
export async function runJunkRuns(
  suite: string,
  settings: Required<BadInputOptions>,
  run: (context: JunkRunContext) => Promise<void>,
): Promise<void> {
  const junk = new JunkGenerator(settings.seed);
  const failures: string[] = [];
  let index = 0;
  for (; index < settings.runs && failures.length < MAX_FAILURES; index++) {
    const context: JunkRunContext = {
      index,
      junk,
      random: junk.random,
      call: (call) => checkCall(call, settings.callTimeoutMs),
    };
    try {
      await run(context);
    } catch (error) {
      failures.push(
        `run ${index}: ${error instanceof BadInputFailure ? error.message : describeError(error)}`,
      );
    }
  }
  if (failures.length === 0) return;
  const seed = formatSeed(settings.seed);
  throw new Error(
    `[voelgoed:contracts] ${suite} bad-input suite: ${failures.length} failing run(s) within the first ${index} ` +
      `(seed ${seed}; replay with VOELGOED_JUNK_SEED=${seed} VOELGOED_JUNK_RUNS=${index}):\n  ${failures.join('\n  ')}`,
  );
}

/** Whether `value` is a real AbortSignal that has already aborted (false for anything that throws when asked). */
export function isAbortedSignal(value: unknown): boolean {
  try {
    return value instanceof AbortSignal && value.aborted === true;
  } catch {
    return false;
  }
}

/** Whether `value` is a positive finite number below `ms` (a TTL so short that a lock may expire at once). */
export function isShortTtl(value: unknown, ms: number): boolean {
  return typeof value === 'number' && value > 0 && value < ms;
}
