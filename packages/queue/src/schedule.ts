import {
  type EnqueueOptions,
  isWellFormed,
  type JobBackoff,
  type JobPayload,
  type JobPriority,
  type JobQueue,
} from '@voelgoed/contracts';
import { Cron } from 'croner';
import { invalidArgument } from './errors.js';
import { fields, MAX_DELAY_MS, MAX_ID_LENGTH } from './input.js';

// Repeatable jobs without a scheduler process: every process that runs a schedule stores its
// next tick ahead of time as a delayed job whose id is `<name>@<tick, ISO 8601 UTC>`. The ids are
// the same in every process, so the first enqueue of a tick stores it and the others are no-ops
// (`created: false`): each tick is stored once and delivered once (at least once, as any job).
// After a tick's time passes, each process stores the tick after it.

/** The shortest id retention a schedule accepts of a queue that tells its retention. */
export const MIN_SCHEDULE_RETENTION_MS = 60_000;
/** Characters an id takes for `@` and the tick (`@2026-12-06T12:00:00.000Z`). */
const TICK_SUFFIX_LENGTH = 25;
/** Longest schedule name, so that `<name>@<tick>` stays a valid job id. */
export const MAX_SCHEDULE_NAME_LENGTH = MAX_ID_LENGTH - TICK_SUFFIX_LENGTH;

/** Options of {@link scheduleJob}. */
export interface JobScheduleOptions<T = JobPayload> {
  /**
   * Names the schedule across processes: every process that runs the same schedule passes the
   * same name, cron and timezone. Each tick's job id is `<name>@<tick as ISO 8601 UTC>`.
   * 1–231 characters.
   */
  name: string;
  /**
   * A cron pattern in croner's syntax: 5 fields (minute first), 6 (seconds first) or 7 (with a
   * year); names (`MON`, `JAN`), `L`, `W`, `#`, and nicknames such as `@hourly`. A date
   * (a one-off run) is refused: enqueue with `runAt` instead.
   */
  cron: string;
  /** The payload every tick's job carries, as given (a JSON value or bytes). */
  payload: T;
  /**
   * IANA time zone the pattern is read in (`Europe/Amsterdam`). Default `UTC`, so that every
   * process computes the same ticks whatever its own `TZ`.
   */
  timezone?: string;
  /** Each tick's job: as {@link EnqueueOptions.priority}. */
  priority?: JobPriority;
  /** Each tick's job: as {@link EnqueueOptions.attempts}. */
  attempts?: number;
  /** Each tick's job: as {@link EnqueueOptions.backoff}. */
  backoff?: JobBackoff;
  /** Each tick's job: as {@link EnqueueOptions.timeoutMs}. */
  timeoutMs?: number;
  /**
   * Told when storing a tick failed (the queue's server unreachable). The schedule tries again,
   * backing off up to 30 s, until the tick's time; a tick nobody could store by then is skipped.
   * Default: nothing.
   */
  onError?: (error: unknown) => void;
}

/** A running schedule, as {@link scheduleJob} returns it. */
export interface JobSchedule {
  readonly name: string;
  readonly cron: string;
  readonly timezone: string;
  /** The tick this process stored last and waits for; undefined once stopped or when the pattern has no more. */
  readonly nextTick: Date | undefined;
  /**
   * Stops this process from storing further ticks. A tick already stored (the next one) still
   * runs; other processes running the schedule go on.
   */
  stop(): void;
}

/** A tick's job id back: the schedule's name and the tick; undefined for any other id. */
export function parseScheduledJobId(id: string): { schedule: string; tick: Date } | undefined {
  if (typeof id !== 'string') return undefined;
  const at = id.lastIndexOf('@');
  if (at < 1) return undefined;
  const iso = id.slice(at + 1);
  const ms = Date.parse(iso);
  if (!Number.isFinite(ms) || new Date(ms).toISOString() !== iso) return undefined;
  return { schedule: id.slice(0, at), tick: new Date(ms) };
}

