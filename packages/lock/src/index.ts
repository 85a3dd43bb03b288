export {
  InfrastructureError,
  InvalidArgumentError,
  isInfrastructureError,
  LockLostError,
  LockTimeoutError,
} from '@voelgoed/contracts';
export { type LockErrorCode, LockNotAcquiredError, type LockNotAcquiredReason } from './errors.js';
export { RedisLockHandle } from './lock-handle.js';
export type { RedisLockOptions } from './options.js';
export { createRedisLock, RedisLock } from './redis-lock.js';
