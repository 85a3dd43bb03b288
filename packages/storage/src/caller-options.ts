import {
  isInfrastructureError,
  type ListOptions,
  type PutOptions,
  type SignedUrlOptions,
} from '@voelgoed/contracts';
import { invalidArgument } from './errors.js';

/**
 * Reading a caller's options without trusting them. Each field is read once, into a plain copy
 * the driver works from (a getter or a Proxy cannot answer one thing to a check and another to
 * the code after it); whatever reading throws, and a value of the wrong kind, is
 * `INVALID_ARGUMENT` naming the field, before any attempt.
 */

/** The named fields of an optional options object (`undefined` gives `{}`). */
function readFields<F extends string>(
  options: unknown,
  fields: readonly F[],
  what: string,
): Partial<Record<F, unknown>> {
  if (options === undefined) return {};
  if (options === null || typeof options !== 'object') throw invalidArgument(`${what} must be an object`);
  const out: Partial<Record<F, unknown>> = {};
  for (const field of fields) {
    try {
      out[field] = (options as Record<string, unknown>)[field];
    } catch {
      throw invalidArgument(`${what}.${field} could not be read`);
    }
  }
  return out;
}

/** An optional AbortSignal: a real one (a look-alike `{ aborted: true }` is refused, not obeyed). */
export function readSignal(signal: unknown): AbortSignal | undefined {
  if (signal === undefined) return undefined;
  try {
    // Reading `aborted` checks the brand: an object made from the prototype throws.
    if (signal instanceof AbortSignal && typeof signal.aborted === 'boolean') return signal;
  } catch {
    // refused below
  }
  throw invalidArgument('signal must be an AbortSignal');
}

/**
 * `onProgress` made safe to call: it is a notification, so what it throws (or an async one
 * rejects with) is ignored and the upload goes on.
 */
function quietProgress(onProgress: unknown): ((bytes: number) => void) | undefined {
  if (onProgress === undefined) return undefined;
  if (typeof onProgress !== 'function') throw invalidArgument('onProgress must be a function');
  return (bytes) => {
    try {
      const out: unknown = Reflect.apply(onProgress, undefined, [bytes]);
      if (out instanceof Promise) out.catch(() => undefined);
    } catch {
      // ignored: the caller's own callback failed
    }
  };
}

/** A plain copy of `metadata` (own enumerable string entries of a plain object). */
function readMetadata(metadata: unknown): Record<string, unknown> | undefined {
  if (metadata === undefined) return undefined;
  try {
    const proto =
      typeof metadata === 'object' && metadata !== null ? Object.getPrototypeOf(metadata) : undefined;
    if (proto !== Object.prototype && proto !== null)
      throw invalidArgument('metadata must be an object of strings');
    return Object.fromEntries(Object.entries(metadata as object));
  } catch (error) {
    if (isInfrastructureError(error)) throw error;
    throw invalidArgument('metadata could not be read');
  }
}

/** `put` options, read once into a plain copy (`onProgress` wrapped, `signal` checked). */
export function readPutOptions(options: unknown): PutOptions {
  const o = readFields(
    options,
    ['contentType', 'metadata', 'cacheControl', 'size', 'checksum', 'onProgress', 'signal'] as const,
    'put options',
  );
  const out: Record<string, unknown> = {};
  if (o.contentType !== undefined) out.contentType = o.contentType;
  if (o.cacheControl !== undefined) out.cacheControl = o.cacheControl;
  if (o.size !== undefined) out.size = o.size;
  const metadata = readMetadata(o.metadata);
  if (metadata !== undefined) out.metadata = metadata;
  if (o.checksum !== undefined) {
    if (o.checksum === null || typeof o.checksum !== 'object') {
      throw invalidArgument('checksum must be { algorithm, value, encoding? }');
    }
    const c = readFields(o.checksum, ['algorithm', 'value', 'encoding'] as const, 'checksum');
    out.checksum = c.encoding === undefined ? { algorithm: c.algorithm, value: c.value } : c;
  }
  const onProgress = quietProgress(o.onProgress);
  if (onProgress !== undefined) out.onProgress = onProgress;
  const signal = readSignal(o.signal);
  if (signal !== undefined) out.signal = signal;
  return out as PutOptions;
}

/** `get` options: only `signal`. */
export function readGetOptions(options: unknown): { signal?: AbortSignal } {
  const signal = readSignal(readFields(options, ['signal'] as const, 'get options').signal);
  return signal === undefined ? {} : { signal };
}

/** `list` options: only `limit` (checked by the listing). */
export function readListOptions(options: unknown): ListOptions {
  const { limit } = readFields(options, ['limit'] as const, 'list options');
  return limit === undefined ? {} : { limit: limit as number };
}

/** `signedUrl` options, read once (their values are checked by `validateSignedUrlOptions`). */
export function readSignedUrlOptions(options: unknown): SignedUrlOptions {
  const o = readFields(options, ['method', 'expiresInS', 'contentType'] as const, 'signedUrl options');
  const out: Record<string, unknown> = {};
  for (const [field, value] of Object.entries(o)) if (value !== undefined) out[field] = value;
  return out as SignedUrlOptions;
}

/** A copy of a `deleteMany` key list, read element by element (a huge sparse array fails at its first hole). */
export function readKeyList(keys: unknown, check: (key: unknown) => string): string[] {
  let length: number;
  try {
    if (!Array.isArray(keys)) throw invalidArgument('keys must be an array');
    length = keys.length;
  } catch (error) {
    if (isInfrastructureError(error)) throw error;
    throw invalidArgument('keys could not be read');
  }
  const out: string[] = [];
  for (let i = 0; i < length; i++) {
    let key: unknown;
    try {
      key = (keys as unknown[])[i];
    } catch {
      throw invalidArgument(`keys[${i}] could not be read`);
    }
    out.push(check(key));
  }
  return out;
}
