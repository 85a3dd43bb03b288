import type { Logger } from '@voelgoed/contracts';
import type { RedisClient } from '@voelgoed/redis';
import type { QueueKeys } from './keys.js';
import type { FetchPermits } from './rate-limit.js';
import type { Waker } from './waker.js';

/** What a worker needs of its queue. */
export interface WorkerContext {
  readonly name: string;
  readonly redis: RedisClient;
  readonly keys: QueueKeys;
  readonly leaseMs: number;
  readonly retentionMs: number;
  readonly waker: Waker;
  /** The queue's rate limit, when it has one. */
  readonly permits?: FetchPermits | undefined;
  /** Where dead letters, lost leases, handler failures and an exceeded close grace are logged. */
  readonly logger: Logger;
}
