export {
  AbortedError,
  CircuitOpenError,
  ConnectionError,
  HttpErrorBody,
  HttpStatusError,
  InfrastructureError,
  IntegrityError,
  InvalidArgumentError,
  isInfrastructureError,
  PayloadTooLargeError,
  RateLimitedError,
  TimeoutError,
} from '@voelgoed/contracts';
export type { BulkheadOptions } from './bulkhead.js';
export type { CircuitBreakerOptions, CircuitState } from './circuit-breaker.js';
export { createHttpClient, type ResilientHttpClient } from './client.js';
export {
  ForbiddenTargetError,
  type HttpErrorCode,
  HttpErrorCodes,
  type HttpErrorMap,
  HttpTimeoutError,
  isHttpError,
  type TimeoutPhase,
  TooManyRedirectsError,
} from './errors.js';
export type { HeaderValue } from './headers.js';
export type {
  ClientRetryOptions,
  HttpClientOptions,
  HttpClientRequest,
  HttpClientRequestOptions,
} from './options.js';
export { redactUrl } from './redact.js';
export type { RetryBudgetOptions } from './retry-budget.js';
export type {
  Abortable,
  BufferedTransportResponse,
  ReadControl,
  ReadRequest,
  Transport,
  TransportFactory,
  TransportRequest,
  TransportResponse,
  TransportSettings,
} from './transport.js';
export {
  createWebhookSender,
  deliverWebhook,
  STANDARD_WEBHOOK_SCHEDULE_MS,
  type WebhookAttempt,
  type WebhookAttemptOutcome,
  type WebhookDeliveryResult,
  type WebhookMessage,
  type WebhookSender,
  type WebhookSenderOptions,
} from './webhooks/deliver.js';
export {
  createDurableWebhookSender,
  type DurableWebhookMessage,
  type DurableWebhookSender,
  type DurableWebhookSenderOptions,
  type WebhookAccepted,
  type WebhookJob,
  type WebhookOutcome,
  webhookJobId,
} from './webhooks/durable.js';
export { type HmacSignatureOptions, isValidHmacSignature, verifyHmacSignature } from './webhooks/hmac.js';
export type { WebhookSecret } from './webhooks/secrets.js';
export type { SignatureEncoding } from './webhooks/signature-encoding.js';
export { isPublicAddress } from './webhooks/ssrf.js';
export {
  type HeadersLike,
  type SignWebhookInput,
  signWebhook,
  type VerifyWebhookInput,
  verifyWebhook,
  type WebhookHeaders,
} from './webhooks/standard-webhooks.js';
export { WebhookVerificationError, type WebhookVerificationFailure } from './webhooks/verification-error.js';
