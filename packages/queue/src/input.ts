import { randomUUID } from 'node:crypto';
import { isInfrastructureError, isWellFormed, readList, readOptions } from '@voelgoed/contracts';
import { invalidArgument, MESSAGE_PREFIX, payloadTooLarge } from './errors.js';

// Reading what a caller passed without trusting it (Proxies, throwing getters): every mistake is
// INVALID_ARGUMENT before anything is sent, and an enqueueMany call is checked whole first.

/** Longest job id and queue name, in UTF-16 code units. */
export const MAX_ID_LENGTH = 256;
/** Longest wait a Node timer can hold, ms. */
export const MAX_DELAY_MS = 2 ** 31 - 1;
const MAX_EPOCH_MS = 8.64e15;
const RANKS = { high: 0, normal: 1, low: 2 } as const;

export const fields = <F extends string>(options: unknown, names: readonly F[], what: string) =>
  readOptions(options, names, what, MESSAGE_PREFIX);

export function numberIn(value: unknown, what: string, min: number, max: number, integer = false): number {
  if (
    typeof value !== 'number' ||
    !Number.isFinite(value) ||
    value < min ||
    value > max ||
    (integer && !Number.isInteger(value))
  ) {
    throw invalidArgument(`${what} must be ${integer ? 'an integer' : 'a number'} from ${min} to ${max}`);
  }
  return value;
}

/** A job id or queue name: 1–256 characters, no lone surrogate (it must survive UTF-8). */
export function checkName(value: unknown, what: string): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_ID_LENGTH) {
    throw invalidArgument(`${what} must be a string of 1 to ${MAX_ID_LENGTH} characters`);
  }
  if (!isWellFormed(value)) throw invalidArgument(`${what} must not contain a lone surrogate`);
  return value;
}

/** One job as the enqueue script takes it (9 fields). */
export type JobArgs = [
  id: string,
  kind: 'j' | 'b',
  payload: string,
  rank: number,
  attempts: number,
  due: '' | 'd' | 'a',
  dueValue: number,
  backoff: string,
  timeout: string,
];

/** A validated job, and whether its id was the caller's (then enqueueing it again is idempotent). */
export interface ReadJob {
  args: JobArgs;
  idGiven: boolean;
}

/**
 * A payload as stored: JSON text, or the bytes in base64. Both are text, so workers read their
 * fetches as strings: no Buffer per field, and the JSON goes from the reply to JSON.parse in one
 * decode. Bytes cost a third more room in Redis; the size limit counts the bytes themselves.
 */
export function encodePayload(payload: unknown, maxBytes: number): { kind: 'j' | 'b'; data: string } {
  try {
    if (payload instanceof Uint8Array) {
      const size = payload.byteLength;
      if (size > maxBytes) throw payloadTooLarge(size, maxBytes);
      return { kind: 'b', data: Buffer.from(payload.buffer, payload.byteOffset, size).toString('base64') };
    }
    if (payload instanceof ArrayBuffer || ArrayBuffer.isView(payload)) {
      throw invalidArgument('a byte payload must be a Uint8Array (or Buffer)');
    }
    const json = JSON.stringify(payload);
    if (typeof json !== 'string') throw invalidArgument('the payload must be a JSON value or bytes');
    // A UTF-16 code unit is at most 3 bytes of UTF-8: most payloads need no count of their bytes.
    if (json.length * 3 > maxBytes) {
      const size = Buffer.byteLength(json, 'utf8');
      if (size > maxBytes) throw payloadTooLarge(size, maxBytes);
    }
    return { kind: 'j', data: json };
  } catch (error) {
    if (isInfrastructureError(error)) throw error;
    throw invalidArgument('the payload could not be serialised as JSON', error);
  }
}

/** A stored payload back: bytes as a Buffer, JSON parsed. */
export function decodePayload(kind: string, data: string): unknown {
  return kind === 'b' ? Buffer.from(data, 'base64') : JSON.parse(data);
}

