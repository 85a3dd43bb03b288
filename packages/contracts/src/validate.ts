import { InvalidArgumentError } from './errors.js';

/**
 * Argument checks shared by every implementation, so that the same bad input gets the same
 * `InvalidArgumentError` whichever adapter is behind a port. `prefix` starts the message
 * (e.g. `[voelgoed:redis]`).
 */
/** Shape of {@link validate} (declared so its assertion methods can narrow at call sites). */
export interface Validate {
  nonEmptyString(value: unknown, what: string, prefix: string): asserts value is string;
  positiveMs(value: unknown, what: string, prefix: string): asserts value is number;
  integer(value: unknown, what: string, prefix: string, min?: number): asserts value is number;
  finite(value: unknown, what: string, prefix: string): asserts value is number;
}

export const validate: Validate = {
  /** A non-empty string (key, resource, channel). */
  nonEmptyString(value: unknown, what: string, prefix: string): asserts value is string {
    if (typeof value !== 'string' || value.length === 0) {
      throw new InvalidArgumentError(`${prefix} ${what} must be a non-empty string`);
    }
  },
  /** A positive, finite number of milliseconds (TTL, timeout). */
  positiveMs(value: unknown, what: string, prefix: string): asserts value is number {
    if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
      throw new InvalidArgumentError(
        `${prefix} ${what} must be a positive finite number of ms, got ${describe(value)}`,
      );
    }
  },
  /** A finite integer (optionally >= min). */
  integer(
    value: unknown,
    what: string,
    prefix: string,
    min = Number.MIN_SAFE_INTEGER,
  ): asserts value is number {
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
      throw new InvalidArgumentError(
        `${prefix} ${what} must be an integer >= ${min}, got ${describe(value)}`,
      );
    }
  },
  /** A finite number. */
  finite(value: unknown, what: string, prefix: string): asserts value is number {
    if (typeof value !== 'number' || !Number.isFinite(value)) {
      throw new InvalidArgumentError(`${prefix} ${what} must be a finite number, got ${describe(value)}`);
    }
  },
};

/** Describes a bad value without echoing long strings (which could be secrets or payloads). */
function describe(value: unknown): string {
  if (typeof value === 'number' || typeof value === 'boolean' || value === null || value === undefined)
    return String(value);
  return `a ${typeof value}`;
}