/** The job id of a schedule's tick. */
export const scheduledJobId = (name: string, tick: Date): string => `${name}@${tick.toISOString()}`;

/** Reads the pattern with croner; any mistake is INVALID_ARGUMENT. */
function readCron(pattern: unknown, timezone: unknown): Cron {
  if (typeof pattern !== 'string' || pattern.trim() === '') {
    throw invalidArgument('cron must be a non-empty cron pattern');
  }
  if (typeof timezone !== 'string' || timezone === '') {
    throw invalidArgument('timezone must be an IANA time zone name such as Europe/Amsterdam');
  }
  try {
    // Date.prototype methods throw a RangeError for a zone the runtime does not know.
    new Intl.DateTimeFormat('en-US', { timeZone: timezone });
  } catch (error) {
    throw invalidArgument(
      `timezone ${JSON.stringify(timezone)} is not a time zone this runtime knows`,
      error,
    );
  }
  let cron: Cron;
  try {
    cron = new Cron(pattern, { timezone });
    cron.nextRun();
  } catch (error) {
    const reason = error instanceof Error ? `: ${error.message}` : '';
    throw invalidArgument(`cron ${JSON.stringify(pattern)} is not a valid pattern${reason}`, error);
  }
  if (cron.getOnce() !== null) {
    throw invalidArgument('cron must be a cron pattern, not a date (enqueue with runAt for a one-off job)');
  }
  return cron;
}

function readName(value: unknown): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_SCHEDULE_NAME_LENGTH) {
    throw invalidArgument(`name must be a string of 1 to ${MAX_SCHEDULE_NAME_LENGTH} characters`);
  }
  if (!isWellFormed(value)) throw invalidArgument('name must not contain a lone surrogate');
  return value;
}

/** A queue that tells its id retention (the Redis queue does) must keep ids long enough. */
function checkRetention(queue: object): void {
  let retention: unknown;
  try {
    retention = (queue as { retentionMs?: unknown }).retentionMs;
  } catch {
    return;
  }
  if (typeof retention === 'number' && retention < MIN_SCHEDULE_RETENTION_MS) {
    throw invalidArgument(
      `the queue forgets completed job ids after ${retention} ms (retentionMs); a schedule needs at least ${MIN_SCHEDULE_RETENTION_MS} ms, or a tick stored late by one process could run twice`,
    );
  }
}

/** Wait before trying to store a tick again after `failures` failures, ms. */
const retryWait = (failures: number) => Math.min(30_000, 250 * 2 ** failures);

class Schedule<T> implements JobSchedule {
  readonly name: string;
  readonly cron: string;
  readonly timezone: string;
  #next: Date | undefined;
  #stopped = false;
  #timer: NodeJS.Timeout | undefined;
  #retry: NodeJS.Timeout | undefined;
  readonly #queue: JobQueue<T>;
  readonly #pattern: Cron;
  readonly #payload: T;
  readonly #options: EnqueueOptions;
  readonly #onError: ((error: unknown) => void) | undefined;

  constructor(
    queue: JobQueue<T>,
    pattern: Cron,
    payload: T,
    options: EnqueueOptions,
    onError: ((error: unknown) => void) | undefined,
    settings: { name: string; cron: string; timezone: string },
  ) {
    this.#queue = queue;
    this.#pattern = pattern;
    this.#payload = payload;
    this.#options = options;
    this.#onError = onError;
    this.name = settings.name;
    this.cron = settings.cron;
    this.timezone = settings.timezone;
  }

  get nextTick(): Date | undefined {
    return this.#stopped ? undefined : this.#next;
  }

