import { randomUUID } from 'node:crypto';
import type { Readable } from 'node:stream';
import {
  AbortedError,
  checkHealth,
  closedHealth,
  errorCodeOf,
  fieldsOf,
  type HealthReport,
  InvalidArgumentError,
  type Logger,
  type Resource,
  readLogger,
  refuseUnknownFields,
} from '@voelgoed/contracts';
import { createHttpClient, type ResilientHttpClient } from '../client.js';
import { MESSAGE_PREFIX } from '../errors.js';
import { mergeHeaders } from '../headers.js';
import {
  type HttpClientOptions,
  type HttpClientRequest,
  MAX_TIMER_MS,
  type ResolvedOptions,
  resolveOptions,
} from '../options.js';
import { prepareRequest } from '../prepare.js';
import { redactUrl } from '../redact.js';
import type { WebhookSecret } from './secrets.js';
import { isPublicAddress } from './ssrf.js';
import { signWebhook, type WebhookHeaders } from './standard-webhooks.js';

/** Waits before each retry on the Standard Webhooks schedule: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h. */
export const STANDARD_WEBHOOK_SCHEDULE_MS: readonly number[] = [
  5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 36_000_000,
];

export interface WebhookSenderOptions {
  /** Signing secret, or several during rotation (one signature each). */
  secret: WebhookSecret | readonly WebhookSecret[];
  /** Waits before each retry, ms (default {@link STANDARD_WEBHOOK_SCHEDULE_MS}); its length is the retry count. */
  schedule?: readonly number[];
  /** Each wait is scaled by a random factor in [1 - jitter, 1 + jitter] (default 0.2). */
  jitter?: number;
  /** Allow `http:` endpoints (default false: HTTPS only). */
  allowHttp?: boolean;
  /** Allow private, loopback, link-local, CGNAT and other non-public addresses (default false). */
  allowPrivateNetworks?: boolean;
  /** Per-attempt timeout, ms (default 15 000). */
  timeoutMs?: number;
  /**
   * Most response body bytes read after the status, bytes (default 64 KiB): only so that the
   * connection can be kept; past them the connection is dropped. Never changes an outcome.
   */
  maxResponseBytes?: number;
  /** `got` (default) or `undici`. */
  transport?: 'got' | 'undici';
  /** Extra headers on every delivery (e.g. `user-agent`); not `content-length` (each body has its own). */
  headers?: Readonly<Record<string, string>>;
  /** Called after every attempt; an error it throws is ignored (the delivery goes on as if it returned). */
  onAttempt?: (attempt: WebhookAttempt) => void;
}

/** What to deliver. */
export interface WebhookMessage {
  url: string;
  /** An object is sent as JSON; a string or bytes as they are. */
  payload: unknown;
  /** Message id, kept across retries (default a random `msg_…`). */
  id?: string;
  headers?: Readonly<Record<string, string>>;
  signal?: AbortSignal;
}

/**
 * One attempt's outcome: `delivered` (2xx), `gone` (410), `retry` (429, 408, 5xx, network, timeout),
 * `failed` (other statuses, redirects included), `refused` (the target address is not allowed).
 */
export type WebhookAttemptOutcome = 'delivered' | 'gone' | 'retry' | 'failed' | 'refused';

export interface WebhookAttempt {
  id: string;
  /** 1 for the first attempt. */
  attempt: number;
  outcome: WebhookAttemptOutcome;
  status?: number;
  errorCode?: string;
  durationMs: number;
  /** The wait before the next attempt, when there is one. */
  nextDelayMs?: number;
}

export interface WebhookDeliveryResult {
  id: string;
  /** `exhausted` when every retry ended in `retry`. */
  outcome: 'delivered' | 'gone' | 'failed' | 'refused' | 'exhausted';
  attempts: WebhookAttempt[];
}

/** Signs and posts webhooks, retrying on a schedule. */
export interface WebhookSender {
  deliver(message: WebhookMessage): Promise<WebhookDeliveryResult>;
  /** Its HTTP client's breakers (`degraded` while one is open); `down` after `close()`. Never throws. */
  health(): Promise<HealthReport>;
  /** Closes its HTTP client. Idempotent. */
  close(): Promise<void>;
}

