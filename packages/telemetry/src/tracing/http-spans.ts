import { type Attributes, propagation, SpanKind, SpanStatusCode } from '@opentelemetry/api';
import type { HttpAttemptTrace } from '@voelgoed/contracts';
import { knownHttpMethod } from '../http-method.js';
import type { SpanMapping } from './span-bridge.js';

/** `scheme://host[:port]/path` with no userinfo, query or fragment, whatever the adapter gave. */
function safeUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    return '';
  }
}

/**
 * A CLIENT span per HTTP attempt (a retry is another span, with `http.request.resend_count`),
 * named `GET` or `GET /orders/:id` when the caller named a route. At start, the registered
 * propagator writes `traceparent`/`tracestate` (and whatever else it carries) into the
 * attempt's headers, with this span as the parent. No header, query string or body is recorded.
 */
export const httpAttemptSpans: SpanMapping<HttpAttemptTrace> = {
  start(ctx) {
    const method = knownHttpMethod(ctx.method);
    const attributes: Attributes = {
      'http.request.method': method,
      'url.full': safeUrl(ctx.url),
      'server.address': ctx.serverAddress,
      'server.port': ctx.serverPort,
    };
    if (method === '_OTHER') attributes['http.request.method_original'] = ctx.method;
    if (ctx.attempt > 1) attributes['http.request.resend_count'] = ctx.attempt - 1;
    if (ctx.route !== undefined) attributes['url.template'] = ctx.route;
    const name = ctx.route === undefined ? method : `${method} ${ctx.route}`;
    return { name, kind: SpanKind.CLIENT, attributes };
  },
  started(ctx, spanContext) {
    propagation.inject(spanContext, ctx.headers);
  },
  end(ctx, span) {
    if (ctx.status !== undefined) {
      span.setAttribute('http.response.status_code', ctx.status);
      if (ctx.status >= 400) {
        const type = String(ctx.status);
        span.setAttribute('error.type', type);
        span.setStatus({ code: SpanStatusCode.ERROR, message: type });
      }
    } else if (ctx.error !== undefined && ctx.errorCode !== undefined) {
      span.setAttribute('error.type', ctx.errorCode);
      span.setStatus({ code: SpanStatusCode.ERROR, message: ctx.errorCode });
    }
  },
};