  /** Stores the first tick (its failure rejects scheduleJob), then keeps going on timers. */
  async start(): Promise<void> {
    const tick = this.#pattern.nextRun(new Date());
    if (tick === null) throw invalidArgument(`cron ${JSON.stringify(this.cron)} has no tick in the future`);
    this.#next = tick;
    await this.#enqueue(tick);
    this.#waitFor(tick);
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
    clearTimeout(this.#retry);
  }

  #enqueue(tick: Date): Promise<unknown> {
    return this.#queue.enqueue(this.#payload, {
      ...this.#options,
      id: scheduledJobId(this.name, tick),
      runAt: tick.getTime(),
    });
  }

  /** Sleeps (on an unref'd timer, in steps a Node timer can hold) until `tick` has passed. */
  #waitFor(tick: Date): void {
    if (this.#stopped) return;
    const wait = tick.getTime() - Date.now();
    if (wait >= 0) {
      this.#timer = setTimeout(() => this.#waitFor(tick), Math.min(wait + 1, MAX_DELAY_MS));
      this.#timer.unref();
      return;
    }
    // Ticks are computed from now: a process that slept through some (a stall, a long GC) does
    // not store ticks whose time has already passed.
    const next = this.#pattern.nextRun(new Date(Math.max(Date.now(), tick.getTime())));
    this.#next = next ?? undefined;
    if (next === null) return;
    this.#store(next, 0);
    this.#waitFor(next);
  }

  /** Stores `tick`, trying again after failures until its time has come. */
  #store(tick: Date, failures: number): void {
    this.#enqueue(tick).catch((error: unknown) => {
      if (this.#stopped) return;
      try {
        this.#onError?.(error);
      } catch {
        // a throwing onError must not stop the schedule
      }
      const wait = retryWait(failures);
      if (this.#next !== tick || Date.now() + wait >= tick.getTime()) return;
      this.#retry = setTimeout(() => this.#store(tick, failures + 1), wait);
      this.#retry.unref();
    });
  }
}

/**
 * Runs a repeatable job on `queue` (any {@link JobQueue}: Redis or the memory twin): each tick of
 * the cron pattern is enqueued once, as a job with id `<name>@<tick ISO>`, whose payload is
 * `options.payload` and whose time (`runAt`) is the tick. Call it in every process that should
 * keep the schedule going (there is no scheduler process): each tick still runs once, however
 * many processes run it. Resolves once the next tick is stored; rejects with
 * `InvalidArgumentError` (nothing stored) on a bad pattern, time zone or option.
 */
export async function scheduleJob<T = JobPayload>(
  queue: JobQueue<T>,
  options: JobScheduleOptions<T>,
): Promise<JobSchedule> {
  if (
    typeof queue !== 'object' ||
    queue === null ||
    typeof (queue as { enqueue?: unknown }).enqueue !== 'function'
  ) {
    throw invalidArgument('queue must be a JobQueue');
  }
  if (options === undefined) throw invalidArgument('schedule options must be an object');
  const o = fields(
    options,
    [
      'name',
      'cron',
      'payload',
      'timezone',
      'priority',
      'attempts',
      'backoff',
      'timeoutMs',
      'onError',
    ] as const,
    'schedule options',
  );
  const name = readName(o.name);
  const timezone = o.timezone === undefined ? 'UTC' : o.timezone;
  const pattern = readCron(o.cron, timezone);
  if (o.onError !== undefined && typeof o.onError !== 'function') {
    throw invalidArgument('onError must be a function');
  }
  if (o.payload === undefined) throw invalidArgument('payload is required (null will do)');
  checkRetention(queue);
  const jobOptions: EnqueueOptions = {};
  if (o.priority !== undefined) jobOptions.priority = o.priority as JobPriority;
  if (o.attempts !== undefined) jobOptions.attempts = o.attempts as number;
  if (o.backoff !== undefined) jobOptions.backoff = o.backoff as JobBackoff;
  if (o.timeoutMs !== undefined) jobOptions.timeoutMs = o.timeoutMs as number;
  const schedule = new Schedule<T>(
    queue,
    pattern,
    o.payload as T,
    jobOptions,
    o.onError as ((error: unknown) => void) | undefined,
    { name, cron: o.cron as string, timezone: timezone as string },
  );
  try {
    await schedule.start();
  } catch (error) {
    schedule.stop();
    throw error;
  }
  return schedule;
}
