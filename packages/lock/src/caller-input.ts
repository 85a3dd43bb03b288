import { isInfrastructureError, isWellFormed, readOptions as readCallerOptions } from '@voelgoed/contracts';
import { invalidArgument, MESSAGE_PREFIX } from './errors.js';

// Reading what a caller passed without trusting it: options and resource lists may be Proxies,
// revoked Proxies or objects with throwing getters. Whatever reading them throws becomes
// INVALID_ARGUMENT naming the argument, before anything is sent.

/**
 * Longest resource name, in UTF-16 code units. A name goes out in three keys to every node on
 * every attempt: a name of megabytes would make each attempt outlast the node deadline.
 */
export const MAX_RESOURCE_LENGTH = 16_384;

/** The named fields of an optional options object (see contracts' readOptions). */
export const readOptions = <F extends string>(
  options: unknown,
  fields: readonly F[],
  what = 'options',
): Partial<Record<F, unknown>> => readCallerOptions(options, fields, what, MESSAGE_PREFIX);

/**
 * A resource name: a non-empty string that survives UTF-8. Redis keys are bytes, and a lone
 * surrogate becomes U+FFFD on the way: `'a\uD800'` would lock (and release) `'a\uFFFD'`.
 */
function checkName(name: unknown): string {
  if (typeof name !== 'string' || name.length === 0)
    throw invalidArgument('resource must be a non-empty string');
  if (name.length > MAX_RESOURCE_LENGTH) {
    throw invalidArgument(`resource must be at most ${MAX_RESOURCE_LENGTH} characters long`);
  }
  if (!isWellFormed(name)) throw invalidArgument('resource must not contain a lone surrogate');
  return name;
}

/** The resources of one lock: at least one name. */
export type Resources = readonly [string, ...string[]];

/** Validates and copies the resource argument: one name, or a non-empty list of distinct ones. */
export function toResources(resource: unknown): Resources {
  if (typeof resource === 'string') return [checkName(resource)];
  let list: [string, ...string[]];
  try {
    if (!Array.isArray(resource) || resource.length === 0) {
      throw invalidArgument('resource must be a non-empty string or a non-empty array of them');
    }
    // Element by element: a sparse array of length 2^32 - 1 fails at its first hole.
    list = [checkName(resource[0])];
    for (let i = 1; i < resource.length; i++) list.push(checkName(resource[i]));
  } catch (error) {
    if (isInfrastructureError(error)) throw error;
    throw invalidArgument('resource could not be read');
  }
  if (list.length > 1 && new Set(list).size !== list.length) {
    throw invalidArgument('the resources of one lock must be distinct');
  }
  return list;
}

/** An optional AbortSignal: a real one (a look-alike made from its prototype is refused, not a TypeError later). */
export function checkSignal(signal: unknown): AbortSignal | undefined {
  if (signal === undefined) return undefined;
  try {
    // Reading `aborted` checks the brand: an object made from the prototype throws.
    if (signal instanceof AbortSignal && typeof signal.aborted === 'boolean') return signal;
  } catch {
    // refused below
  }
  throw invalidArgument('signal must be an AbortSignal');
}
