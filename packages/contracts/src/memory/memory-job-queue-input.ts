import { isWellFormed, MAX_DELAY_MS, readList, readOptions } from '../caller-input.js';
import { InvalidArgumentError, PayloadTooLargeError } from '../errors.js';
import type { JobPriority } from '../ports/job-queue.js';
import { readLogger } from '../ports/logger.js';
import type { Clock } from './clock.js';
import type { MemoryJobQueueOptions } from './memory-job-queue.js';

export const PREFIX = '[voelgoed:contracts]';
/** Longest job id, in UTF-16 code units. */
export const MAX_ID_LENGTH = 256;
const MAX_ATTEMPTS = 1000;
const MAX_FACTOR = 1000;
/** Latest `runAt` a `Date` can hold. */
const MAX_EPOCH_MS = 8.64e15;
const PRIORITIES: readonly JobPriority[] = ['high', 'normal', 'low'];

/** A payload as the queue keeps it: JSON text, or a private copy of the bytes. */
export type StoredPayload = { readonly json: string } | { readonly bytes: Uint8Array };

/** The validated options of one job, with defaults applied. */
export interface JobSettings {
  readonly id: string | undefined;
  /** Ms from now, or an epoch ms (`runAt`), or neither. */
  readonly delayMs: number | undefined;
  readonly runAt: number | undefined;
  readonly priority: JobPriority;
  readonly attempts: number;
  readonly backoff: { readonly initialMs: number; readonly factor: number; readonly maxMs: number };
  readonly timeoutMs: number | undefined;
}

/** Copies a payload so that the caller's later changes reach nothing; bad ones are `INVALID_ARGUMENT`. */
export function storePayload(payload: unknown, maxBytes: number): StoredPayload {
  let stored: StoredPayload;
  try {
    if (payload instanceof Uint8Array) {
      stored = { bytes: new Uint8Array(payload) };
    } else if (payload instanceof ArrayBuffer || ArrayBuffer.isView(payload)) {
      throw new InvalidArgumentError(`${PREFIX} a byte payload must be a Uint8Array (or Buffer)`);
    } else {
      const json = JSON.stringify(payload);
      if (typeof json !== 'string') {
        throw new InvalidArgumentError(`${PREFIX} the payload must be a JSON value or bytes`);
      }
      stored = { json };
    }
  } catch (error) {
    if (error instanceof InvalidArgumentError) throw error;
    throw new InvalidArgumentError(`${PREFIX} the payload could not be serialised as JSON`, { cause: error });
  }
  const size = 'bytes' in stored ? stored.bytes.byteLength : Buffer.byteLength(stored.json, 'utf8');
  if (size > maxBytes) {
    throw new PayloadTooLargeError(
      `${PREFIX} the payload is ${size} bytes, more than the queue's limit of ${maxBytes}`,
      maxBytes,
    );
  }
  return stored;
}

/** A fresh copy of a stored payload for one reader: bytes as a `Buffer`, JSON parsed anew. */
export function loadPayload<T>(stored: StoredPayload): T {
  return ('bytes' in stored ? Buffer.from(stored.bytes) : JSON.parse(stored.json)) as T;
}

/** A job id: 1–256 characters, no lone surrogate (it must survive UTF-8). */
export function checkJobId(id: unknown, what = 'id'): asserts id is string {
  if (typeof id !== 'string' || id.length === 0 || id.length > MAX_ID_LENGTH) {
    throw new InvalidArgumentError(`${PREFIX} ${what} must be a string of 1 to ${MAX_ID_LENGTH} characters`);
  }
  if (!isWellFormed(id))
    throw new InvalidArgumentError(`${PREFIX} ${what} must not contain a lone surrogate`);
}

function numberIn(value: unknown, what: string, min: number, max: number, integer = false): number {
  if (
    typeof value !== 'number' ||
    !Number.isFinite(value) ||
    value < min ||
    value > max ||
    (integer && !Number.isInteger(value))
  ) {
    throw new InvalidArgumentError(
      `${PREFIX} ${what} must be ${integer ? 'an integer' : 'a number'} from ${min} to ${max}`,
    );
  }
  return value;
}

/** Reads a `timeoutMs`-like value: a positive number of ms a Node timer can hold. */
export function readTimeoutMs(value: unknown, what: string): number {
  const ms = numberIn(value, what, 0, MAX_DELAY_MS);
  if (ms === 0) throw new InvalidArgumentError(`${PREFIX} ${what} must be greater than 0`);
  return ms;
}

function readRunAt(value: unknown): number {
  let ms: unknown = value;
  try {
    // A Proxy's getPrototypeOf trap may throw here, and a Date look-alike throws in getTime.
    if (value instanceof Date) ms = Date.prototype.getTime.call(value);
  } catch (error) {
    throw new InvalidArgumentError(`${PREFIX} runAt could not be read`, { cause: error });
  }
  return numberIn(ms, 'runAt', 0, MAX_EPOCH_MS);
}

