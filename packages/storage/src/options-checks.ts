import { invalidArgument } from './errors.js';

/** Checks a `getRange` start and end (inclusive): integers with 0 <= start <= end. */
export function validateRange(start: unknown, end: unknown): void {
  if (typeof start !== 'number' || !Number.isSafeInteger(start) || start < 0)
    throw invalidArgument('range start must be a non-negative integer');
  if (typeof end !== 'number' || !Number.isSafeInteger(end) || end < start)
    throw invalidArgument('range end must be an integer >= start (both inclusive)');
}

/** Checks an optional duration: undefined or a non-negative integer of milliseconds. */
export function validateMs(value: unknown, name: string): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0)
    throw invalidArgument(`${name} must be a non-negative integer of milliseconds`);
  return value;
}