/**
 * A webhook sender's health: `down` once closed or when its `store` (the durable sender's queue)
 * is down; else `degraded` when the store or the HTTP client's breakers are, else `up`.
 */
export async function webhookHealth(
  client: ResilientHttpClient,
  closed: boolean,
  store?: Resource,
): Promise<HealthReport> {
  if (closed) return closedHealth('webhook');
  const [http, queue] = await Promise.all([
    checkHealth(client, { name: 'http' }),
    store === undefined ? undefined : checkHealth(store, { name: 'queue' }),
  ]);
  const statuses = [http.status, queue?.status];
  const status = statuses.includes('down') ? 'down' : statuses.includes('degraded') ? 'degraded' : 'up';
  const error = queue?.error ?? http.error;
  return {
    status,
    resource: 'webhook',
    ...(queue?.target === undefined ? {} : { target: queue.target }),
    ...(status === 'up' || error === undefined ? {} : { error }),
    details: { http: http.status, ...(queue === undefined ? {} : { queue: queue.status }), ...http.details },
  };
}

function classify(status: number): WebhookAttemptOutcome {
  if (status >= 200 && status < 300) return 'delivered';
  if (status === 410) return 'gone';
  if (status === 408 || status === 429 || status >= 500) return 'retry';
  return 'failed';
}

/** The raw body of a payload: an object as JSON text, a string or bytes as they are. */
export function webhookBody(payload: unknown): { bytes: string | Uint8Array; json: boolean } {
  if (typeof payload === 'string' || payload instanceof Uint8Array) return { bytes: payload, json: false };
  if (payload === undefined) throw new InvalidArgumentError(`${MESSAGE_PREFIX} webhook payload is required`);
  let text: string | undefined;
  try {
    text = JSON.stringify(payload);
  } catch {
    throw new InvalidArgumentError(
      `${MESSAGE_PREFIX} webhook payload cannot be serialised (circular or BigInt)`,
    );
  }
  if (text === undefined) throw new InvalidArgumentError(`${MESSAGE_PREFIX} webhook payload must be JSON`);
  return { bytes: text, json: true };
}

/** The wait before attempt `attempt + 1` (undefined once the schedule is spent), with jitter. */
export function nextWebhookDelay(
  schedule: readonly number[],
  jitter: number,
  attempt: number,
): number | undefined {
  const base = schedule[attempt - 1];
  return base === undefined ? undefined : Math.round(base * (1 - jitter + Math.random() * 2 * jitter));
}

/** A sender's checked settings and the HTTP client its attempts go through. */
export interface WebhookSenderSetup {
  readonly options: WebhookSenderOptions;
  readonly schedule: readonly number[];
  readonly jitter: number;
  readonly client: ResilientHttpClient;
  /** The options `client` was made with, resolved: to check an attempt's request without sending it. */
  readonly clientOptions: ResolvedOptions;
  /** How much of a response body is read after its status (see `dropBody`). */
  readonly drain: BodyDrain;
  /** Where a callback that throws is logged (the durable sender's `logger`; else nothing). */
  readonly logger: Logger;
}

/**
 * Calls an observer callback (`onAttempt`, `onOutcome`): what it throws must not change the
 * delivery it reports (a delivered webhook would look failed, a retry would be abandoned), so it
 * is logged and ignored. Never the callback's argument in the log line, only the webhook id.
 */
export function report<A>(
  callback: ((arg: A) => void) | undefined,
  arg: A,
  logger: Logger,
  name: string,
  webhookId: string,
): void {
  try {
    callback?.(arg);
  } catch (error) {
    logger.warn(
      {
        webhookId,
        callback: name,
        error: error instanceof Error ? `${error.name}: ${error.message}`.slice(0, 200) : typeof error,
      },
      `webhook ${name} callback threw (ignored)`,
    );
  }
}