function readRunAt(value: unknown): number {
  let ms: unknown = value;
  try {
    if (value instanceof Date) ms = value.getTime();
  } catch (error) {
    throw invalidArgument('runAt could not be read', error);
  }
  return numberIn(ms, 'runAt', 0, MAX_EPOCH_MS);
}

function readBackoff(value: unknown): string {
  const o = fields(value, ['initialMs', 'factor', 'maxMs'], 'backoff');
  const initial =
    o.initialMs === undefined ? 1000 : numberIn(o.initialMs, 'backoff.initialMs', 0, MAX_DELAY_MS);
  const factor = o.factor === undefined ? 2 : numberIn(o.factor, 'backoff.factor', 1, 1000);
  const max = o.maxMs === undefined ? 3_600_000 : numberIn(o.maxMs, 'backoff.maxMs', 0, MAX_DELAY_MS);
  return `${initial},${factor},${max}`;
}

/** Validates one job (options first, then the payload) into the script's fields. */
export function readJob(payload: unknown, options: unknown, maxBytes: number): ReadJob {
  const o = fields(
    options,
    ['id', 'delayMs', 'runAt', 'priority', 'attempts', 'backoff', 'timeoutMs'] as const,
    'enqueue options',
  );
  const id = o.id === undefined ? randomUUID() : checkName(o.id, 'id');
  if (o.delayMs !== undefined && o.runAt !== undefined)
    throw invalidArgument('pass delayMs or runAt, not both');
  const priority = o.priority ?? 'normal';
  if (typeof priority !== 'string' || !Object.hasOwn(RANKS, priority)) {
    throw invalidArgument("priority must be 'high', 'normal' or 'low'");
  }
  let due: JobArgs[5] = '';
  let dueValue = 0;
  if (o.delayMs !== undefined) {
    due = 'd';
    dueValue = numberIn(o.delayMs, 'delayMs', 0, MAX_DELAY_MS);
  } else if (o.runAt !== undefined) {
    due = 'a';
    dueValue = readRunAt(o.runAt);
  }
  const attempts = o.attempts === undefined ? 3 : numberIn(o.attempts, 'attempts', 1, 1000, true);
  const backoff = readBackoff(o.backoff);
  let timeout = '';
  if (o.timeoutMs !== undefined) {
    const ms = numberIn(o.timeoutMs, 'timeoutMs', 0, MAX_DELAY_MS);
    if (ms === 0) throw invalidArgument('timeoutMs must be greater than 0');
    timeout = String(ms);
  }
  const { kind, data } = encodePayload(payload, maxBytes);
  const rank = RANKS[priority as keyof typeof RANKS];
  return {
    args: [id, kind, data, rank, attempts, due, Math.ceil(dueValue), backoff, timeout],
    idGiven: o.id !== undefined,
  };
}

/** Validates every job of an enqueueMany call. */
export function readJobs(jobs: unknown, maxBytes: number): ReadJob[] {
  const list = readList(jobs, 'jobs', MESSAGE_PREFIX, (item, i) =>
    fields(item, ['payload', 'options'] as const, `jobs[${i}]`),
  );
  return list.map((item) => readJob(item.payload, item.options, maxBytes));
}

/** The wait before the next attempt after `failures` failed ones: full jitter. */
export function backoffMs(backoff: string, failures: number): number {
  const [initial = 1000, factor = 2, max = 3_600_000] = backoff.split(',').map(Number);
  const cap = Math.min(max, initial * factor ** Math.max(0, failures - 1));
  return Math.floor(Math.random() * cap);
}

/**
 * How long to wait before trying Redis again after `errors` failures in a row: 50 ms doubling,
 * capped at `capMs`, so an outage is not hammered and a short one costs little.
 */
export function redisRetryDelayMs(errors: number, capMs: number): number {
  return Math.min(capMs, 25 * 2 ** errors);
}
