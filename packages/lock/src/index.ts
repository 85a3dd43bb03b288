export {
  invalidArgument,
  LockNotAcquiredError,
  type LockNotAcquiredReason,
  MESSAGE_PREFIX,
} from './errors.js';
export { RedisLockHandle } from './lock-handle.js';
export type { RedisLockOptions } from './options.js';
export { createRedisLock, RedisLock } from './redis-lock.js';
