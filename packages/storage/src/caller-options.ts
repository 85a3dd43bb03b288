import { type ListOptions, readList, readOptions, readSignal } from '@voelgoed/contracts';
import { MESSAGE_PREFIX } from './errors.js';

/**
 * Reading a caller's options without trusting them, by the contracts' rules (`readOptions`,
 * `readSignal`, `readList`) with this package's message prefix. Each field is read once, into a
 * plain copy the driver works from (a getter or a Proxy cannot answer one thing to a check and
 * another to the code after it); whatever reading throws, and a value of the wrong kind, is
 * `INVALID_ARGUMENT` naming the field, before any attempt. `put` options are read by the
 * contracts' `readPutOptions` itself.
 */

const GET_FIELDS = ['signal'] as const;
const LIST_FIELDS = ['limit'] as const;

/** `get` options: only `signal`. */
export function readGetOptions(options: unknown, what = 'get options'): { signal?: AbortSignal } {
  const read = readOptions(options, GET_FIELDS, what, MESSAGE_PREFIX);
  const signal = readSignal(read.signal, MESSAGE_PREFIX);
  return signal === undefined ? {} : { signal };
}

/** `list` options: only `limit` (checked by the listing). */
export function readListOptions(options: unknown): ListOptions {
  const { limit } = readOptions(options, LIST_FIELDS, 'list options', MESSAGE_PREFIX);
  return limit === undefined ? {} : { limit: limit as number };
}

/** A copy of a `deleteMany` key list, read element by element (a huge sparse array fails at its first hole). */
export function readKeyList(keys: unknown, check: (key: unknown) => string): string[] {
  return readList(keys, 'keys', MESSAGE_PREFIX, check);
}
