import { InvalidArgumentError } from './errors.js';

/**
 * Reading what a caller passed without trusting it: options objects and lists may be Proxies,
 * revoked Proxies or objects with throwing getters. Whatever reading them throws becomes an
 * `InvalidArgumentError` naming the argument (the same rules as the Redis and lock adapters).
 */

/** Longest TTL, ms: larger ones cannot be held exactly (and Redis refuses them). */
export const MAX_TTL_MS = Number.MAX_SAFE_INTEGER;
/** Longest wait between attempts, ms: what a Node timer can hold (longer ones fire at once). */
export const MAX_DELAY_MS = 2 ** 31 - 1;

/** Longest lock resource name, in UTF-16 code units (the same limit as the Redlock adapter's). */
export const MAX_RESOURCE_LENGTH = 16_384;

const LONE_SURROGATE = /\p{Cs}/u;

/** True when `text` has no lone surrogate (it survives UTF-8, as every real store keeps it). */
export function isWellFormed(text: string): boolean {
  return !LONE_SURROGATE.test(text);
}

/** How {@link readOptions} treats fields it was not asked for. */
export interface ReadOptionsMode {
  /**
   * `fields` are only some of the object's options (the rest are read elsewhere): other fields
   * are left alone instead of refused. Default `false`.
   */
  readonly partial?: boolean;
}

/**
 * The named fields of an optional options object. `undefined` gives `{}`; anything else that is
 * not an object, or whose fields cannot be read, is an `InvalidArgumentError`, and so is an own
 * field that is not one of `fields` unless its value is `undefined` (or `mode.partial` is set):
 * a misspelt option (`{ idd: … }` for `{ id: … }`) would otherwise be dropped in silence, and
 * with it what it asked for (idempotency, a deadline, a TTL).
 */
export function readOptions<F extends string>(
  options: unknown,
  fields: readonly F[],
  what: string,
  prefix: string,
  mode?: ReadOptionsMode,
): Partial<Record<F, unknown>> {
  if (options === undefined) return {};
  if (typeof options !== 'object' || options === null) {
    throw new InvalidArgumentError(`${prefix} ${what} must be an object`);
  }
  const out: Partial<Record<F, unknown>> = {};
  for (const field of fields) {
    try {
      out[field] = (options as Record<string, unknown>)[field];
    } catch (error) {
      throw new InvalidArgumentError(`${prefix} ${what}.${field} could not be read`, { cause: error });
    }
  }
  if (mode?.partial !== true) refuseUnknownFields(options, fields, what, prefix);
  return out;
}

/**
 * Every field name of `T`, checked by the compiler: `fieldsOf<Options>()(['a', 'b'])` does not
 * compile while `Options` has a field the list leaves out (or the list names one it lacks), so a
 * list given to {@link refuseUnknownFields} or {@link readOptions} cannot fall behind its type.
 */
export function fieldsOf<T>() {
  return <const K extends readonly (keyof T & string)[]>(
    fields: K &
      ([Exclude<keyof T & string, K[number]>] extends [never]
        ? unknown
        : { missingFields: Exclude<keyof T & string, K[number]> }),
  ): readonly (keyof T & string)[] => fields;
}

/**
 * Throws `InvalidArgumentError` for an own enumerable field of `value` that is not one of
 * `fields` and whose value is not `undefined`: a misspelt option, or another library's name for
 * one (got's `searchParams`, BullMQ's `jobId`). Whatever reading the object throws is an
 * `InvalidArgumentError` too. Anything but an object is left to the caller's own checks.
 */
export function refuseUnknownFields(
  value: unknown,
  fields: readonly string[],
  what: string,
  prefix: string,
): void {
  if (typeof value !== 'object' || value === null) return;
  let keys: string[];
  try {
    keys = Object.keys(value);
  } catch (error) {
    throw new InvalidArgumentError(`${prefix} ${what} could not be read`, { cause: error });
  }
  for (const key of keys) {
    if (fields.includes(key)) continue;
    let field: unknown;
    try {
      field = (value as Record<string, unknown>)[key];
    } catch (error) {
      throw new InvalidArgumentError(`${prefix} ${what}.${key} could not be read`, { cause: error });
    }
    if (field !== undefined) {
      const known = fields.length > 0 ? `one of ${fields.join(', ')}` : 'none';
      throw new InvalidArgumentError(
        `${prefix} ${what} has an unknown field ${JSON.stringify(key.slice(0, 64))} (known: ${known})`,
      );
    }
  }
}

/**
 * A copy of a caller's array, each element passed through `check` as it is read (so a huge
 * sparse array fails at its first hole, not after walking it). Anything but an array, or an
 * array that throws when read, is an `InvalidArgumentError`.
 */
export function readList<T>(
  list: unknown,
  what: string,
  prefix: string,
  check: (item: unknown, index: number) => T,
): T[] {
  let length: number;
  try {
    if (!Array.isArray(list)) throw new InvalidArgumentError(`${prefix} ${what} must be an array`);
    length = list.length;
  } catch (error) {
    if (error instanceof InvalidArgumentError) throw error;
    throw new InvalidArgumentError(`${prefix} ${what} could not be read`, { cause: error });
  }
  const out: T[] = [];
  for (let i = 0; i < length; i++) {
    let item: unknown;
    try {
      item = (list as unknown[])[i];
    } catch (error) {
      throw new InvalidArgumentError(`${prefix} ${what}[${i}] could not be read`, { cause: error });
    }
    out.push(check(item, i));
  }
  return out;
}

/**
 * The entries of a plain object (prototype `Object.prototype` or `null`), read without trusting
 * it. Anything else is refused as `${what} must be ${expected}` (by default what `mset` takes,
 * which reads an array of pairs itself); whatever reading throws is `${what} could not be read`.
 */
export function readRecord(
  record: unknown,
  what: string,
  prefix: string,
  expected = 'an array of [key, value] pairs or a plain object',
): [string, unknown][] {
  try {
    const proto = typeof record === 'object' && record !== null ? Object.getPrototypeOf(record) : undefined;
    if (proto !== Object.prototype && proto !== null) {
      throw new InvalidArgumentError(`${prefix} ${what} must be ${expected}`);
    }
    return Object.entries(record as object);
  } catch (error) {
    if (error instanceof InvalidArgumentError) throw error;
    throw new InvalidArgumentError(`${prefix} ${what} could not be read`, { cause: error });
  }
}

/** An optional AbortSignal: a real one (a look-alike made from its prototype is refused, not a TypeError later). */
export function readSignal(signal: unknown, prefix: string): AbortSignal | undefined {
  if (signal === undefined) return undefined;
  try {
    // Reading `aborted` checks the brand: an object made from the prototype throws.
    if (signal instanceof AbortSignal && typeof signal.aborted === 'boolean') return signal;
  } catch {
    // refused below
  }
  throw new InvalidArgumentError(`${prefix} signal must be an AbortSignal`);
}
