import { boundedHealth, closedHealth, HEALTH_TIMEOUT_MS, type HealthReport } from '@voelgoed/contracts';
import type { RedisClient } from './client.js';

/** What a primitive (store, cache, limiter, set) holds of its client. */
type ClientLike = Pick<RedisClient, 'command'> & Partial<Pick<RedisClient, 'health' | 'target'>>;

/**
 * The health of a primitive built on `client`: `down` once the primitive is closed, else its
 * client's (a PING within a second), reported under the primitive's own `resource` kind. A
 * primitive does not own its client, so closing it does not close the client.
 */
export function primitiveHealth(
  resource: string,
  client: ClientLike,
  closed: boolean,
): Promise<HealthReport> {
  const target = typeof client.target === 'string' ? client.target : undefined;
  if (closed) return Promise.resolve(closedHealth(resource, target));
  return boundedHealth(
    resource,
    async () => {
      if (typeof client.health === 'function') {
        const { status, latencyMs, error, state } = await client.health();
        return {
          status,
          resource,
          ...(target === undefined ? {} : { target }),
          ...(latencyMs === undefined ? {} : { latencyMs }),
          ...(error === undefined ? {} : { error }),
          details: { state },
        };
      }
      const started = performance.now();
      await client.command(['PING'], { timeoutMs: HEALTH_TIMEOUT_MS });
      return { status: 'up', resource, latencyMs: Math.round((performance.now() - started) * 100) / 100 };
    },
    { timeoutMs: HEALTH_TIMEOUT_MS + 250, ...(target === undefined ? {} : { target }) },
  );
}
