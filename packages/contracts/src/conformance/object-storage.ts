import type { ObjectStorage } from '../ports/storage.js';
import { lifecycleChecks } from './lifecycle.js';
import { type ObjectStorageBadInputOptions, objectStorageBadInputCheck } from './object-storage-bad-input.js';
import { callerChecks } from './object-storage-caller.js';
import { closedChecks } from './object-storage-closed.js';
import { concurrencyChecks } from './object-storage-concurrency.js';
import { objectStorageConsistencyChecks } from './object-storage-consistency.js';
import { copyDeleteChecks } from './object-storage-copy-delete.js';
import { keyAliasChecks, keyValidityChecks } from './object-storage-keys.js';
import { listContentChecks, listPagingChecks } from './object-storage-list.js';
import { metadataChecks } from './object-storage-metadata.js';
import { putIntegrityChecks, putValidationChecks } from './object-storage-put-failures.js';
import { rangeChecks } from './object-storage-ranges.js';
import { bodyKindChecks, roundTripChecks } from './object-storage-round-trip.js';
import { signedUrlChecks } from './object-storage-signed-url.js';
import {
  fetchWithGlobalFetch,
  type ObjectStorageTopicContext,
  type SignedUrlFetchInit,
} from './object-storage-support.js';
import {
  type ConformanceCheck,
  type ConformanceOptions,
  describeChecks,
  randomKey,
  resolveRunner,
  suiteArguments,
} from './shared.js';

// The ObjectStorage suite is split by topic, one file each (object-storage-<topic>.ts); this file
// holds its options and composes the topics in order.

export type { SignedUrlFetchInit } from './object-storage-support.js';

/** Options of {@link describeObjectStorage}. */
export interface ObjectStorageConformanceOptions<T extends ObjectStorage = ObjectStorage>
  extends ConformanceOptions<T> {
  /**
   * Whether the driver has signed URLs (default true). When false, the suite checks that
   * `capabilities.signedUrl` is false and that `signedUrl` rejects with an `InfrastructureError`.
   */
  signedUrl?: boolean;
  /**
   * Fetches a signed URL as its bearer would (default: global `fetch`, for http/https URLs).
   * The memory driver passes `(impl, url, init) => impl.fetchSigned(url, init)`.
   */
  fetchSignedUrl?: (
    impl: T,
    url: string,
    init: SignedUrlFetchInit,
  ) => Promise<{ status: number; body: Uint8Array }>;
  /** Size of the large-object round trip in bytes (default 5 MiB + 3, past common multipart thresholds). */
  largeObjectBytes?: number;
  /** Start of every key the suite writes (default `conformance`), to keep a shared bucket tidy. */
  keyPrefix?: string;
  /** Settings of the bad-input check (seed, runs, typed errors a test server may add). */
  badInput?: ObjectStorageBadInputOptions;
  /**
   * Another open instance over the same objects as `closed` (same bucket, same root), when the
   * driver has such a thing: the after-close check then reads through it that the closed
   * instance changed nothing. The suite closes what it returns.
   */
  reopen?: (closed: T) => ObjectStorage | Promise<ObjectStorage>;
}

/** The suite's options as the topics read them, defaults applied. */
function topicContext<T extends ObjectStorage>(
  options: Omit<ObjectStorageConformanceOptions<T>, 'teardown' | 'additionalTests'>,
): ObjectStorageTopicContext<T> {
  const keyPrefix = options.keyPrefix ?? 'conformance';
  return {
    newKey: () => randomKey(keyPrefix),
    largeBytes: options.largeObjectBytes ?? 5 * 1024 * 1024 + 3,
    signedUrl: options.signedUrl !== false,
    fetchSigned: options.fetchSignedUrl ?? fetchWithGlobalFetch,
    reopen: options.reopen,
  };
}

/**
 * The checks of {@link describeObjectStorage}, each a named `(impl) => Promise<void>`. Names are
 * stable: tests may pick checks by name (see `findCheck`).
 */
export function objectStorageChecks<T extends ObjectStorage = ObjectStorage>(
  options: Omit<ObjectStorageConformanceOptions<T>, 'teardown' | 'additionalTests'> = {},
): ConformanceCheck<T>[] {
  const context = topicContext(options);
  return [
    ...roundTripChecks(context),
    ...bodyKindChecks(context),
    ...metadataChecks(context),
    ...copyDeleteChecks(context),
    ...listContentChecks(context),
    ...listPagingChecks(context),
    ...rangeChecks(context),
    ...keyValidityChecks(context),
    ...keyAliasChecks(context),
    ...putValidationChecks(context),
    ...putIntegrityChecks(context),
    ...callerChecks(context),
    ...concurrencyChecks(context),
    objectStorageBadInputCheck({ keyPrefix: options.keyPrefix ?? 'conformance', ...options.badInput }),
    ...objectStorageConsistencyChecks(options),
    ...lifecycleChecks<T>((storage) => storage),
    ...closedChecks(context),
    ...signedUrlChecks(context),
  ];
}

/**
 * Registers the `ObjectStorage` conformance suite: every check of {@link objectStorageChecks}
 * as its own `it(...)`, each against a fresh implementation from `factory`, with random keys.
 *
 * @example
 * describeObjectStorage('MemoryObjectStorage', () => new MemoryObjectStorage(), {
 *   fetchSignedUrl: (impl, url, init) => impl.fetchSigned(url, init),
 * });
 */
export function describeObjectStorage<T extends ObjectStorage>(
  factory: () => T | Promise<T>,
  options?: ObjectStorageConformanceOptions<T>,
): void;
export function describeObjectStorage<T extends ObjectStorage>(
  name: string,
  factory: () => T | Promise<T>,
  options?: ObjectStorageConformanceOptions<T>,
): void;
export function describeObjectStorage(...args: unknown[]): void {
  const what = 'describeObjectStorage';
  const { name, factory, options } = suiteArguments<
    () => ObjectStorage | Promise<ObjectStorage>,
    ObjectStorageConformanceOptions
  >(what, args);
  const runner = resolveRunner(options.runner, what);
  describeChecks(name ?? 'ObjectStorage conformance', objectStorageChecks(options), factory, {
    ...options,
    runner,
  });
}
