import { type Attributes, type Link, propagation, ROOT_CONTEXT, SpanKind, trace } from '@opentelemetry/api';
import type { QueueProcessTrace, QueuePublishTrace } from '@voelgoed/contracts';
import type { SpanMapping } from './span-bridge.js';

/**
 * `messaging.system`: `voelgoed`. The semantic conventions name brokers (`kafka`, `rabbitmq`,
 * `aws_sqs`); Redis here is only the store under our own protocol (scripts, job hashes,
 * leases), and the memory twin has no Redis at all, so the system is the queue itself.
 */
const SYSTEM = 'voelgoed';

/**
 * An enqueue as a PRODUCER span `send <queue>` (messaging conventions: `messaging.system`,
 * `messaging.operation.type` `send`, `messaging.operation.name` `enqueue` or `enqueueMany`,
 * `messaging.destination.name`, `messaging.message.id` for one job,
 * `messaging.batch.message_count` for a batch). Its context is injected into the carrier the
 * queue stores with the jobs, through the registered propagator.
 */
export const queuePublishSpans: SpanMapping<QueuePublishTrace> = {
  start(ctx) {
    const attributes: Attributes = {
      'messaging.system': SYSTEM,
      'messaging.operation.type': 'send',
      'messaging.operation.name': ctx.count === 1 && ctx.batch !== true ? 'enqueue' : 'enqueueMany',
      'messaging.destination.name': ctx.queue,
    };
    return { name: `send ${ctx.queue}`, kind: SpanKind.PRODUCER, attributes };
  },
  started(ctx, spanContext) {
    propagation.inject(spanContext, ctx.carrier);
  },
  end(ctx, span) {
    // Known once the call's input was read.
    if (ctx.batch === true) span.setAttribute('messaging.batch.message_count', ctx.count);
    else if (ctx.jobId !== undefined) span.setAttribute('messaging.message.id', ctx.jobId);
  },
};

/**
 * A handler run as a CONSUMER span `process <queue>`: a new root (a job may run long after, and
 * many times after, its enqueue), linked to the producer's span when the job carries its
 * context. Attributes: `messaging.operation.type` `process`, `messaging.message.id`,
 * `voelgoed.queue.attempt`, `voelgoed.queue.delivery_token`, and at the end
 * `voelgoed.queue.outcome` (completed, retried, dead_lettered, lease_lost, failed).
 */
export const queueProcessSpans: SpanMapping<QueueProcessTrace> = {
  start(ctx) {
    const links: Link[] = [];
    if (Object.keys(ctx.carrier).length > 0) {
      const producer = trace.getSpanContext(propagation.extract(ROOT_CONTEXT, ctx.carrier));
      if (producer !== undefined && trace.isSpanContextValid(producer)) links.push({ context: producer });
    }
    const attributes: Attributes = {
      'messaging.system': SYSTEM,
      'messaging.operation.type': 'process',
      'messaging.operation.name': 'process',
      'messaging.destination.name': ctx.queue,
      'messaging.message.id': ctx.jobId,
      'voelgoed.queue.attempt': ctx.attempt,
      'voelgoed.queue.delivery_token': ctx.deliveryToken,
    };
    return { name: `process ${ctx.queue}`, kind: SpanKind.CONSUMER, attributes, links, parent: ROOT_CONTEXT };
  },
  end(ctx, span) {
    if (ctx.outcome !== undefined) span.setAttribute('voelgoed.queue.outcome', ctx.outcome);
    if (ctx.errorCode !== undefined && ctx.outcome !== 'completed') {
      span.setAttribute('voelgoed.queue.error_code', ctx.errorCode);
    }
  },
};
