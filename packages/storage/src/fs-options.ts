import path from 'node:path';
import { fieldsOf, type Logger, readLogger, refuseUnknownFields } from '@voelgoed/contracts';
import { invalidArgument, MESSAGE_PREFIX } from './errors.js';
import { type FsSigningOptions, FsUrlSigner } from './fs-signing.js';
import { validateMs } from './options-checks.js';

/** Options of {@link createFsStorage}. */
export interface FsStorageOptions {
  /** Directory that holds everything (created when missing). Objects go in `objects/`, temp files in `.tmp/`. */
  root: string;
  /** fsync each object before it becomes visible (durable across power loss; slower). Default `false`. */
  fsync?: boolean;
  /** Largest object accepted; larger bodies reject with `PayloadTooLargeError`. Default: no limit. */
  maxObjectSize?: number;
  /**
   * Temp files older than this are leftovers of puts whose process died: the first operation of
   * a storage removes them, as does {@link FsStorage.repair}. Default 3,600,000 (one hour).
   */
  staleTempMs?: number;
  /**
   * Lets `signedUrl` sign download (and upload) URLs, which `createFsSignedUrlHandler` serves.
   * Without it `signedUrl` rejects with `NOT_SUPPORTED`.
   */
  signing?: FsSigningOptions;
  /**
   * Where to log stale temp files removed when the storage opens (info: how many; what puts
   * whose process died left behind). Default: nothing is logged.
   */
  logger?: Logger;
}

/** The fields of {@link FsStorageOptions}: any other is refused. */
const FS_FIELDS = fieldsOf<FsStorageOptions>()([
  'root',
  'fsync',
  'maxObjectSize',
  'staleTempMs',
  'signing',
  'logger',
]);

/** Default of {@link FsStorageOptions.staleTempMs}. */
const STALE_TEMP_MS = 3_600_000;

/** {@link FsStorageOptions} checked (`INVALID_ARGUMENT` naming the option), with the root resolved. */
export function readFsStorageOptions(options: FsStorageOptions): {
  root: string;
  fsync: boolean;
  maxObjectSize: number | undefined;
  staleTempMs: number;
  signer: FsUrlSigner | undefined;
  logger: Logger;
} {
  if (options === null || typeof options !== 'object') throw invalidArgument('options must be { root }');
  refuseUnknownFields(options, FS_FIELDS, 'options', MESSAGE_PREFIX);
  if (typeof options.root !== 'string' || options.root.length === 0 || options.root.includes('\0'))
    throw invalidArgument('root must be a non-empty path');
  const max = options.maxObjectSize;
  if (max !== undefined && (!Number.isSafeInteger(max) || max < 0))
    throw invalidArgument('maxObjectSize must be a non-negative integer');
  return {
    root: path.resolve(options.root),
    fsync: options.fsync ?? false,
    maxObjectSize: max,
    staleTempMs: validateMs(options.staleTempMs, 'staleTempMs') ?? STALE_TEMP_MS,
    signer: options.signing === undefined ? undefined : new FsUrlSigner(options.signing),
    logger: readLogger(options.logger, MESSAGE_PREFIX),
  };
}