/** The fields of a {@link WebhookMessage}. */
export const MESSAGE_FIELDS = fieldsOf<WebhookMessage>()(['url', 'payload', 'id', 'headers', 'signal']);

/** The fields of {@link WebhookSenderOptions}: any other (a misspelt `schedule`) is refused. */
export const SENDER_FIELDS = fieldsOf<WebhookSenderOptions>()([
  'secret',
  'schedule',
  'jitter',
  'allowHttp',
  'allowPrivateNetworks',
  'timeoutMs',
  'maxResponseBytes',
  'transport',
  'headers',
  'onAttempt',
]);

export function setUpWebhookSender(
  options: WebhookSenderOptions,
  logger: Logger = readLogger(undefined, MESSAGE_PREFIX),
): WebhookSenderSetup {
  if (typeof options !== 'object' || options === null) {
    throw new InvalidArgumentError(`${MESSAGE_PREFIX} webhook sender options must be an object`);
  }
  const jitter = options.jitter ?? 0.2;
  if (typeof jitter !== 'number' || !Number.isFinite(jitter) || jitter < 0 || jitter > 1) {
    throw new InvalidArgumentError(`${MESSAGE_PREFIX} jitter must be between 0 and 1`);
  }
  const schedule = options.schedule ?? STANDARD_WEBHOOK_SCHEDULE_MS;
  if (!Array.isArray(schedule)) throw new InvalidArgumentError(`${MESSAGE_PREFIX} schedule must be an array`);
  for (const delay of schedule) {
    if (typeof delay !== 'number' || !Number.isFinite(delay) || delay < 0) {
      throw new InvalidArgumentError(`${MESSAGE_PREFIX} schedule holds a negative or non-finite delay`);
    }
    // A timer (or a queue's delayMs) holds at most 2^31 - 1 ms: a longer wait would fire at once.
    if (Math.ceil(delay * (1 + jitter)) > MAX_TIMER_MS) {
      throw new InvalidArgumentError(
        `${MESSAGE_PREFIX} schedule delays must stay below ${MAX_TIMER_MS} ms, jitter included`,
      );
    }
  }
  if (options.onAttempt !== undefined && typeof options.onAttempt !== 'function') {
    throw new InvalidArgumentError(`${MESSAGE_PREFIX} onAttempt must be a function`);
  }
  for (const name of ['allowHttp', 'allowPrivateNetworks'] as const) {
    // A truthy string ('false') would otherwise switch HTTPS-only or the SSRF guard off.
    if (options[name] !== undefined && typeof options[name] !== 'boolean') {
      throw new InvalidArgumentError(`${MESSAGE_PREFIX} ${name} must be a boolean`);
    }
  }
  // Checked once here so a bad secret fails at construction, not at the first delivery.
  signWebhook({ payload: '', secret: options.secret, id: 'check' });
  const headers: Record<string, string> = {};
  mergeHeaders(headers, options.headers, 'headers');
  // Each message's body has its own length: one set for them all could fit one body at most.
  if (headers['content-length'] !== undefined) {
    throw new InvalidArgumentError(
      `${MESSAGE_PREFIX} headers: header "content-length" cannot be set for every webhook, each body has its own`,
    );
  }
  const timeoutMs = options.timeoutMs ?? 15_000;
  const maxResponseBytes = options.maxResponseBytes ?? 64 * 1024;
  const clientOptions: HttpClientOptions = {
    transport: options.transport ?? 'got',
    retry: false,
    retryBudget: false,
    circuitBreaker: false,
    followRedirects: false,
    decompress: false,
    timeoutMs,
    maxResponseBytes,
    ...(options.allowPrivateNetworks ? {} : { addressFilter: (address: string) => isPublicAddress(address) }),
  };
  const client: ResilientHttpClient = createHttpClient(clientOptions);
  // Both were checked by createHttpClient (numbers within a timer's and a body's limits).
  const drain: BodyDrain = { bytes: maxResponseBytes, ms: Math.min(timeoutMs, BODY_DRAIN_MS) };
  return { options, schedule, jitter, client, clientOptions: resolveOptions(clientOptions), drain, logger };
}

