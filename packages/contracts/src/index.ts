export * from './errors.js';
export * from './events.js';
export type * from './ports/http.js';
export type * from './ports/key-value.js';
export type * from './ports/lock.js';
export type * from './ports/metrics.js';
export type * from './ports/storage.js';
export { validate } from './validate.js';
export { MAX_OBJECT_KEY_BYTES, validateObjectKey, validateObjectKeyPrefix } from './validate-object-key.js';
