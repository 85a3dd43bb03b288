import { HEALTH_TIMEOUT_MS, type HealthError, healthError, redactHealthMessage } from '@voelgoed/contracts';
import type { ClientStatus } from './client-status.js';
import type { RedisHealth } from './client-types.js';
import { RedisTimeoutError } from './errors.js';

/** What {@link probeHealth} reads from a client. */
export interface HealthSource {
  readonly status: ClientStatus;
  /** Read after the PING. */
  isReady(): boolean;
  readonly commandTimeoutMs: number;
  readonly target: string;
  ping(timeoutMs: number): Promise<unknown>;
  /** Read after the PING: commands in flight, deadlines tracked. */
  counts(): { inFlight: number; queueDepth: number };
}

/**
 * RedisClient.health(): a PING within about a second (waiting for a connection when not ready
 * yet), then the state, in-flight count, queue depth and last error. Never throws.
 */
export async function probeHealth(source: HealthSource): Promise<RedisHealth> {
  const { status } = source;
  let pingMs: number | undefined;
  let error: HealthError | undefined;
  if (!status.closing) {
    // Not ready yet (connecting, reconnecting): the PING waits for the connection, within the bound.
    const started = performance.now();
    const timeoutMs = Math.min(HEALTH_TIMEOUT_MS, source.commandTimeoutMs);
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      // The command's own deadline should fire; the race only makes sure nothing else can hold it up.
      await Promise.race([
        source.ping(timeoutMs),
        new Promise((_, reject) => {
          timer = setTimeout(
            () => reject(new RedisTimeoutError(`PING took longer than ${timeoutMs} ms`, true, true)),
            timeoutMs + 100,
          );
        }),
      ]);
      pingMs = performance.now() - started;
    } catch (e) {
      pingMs = undefined;
      error = healthError(e, 'TIMEOUT');
    } finally {
      clearTimeout(timer);
    }
  }
  const connected = source.isReady() ? 'ready' : status.everReady ? 'reconnecting' : 'connecting';
  const state = status.closing ? status.state : connected;
  const lastError = status.lastError;
  if (pingMs === undefined && error === undefined) {
    error = status.closing
      ? { code: 'CLOSED', message: 'the client is closed' }
      : {
          code: 'CONNECTION',
          message: redactHealthMessage(`not connected (${state})${lastError ? `: ${lastError}` : ''}`),
        };
  }
  return {
    status: pingMs === undefined ? 'down' : 'up',
    resource: 'redis',
    ...(pingMs === undefined ? {} : { latencyMs: Math.round(pingMs * 100) / 100 }),
    ...(error === undefined ? {} : { error }),
    state,
    pingMs,
    ...source.counts(),
    lastError: lastError === undefined ? undefined : redactHealthMessage(lastError),
    target: source.target,
  };
}