function readBackoff(value: unknown): JobSettings['backoff'] {
  const o = readOptions(value, ['initialMs', 'factor', 'maxMs'], 'backoff', PREFIX);
  return {
    initialMs: o.initialMs === undefined ? 1000 : numberIn(o.initialMs, 'backoff.initialMs', 0, MAX_DELAY_MS),
    factor: o.factor === undefined ? 2 : numberIn(o.factor, 'backoff.factor', 1, MAX_FACTOR),
    maxMs: o.maxMs === undefined ? 3_600_000 : numberIn(o.maxMs, 'backoff.maxMs', 0, MAX_DELAY_MS),
  };
}

/** Validates one job's options (all of them, before anything is stored). */
export function readEnqueueOptions(options: unknown): JobSettings {
  const o = readOptions(
    options,
    ['id', 'delayMs', 'runAt', 'priority', 'attempts', 'backoff', 'timeoutMs'] as const,
    'enqueue options',
    PREFIX,
  );
  if (o.id !== undefined) checkJobId(o.id);
  if (o.delayMs !== undefined && o.runAt !== undefined) {
    throw new InvalidArgumentError(`${PREFIX} pass delayMs or runAt, not both`);
  }
  if (o.priority !== undefined && !PRIORITIES.includes(o.priority as JobPriority)) {
    throw new InvalidArgumentError(`${PREFIX} priority must be 'high', 'normal' or 'low'`);
  }
  return {
    id: o.id as string | undefined,
    delayMs: o.delayMs === undefined ? undefined : numberIn(o.delayMs, 'delayMs', 0, MAX_DELAY_MS),
    runAt: o.runAt === undefined ? undefined : readRunAt(o.runAt),
    priority: (o.priority as JobPriority | undefined) ?? 'normal',
    attempts: o.attempts === undefined ? 3 : numberIn(o.attempts, 'attempts', 1, MAX_ATTEMPTS, true),
    backoff: readBackoff(o.backoff),
    timeoutMs: o.timeoutMs === undefined ? undefined : readTimeoutMs(o.timeoutMs, 'timeoutMs'),
  };
}

/** Validates every job of an `enqueueMany` call and copies its payload. */
export function readJobs(
  jobs: unknown,
  maxBytes: number,
): { payload: StoredPayload; settings: JobSettings }[] {
  const items = readList(jobs, 'jobs', PREFIX, (item, i) =>
    readOptions(item, ['payload', 'options'] as const, `jobs[${i}]`, PREFIX),
  );
  return items.map((item) => ({
    settings: readEnqueueOptions(item.options),
    payload: storePayload(item.payload, maxBytes),
  }));
}

/** Reads `deadLetters` options: offset >= 0 (default 0), limit 1–1,000 (default 100). */
export function readPage(options: unknown): { offset: number; limit: number } {
  const o = readOptions(options, ['offset', 'limit'] as const, 'dead-letter options', PREFIX);
  return {
    offset: o.offset === undefined ? 0 : numberIn(o.offset, 'offset', 0, Number.MAX_SAFE_INTEGER, true),
    limit: o.limit === undefined ? 100 : numberIn(o.limit, 'limit', 1, 1000, true),
  };
}

/** Reads the queue's own options (defaults are the queue's). */
export function readQueueOptions(options: unknown): MemoryJobQueueOptions {
  const o = readOptions(
    options,
    ['clock', 'idRetentionMs', 'maxPayloadBytes', 'leaseMs', 'random', 'logger'] as const,
    'job queue options',
    PREFIX,
  );
  if (o.clock !== undefined && typeof (o.clock as Clock | null)?.now !== 'function') {
    throw new InvalidArgumentError(`${PREFIX} clock must have a now() method`);
  }
  if (o.random !== undefined && typeof o.random !== 'function') {
    throw new InvalidArgumentError(`${PREFIX} random must be a function`);
  }
  const max = Number.MAX_SAFE_INTEGER;
  return {
    clock: o.clock as Clock | undefined,
    logger: readLogger(o.logger, PREFIX),
    random: o.random as (() => number) | undefined,
    idRetentionMs:
      o.idRetentionMs === undefined ? undefined : numberIn(o.idRetentionMs, 'idRetentionMs', 0, max, true),
    maxPayloadBytes:
      o.maxPayloadBytes === undefined
        ? undefined
        : numberIn(o.maxPayloadBytes, 'maxPayloadBytes', 1, max, true),
    leaseMs: o.leaseMs === undefined ? undefined : readTimeoutMs(o.leaseMs, 'leaseMs'),
  };
}

/** Checks a worker's handler and reads its concurrency (an integer 1–1,000, default 1). */
export function readWorkerOptions(handler: unknown, options: unknown): number {
  if (typeof handler !== 'function') throw new InvalidArgumentError(`${PREFIX} handler must be a function`);
  const o = readOptions(options, ['concurrency'] as const, 'worker options', PREFIX);
  return o.concurrency === undefined ? 1 : numberIn(o.concurrency, 'concurrency', 1, 1000, true);
}

/** The wait before the next attempt after `failures` failed ones: full jitter below the exponential cap. */
export function backoffMs(backoff: JobSettings['backoff'], failures: number, random: () => number): number {
  const cap = Math.min(backoff.maxMs, backoff.initialMs * backoff.factor ** (failures - 1));
  const r = Math.min(Math.max(Number(random()) || 0, 0), 1);
  return Math.min(cap, Math.floor(r * (cap + 1)));
}
