export {
  InfrastructureError,
  InvalidArgumentError,
  isInfrastructureError,
  PayloadTooLargeError,
  TimeoutError,
} from '@voelgoed/contracts';
export type { QueueRateLimit } from './rate-limit.js';
export { createRedisJobQueue, RedisJobQueue, type RedisJobQueueOptions } from './redis-job-queue.js';
export {
  type JobSchedule,
  type JobScheduleOptions,
  MAX_SCHEDULE_NAME_LENGTH,
  MIN_SCHEDULE_RETENTION_MS,
  parseScheduledJobId,
  scheduledJobId,
  scheduleJob,
} from './schedule.js';
