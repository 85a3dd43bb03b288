import type { HealthReport, InfrastructureError } from '@voelgoed/contracts';
import type { RedisArgument, RedisReply } from './commands.js';

/** One command: name first, then its arguments. */
export type RedisCommand = readonly RedisArgument[];

/** Outcome of one command of a pipeline. */
export type PipelineResult<T = RedisReply> =
  | { ok: true; value: T }
  | { ok: false; error: InfrastructureError };

export interface CommandOptions {
  /** Overrides the client's `commandTimeoutMs` for this call. */
  timeoutMs?: number;
  /**
   * Read bulk strings of the reply as Buffers, byte-exact (binary values). Simple-string replies
   * (`OK`), integers and nil are unchanged. [false: UTF-8 strings]
   */
  returnBuffers?: boolean;
}

export type ConnectionState = 'connecting' | 'ready' | 'reconnecting' | 'closing' | 'closed';

/**
 * The client's health: the contracts' `HealthReport` (`status` `up` when a PING answered within
 * a second, `down` otherwise; `latencyMs` the PING's round trip) and the client's own fields.
 */
export interface RedisHealth extends HealthReport {
  resource: 'redis';
  state: ConnectionState;
  /** Round trip of a PING just now, or undefined when it failed. */
  pingMs: number | undefined;
  /** Commands sent and not yet answered or timed out. */
  inFlight: number;
  /** Deadlines being tracked (in flight plus settled ones not yet swept). */
  queueDepth: number;
  /** Message of the last connection error, if any (never holds a password). */
  lastError: string | undefined;
  target: string;
}
