export type { RedisCommandEvent } from '@voelgoed/contracts';
export {
  AuthenticationError,
  ConflictError,
  ConnectionError,
  InfrastructureError,
  InvalidArgumentError,
  isInfrastructureError,
  TimeoutError,
} from '@voelgoed/contracts';
export { createRedisClient, RedisClient } from './client.js';
export type {
  CommandOptions,
  ConnectionState,
  PipelineResult,
  RedisCommand,
  RedisHealth,
} from './client-types.js';
export type { RedisArgument, RedisReply } from './commands.js';
export {
  isRedisError,
  type RedisErrorCode,
  RedisErrorCodes,
  type RedisErrorMap,
  RedisReplyError,
  RedisTimeoutError,
} from './errors.js';
export { IsolatedConnection } from './isolated-connection.js';
export {
  createRedisKeyValueStore,
  RedisKeyValueStore,
  type RedisKeyValueStoreOptions,
} from './key-value-store.js';
export { parseRedisUrl, type RedisClientOptions, type RedisNodeAddress } from './options.js';
export type { ScanIterators } from './scan-iterators.js';
export { defineScript, RedisScript } from './script.js';
export { hashTag, hashTagOf, keySlot } from './slots.js';
export {
  BUFFER_REPLIES,
  RESP_TYPES,
  type RedisCommandMethods,
  type RedisMulti,
  type TypeMapping,
} from './typed-commands.js';
