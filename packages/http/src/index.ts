export type { BulkheadOptions } from './bulkhead.js';
export type { CircuitBreakerOptions, CircuitState } from './circuit-breaker.js';
export { createHttpClient, type ResilientHttpClient } from './client.js';
export {
  ForbiddenTargetError,
  HttpTimeoutError,
  invalidArgument,
  MESSAGE_PREFIX,
  type TimeoutPhase,
  TooManyRedirectsError,
} from './errors.js';
export type {
  ClientRetryOptions,
  HttpClientOptions,
  HttpClientRequest,
  HttpClientRequestOptions,
} from './options.js';
export { redactUrl } from './redact.js';
export type { RetryBudgetOptions } from './retry-budget.js';
export type {
  Transport,
  TransportFactory,
  TransportRequest,
  TransportResponse,
  TransportSettings,
} from './transport.js';