/** Checks a message's url (absolute, https unless `allowHttp`) and headers; `INVALID_ARGUMENT` otherwise. */
export function checkWebhookTarget(
  message: unknown,
  allowHttp: boolean | undefined,
  fields: readonly string[] = MESSAGE_FIELDS,
): URL {
  if (typeof message !== 'object' || message === null) {
    throw new InvalidArgumentError(`${MESSAGE_PREFIX} webhook message must be an object`);
  }
  // A misspelt `id` would send the webhook under a new random id: a retried deliver() would
  // then reach the receiver twice, not be recognised as the same message.
  refuseUnknownFields(message, fields, 'webhook message', MESSAGE_PREFIX);
  const { url: value, headers } = message as { url?: unknown; headers?: unknown };
  // Checked here: spread below, a string would turn into headers named 0, 1, 2.
  mergeHeaders({}, headers, 'message headers');
  let url: URL;
  try {
    url = new URL(value as string);
  } catch {
    throw new InvalidArgumentError(`${MESSAGE_PREFIX} webhook url is not a valid absolute URL`);
  }
  if (url.protocol !== 'https:' && !(allowHttp && url.protocol === 'http:')) {
    throw new InvalidArgumentError(
      `${MESSAGE_PREFIX} webhook url must be https (allowHttp permits http): ${redactUrl(url)}`,
    );
  }
  return url;
}

/** One signed attempt, as the sender makes it (its url and headers already checked). */
export interface WebhookAttemptInput {
  url: string;
  id: string;
  bytes: string | Uint8Array;
  json: boolean;
  headers?: Readonly<Record<string, string>> | undefined;
  attempt: number;
  signal?: AbortSignal | undefined;
}

/** The request that sends an attempt, signed with `signature`. */
function webhookRequest(
  setup: WebhookSenderSetup,
  input: WebhookAttemptInput,
  signature: WebhookHeaders,
): HttpClientRequest {
  return {
    method: 'POST',
    url: input.url,
    body: input.bytes,
    headers: {
      ...(input.json ? { 'content-type': 'application/json' } : {}),
      ...setup.options.headers,
      ...input.headers,
      ...signature,
    },
    throwHttpErrors: false,
    signal: input.signal,
  };
}

/**
 * Checks an attempt's request as the HTTP client checks it before sending (the message's headers
 * over the sender's, a `content-length` against the body), without sending it: a message that
 * could never be sent is `INVALID_ARGUMENT` before it is stored, as it is before the first attempt.
 * `signature` is any signature for its id (signatures are made again when it is sent).
 */
export function checkWebhookRequest(
  setup: WebhookSenderSetup,
  input: WebhookAttemptInput,
  signature: WebhookHeaders,
): void {
  prepareRequest(webhookRequest(setup, input, signature), setup.clientOptions);
}

/**
 * Signs (with a fresh timestamp) and posts one attempt, classifies it and reports it through
 * `onAttempt`. Throws only for an abort or a caller's mistake; every other failure is an outcome.
 */
export async function attemptWebhook(
  setup: WebhookSenderSetup,
  input: WebhookAttemptInput,
): Promise<WebhookAttempt> {
  const { options, client } = setup;
  const { id, attempt } = input;
  const started = performance.now();
  const signature = signWebhook({ payload: input.bytes, secret: options.secret, id });
  let outcome: WebhookAttemptOutcome;
  let status: number | undefined;
  let errorCode: string | undefined;
  try {
    // Streamed: the status decides the outcome as soon as the head arrives. A body that is large,
    // stalls or is cut after it changes nothing (the receiver has answered), so it is never read
    // whole, only drained a little (see dropBody).
    const response = await client.stream(webhookRequest(setup, input, signature));
    status = response.status;
    outcome = classify(status);
    await dropBody(response.body, setup.drain);
  } catch (error) {
    errorCode = errorCodeOf(error);
    if (errorCode === 'ABORTED' || errorCode === 'INVALID_ARGUMENT') throw error;
    outcome = errorCode === 'FORBIDDEN_TARGET' ? 'refused' : 'retry';
  }
  const nextDelayMs =
    outcome === 'retry' ? nextWebhookDelay(setup.schedule, setup.jitter, attempt) : undefined;
  const record: WebhookAttempt = {
    id,
    attempt,
    outcome,
    durationMs: performance.now() - started,
    ...(status !== undefined ? { status } : {}),
    ...(errorCode !== undefined ? { errorCode } : {}),
    ...(nextDelayMs !== undefined ? { nextDelayMs } : {}),
  };
  report(options.onAttempt, record, setup.logger, 'onAttempt', id);
  return record;
}

