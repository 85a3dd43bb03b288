import { createHmac, randomUUID, timingSafeEqual } from 'node:crypto';
import { IntegrityError, InvalidArgumentError } from '@voelgoed/contracts';
import { MESSAGE_PREFIX } from '../errors.js';
import { payloadBytes, secretKeys, type WebhookSecret } from './secrets.js';

/** The three Standard Webhooks headers. */
export type WebhookHeaders = {
  'webhook-id': string;
  'webhook-timestamp': string;
  'webhook-signature': string;
};

export interface SignWebhookInput {
  /** The raw body exactly as sent. */
  payload: string | Uint8Array;
  /** One secret, or several during rotation (one signature each). */
  secret: WebhookSecret | readonly WebhookSecret[];
  /** Message id, the same on every retry of one message (default a random `msg_…`). */
  id?: string;
  /** Signing time (default now). */
  timestamp?: Date;
}

function sign(key: Uint8Array, id: string, seconds: number, body: Buffer): Buffer {
  return createHmac('sha256', key).update(`${id}.${seconds}.`).update(body).digest();
}

/**
 * Signs a webhook per the Standard Webhooks scheme: HMAC-SHA256 over `id.timestamp.body`, sent as
 * `webhook-signature: v1,<base64>` (space-separated, one per secret).
 */
export function signWebhook(input: SignWebhookInput): WebhookHeaders {
  const id = input.id ?? `msg_${randomUUID().replace(/-/g, '')}`;
  if (typeof id !== 'string' || id.length === 0 || /[\s.]/.test(id)) {
    throw new InvalidArgumentError(`${MESSAGE_PREFIX} webhook id must be non-empty, without spaces or dots`);
  }
  const seconds = Math.floor((input.timestamp ?? new Date()).getTime() / 1000);
  if (!Number.isFinite(seconds))
    throw new InvalidArgumentError(`${MESSAGE_PREFIX} webhook timestamp is invalid`);
  const body = payloadBytes(input.payload);
  const signatures = secretKeys(input.secret).map(
    (key) => `v1,${sign(key, id, seconds, body).toString('base64')}`,
  );
  return {
    'webhook-id': id,
    'webhook-timestamp': String(seconds),
    'webhook-signature': signatures.join(' '),
  };
}

/** Why a webhook failed verification. */
export type WebhookVerificationFailure =
  | 'missing_headers'
  | 'bad_timestamp'
  | 'timestamp_too_old'
  | 'timestamp_too_new'
  | 'no_matching_signature';

/** A webhook did not verify (code `INTEGRITY`); `reason` says why. Never holds the secret or the body. */
export class WebhookVerificationError extends IntegrityError {
  readonly reason: WebhookVerificationFailure;

  constructor(reason: WebhookVerificationFailure, message: string) {
    super(`${MESSAGE_PREFIX} webhook verification failed: ${message}`);
    this.reason = reason;
  }
}

export interface VerifyWebhookInput {
  /** The raw body exactly as received (not re-serialised JSON). */
  payload: string | Uint8Array;
  /** The request headers (any case; Node's `req.headers` works). */
  headers: Readonly<Record<string, string | readonly string[] | undefined>>;
  /** The current secret, or several during rotation: any one matching is enough. */
  secret: WebhookSecret | readonly WebhookSecret[];
  /** Largest accepted distance between the timestamp and now, seconds (default 300). */
  toleranceS?: number;
  /** The time to check against (default now). */
  now?: Date;
}

function header(headers: VerifyWebhookInput['headers'], name: string): string | undefined {
  const direct = headers[name];
  const value = direct ?? Object.entries(headers).find(([key]) => key.toLowerCase() === name)?.[1];
  if (value === undefined) return undefined;
  return typeof value === 'string' ? value : value.join(' ');
}

/**
 * Verifies a Standard Webhooks request: required headers, timestamp within `toleranceS` of now
 * (both ways), and at least one `v1` signature matching any of the secrets, compared in constant
 * time. Resolves to the message id and time; throws `WebhookVerificationError` otherwise.
 */
export function verifyWebhook(input: VerifyWebhookInput): { id: string; timestamp: Date } {
  const id = header(input.headers, 'webhook-id');
  const timestamp = header(input.headers, 'webhook-timestamp');
  const signature = header(input.headers, 'webhook-signature');
  if (!id || !timestamp || !signature) {
    throw new WebhookVerificationError(
      'missing_headers',
      'webhook-id, webhook-timestamp and webhook-signature are required',
    );
  }
  if (!/^\d{1,12}$/.test(timestamp))
    throw new WebhookVerificationError('bad_timestamp', 'webhook-timestamp is not a number');
  const seconds = Number(timestamp);
  const tolerance = input.toleranceS ?? 300;
  if (!Number.isFinite(tolerance) || tolerance < 0) {
    throw new InvalidArgumentError(`${MESSAGE_PREFIX} toleranceS must be a non-negative number`);
  }
  const now = Math.floor((input.now ?? new Date()).getTime() / 1000);
  if (now - seconds > tolerance)
    throw new WebhookVerificationError('timestamp_too_old', 'timestamp is too old');
  if (seconds - now > tolerance)
    throw new WebhookVerificationError('timestamp_too_new', 'timestamp is in the future');

  const body = payloadBytes(input.payload);
  const candidates = signature
    .split(' ')
    .filter((part) => part.startsWith('v1,'))
    .map((part) => Buffer.from(part.slice(3), 'base64'));
  let matched = false;
  for (const key of secretKeys(input.secret)) {
    const expected = sign(key, id, seconds, body);
    for (const candidate of candidates) {
      // Every comparison runs, so timing does not tell which secret or signature matched.
      if (candidate.length === expected.length && timingSafeEqual(candidate, expected)) matched = true;
    }
  }
  if (!matched) throw new WebhookVerificationError('no_matching_signature', 'no signature matches');
  return { id, timestamp: new Date(seconds * 1000) };
}
