export {
  InfrastructureError,
  InvalidArgumentError,
  isInfrastructureError,
  PayloadTooLargeError,
  TimeoutError,
} from '@voelgoed/contracts';
export { createRedisJobQueue, RedisJobQueue, type RedisJobQueueOptions } from './redis-job-queue.js';