/** How much of a response body an attempt reads after its status, and for how long, at most. */
export interface BodyDrain {
  readonly bytes: number;
  readonly ms: number;
}

/** The longest an attempt reads a response body after its status (or `timeoutMs` when shorter). */
const BODY_DRAIN_MS = 1_000;

/**
 * Reads what is left of a response body the sender does not use, so that its keep-alive
 * connection can be reused, up to `drain.bytes` and for `drain.ms`; past either, or when it
 * fails, the body is dropped with its connection. Never throws: the outcome is the status's.
 */
function dropBody(body: Readable, drain: BodyDrain): Promise<void> {
  // Whatever the body fails with from now on (cut, too large, aborted) is not this attempt's.
  body.on('error', () => {});
  if (body.readableEnded || body.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    let size = 0;
    const finish = () => {
      clearTimeout(timer);
      body.off('data', onData);
      body.off('end', finish);
      body.off('close', finish);
      body.off('error', finish);
      if (!body.readableEnded) body.destroy();
      resolve();
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > drain.bytes) finish();
    };
    const timer = setTimeout(finish, drain.ms);
    body.on('data', onData);
    body.once('end', finish);
    body.once('close', finish);
    body.once('error', finish);
  });
}

/** Resolves true after `ms`, or false at once when `signal` aborts (or already has). */
export function wait(ms: number, signal: AbortSignal | undefined): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve(false);
    const onAbort = () => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Creates a webhook sender: Standard Webhooks signatures, HTTPS only unless allowed, no redirects,
 * an SSRF guard on the address actually connected to, and retries on a schedule with jitter.
 */
export function createWebhookSender(options: WebhookSenderOptions): WebhookSender {
  refuseUnknownFields(options, SENDER_FIELDS, 'webhook sender options', MESSAGE_PREFIX);
  const setup = setUpWebhookSender(options);
  let closed = false;
  return {
    async deliver(message: WebhookMessage): Promise<WebhookDeliveryResult> {
      const url = checkWebhookTarget(message, options.allowHttp);
      const id = message.id ?? `msg_${randomUUID().replace(/-/g, '')}`;
      const { bytes, json } = webhookBody(message.payload);
      const attempts: WebhookAttempt[] = [];
      for (let attempt = 1; ; attempt++) {
        const record = await attemptWebhook(setup, {
          url: message.url,
          id,
          bytes,
          json,
          headers: message.headers,
          attempt,
          signal: message.signal,
        });
        attempts.push(record);
        const { outcome, nextDelayMs } = record;
        if (outcome !== 'retry') return { id, outcome, attempts };
        if (nextDelayMs === undefined) return { id, outcome: 'exhausted', attempts };
        if (!(await wait(nextDelayMs, message.signal))) {
          throw new AbortedError(
            `${MESSAGE_PREFIX} webhook ${id} to ${redactUrl(url)} aborted by the caller`,
          );
        }
      }
    },
    health: () => webhookHealth(setup.client, closed),
    close: () => {
      closed = true;
      return setup.client.close();
    },
  };
}

/** Delivers one webhook with a sender made for it (see {@link createWebhookSender}). */
export async function deliverWebhook(
  message: WebhookMessage,
  options: WebhookSenderOptions,
): Promise<WebhookDeliveryResult> {
  const sender = createWebhookSender(options);
  try {
    return await sender.deliver(message);
  } finally {
    await sender.close();
  }
}
