export {
  AbortedError,
  ConnectionError,
  InfrastructureError,
  IntegrityError,
  InvalidArgumentError,
  isInfrastructureError,
  NotFoundError,
  PayloadTooLargeError,
  PreconditionFailedError,
  TimeoutError,
} from '@voelgoed/contracts';
export {
  isStorageError,
  type StorageErrorCode,
  StorageErrorCodes,
  type StorageErrorMap,
} from './errors.js';
export type { FsRepairOptions, FsRepairReport } from './fs-repair.js';
export {
  createFsSignedUrlHandler,
  type FsSignedUrlHandler,
  type FsSignedUrlHandlerOptions,
} from './fs-signed-url-handler.js';
export type { FsSigningOptions, FsSigningSecret } from './fs-signing.js';
export { createFileSystemStorage, createFsStorage, FsStorage, type FsStorageOptions } from './fs-storage.js';
export { MAX_KEY_BYTES, validateKey } from './key.js';
export {
  createMemoryStorage,
  MemoryObjectStorage,
  type MemoryObjectStorageOptions,
} from './memory-storage.js';
export { parseS3Url, S3_DEFAULTS, type S3StorageOptions } from './s3-options.js';
export { createS3Storage, S3Storage } from './s3-storage.js';
