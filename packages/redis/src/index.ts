export {
  type CommandOptions,
  type ConnectionState,
  createRedisClient,
  IsolatedConnection,
  type PipelineResult,
  RedisClient,
  type RedisCommand,
  type RedisCommandEvent,
  type RedisHealth,
} from './client.js';
export type { RedisArgument, RedisReply } from './commands.js';
export {
  connectionError,
  invalidArgument,
  MESSAGE_PREFIX,
  RedisReplyError,
  RedisTimeoutError,
} from './errors.js';
export {
  createRedisKeyValueStore,
  RedisKeyValueStore,
  type RedisKeyValueStoreOptions,
} from './key-value-store.js';
export { parseRedisUrl, type RedisClientOptions, type RedisNodeAddress } from './options.js';
export { defineScript, RedisScript } from './script.js';
export { hashTag, hashTagOf, keySlot } from './slots.js';
export {
  BUFFER_REPLIES,
  RESP_TYPES,
  type RedisCommandMethods,
  type RedisMulti,
  type TypeMapping,
} from './typed-commands.js';
