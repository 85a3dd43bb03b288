import { type Attributes, SpanKind } from '@opentelemetry/api';
import type { LockAcquireTrace } from '@voelgoed/contracts';
import type { SpanMapping } from './span-bridge.js';

/** Options of the lock spans. */
export interface LockSpanOptions {
  /**
   * Record the resource names (`voelgoed.lock.resources`) [false]. Off by default: a resource
   * name often holds an id (a user, an order) that a trace backend should not keep.
   */
  recordResources?: boolean;
}

/**
 * An INTERNAL span `lock acquire` from the call to held or given up. Attributes under
 * `voelgoed.lock.*`: resource count, ttl, nodes, attempts, wait, fencing token(s), outcome and
 * the reason a timeout gave up.
 */
export function lockAcquireSpans(options: LockSpanOptions = {}): SpanMapping<LockAcquireTrace> {
  const startedAt = new WeakMap<LockAcquireTrace, number>();
  return {
    start(ctx) {
      startedAt.set(ctx, performance.now());
      const attributes: Attributes = {
        'voelgoed.lock.resource_count': ctx.resources.length,
        'voelgoed.lock.ttl_ms': ctx.ttlMs,
        'voelgoed.lock.nodes': ctx.nodes,
      };
      if (options.recordResources === true) attributes['voelgoed.lock.resources'] = [...ctx.resources];
      return { name: 'lock acquire', kind: SpanKind.INTERNAL, attributes };
    },
    end(ctx, span) {
      const started = startedAt.get(ctx);
      if (started !== undefined) span.setAttribute('voelgoed.lock.wait_ms', performance.now() - started);
      if (ctx.attempts !== undefined) span.setAttribute('voelgoed.lock.attempts', ctx.attempts);
      const outcome = ctx.outcome ?? (ctx.error === undefined ? undefined : 'error');
      if (outcome !== undefined) span.setAttribute('voelgoed.lock.outcome', outcome);
      if (ctx.reason !== undefined) span.setAttribute('voelgoed.lock.reason', ctx.reason);
      const tokens = ctx.fencingTokens;
      const first = tokens?.[0];
      if (tokens !== undefined && first !== undefined) {
        span.setAttribute('voelgoed.lock.fencing_token', first);
        if (tokens.length > 1) span.setAttribute('voelgoed.lock.fencing_tokens', [...tokens]);
      }
    },
  };
}
