import { createHmac, randomUUID, timingSafeEqual } from 'node:crypto';
import { fieldsOf, InvalidArgumentError, refuseUnknownFields } from '@voelgoed/contracts';
import { MESSAGE_PREFIX } from '../errors.js';
import { payloadBytes, secretKeys, type WebhookSecret } from './secrets.js';
import { decodeSignature } from './signature-encoding.js';
import { WebhookVerificationError } from './verification-error.js';

const P = MESSAGE_PREFIX;
/** Bytes of an HMAC-SHA256 signature. */
const SIGNATURE_BYTES = 32;
/**
 * The one webhook-id rule, for signing and verifying: visible ASCII without a dot. The signed
 * content is `id.timestamp.body`; a dot in the id would let (id `a.T`, timestamp T, body) and
 * (id `a`, timestamp T, body `T.body`) share a signature.
 */
const WEBHOOK_ID = /^[\x21-\x2d\x2f-\x7e]+$/;

/** Whether `id` may be a webhook id (see {@link WEBHOOK_ID}). */
function isWebhookId(id: unknown): id is string {
  return typeof id === 'string' && WEBHOOK_ID.test(id);
}

function object(value: unknown, what: string): void {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new InvalidArgumentError(`${P} ${what} must be an object`);
  }
}

/** A `Date` option's time in whole seconds; anything but a valid `Date` is `INVALID_ARGUMENT`. */
function seconds(value: unknown, what: string): number {
  if (value === undefined) return Math.floor(Date.now() / 1000);
  const ms = value instanceof Date ? value.getTime() : Number.NaN;
  // An Invalid Date would turn every timestamp comparison false and the check off.
  if (!Number.isFinite(ms)) throw new InvalidArgumentError(`${P} ${what} must be a valid Date`);
  return Math.floor(ms / 1000);
}

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

/** The fields of {@link SignWebhookInput}: any other (a misspelt `id`) is refused. */
const SIGN_FIELDS = fieldsOf<SignWebhookInput>()(['payload', 'secret', 'id', 'timestamp']);

function sign(key: Uint8Array, id: string, seconds: number, body: Buffer): Buffer {
  return createHmac('sha256', key).update(`${id}.${seconds}.`).update(body).digest();
}

/**
 * Signs a webhook per the Standard Webhooks scheme: HMAC-SHA256 over `id.timestamp.body`, sent as
 * `webhook-signature: v1,<base64>` (space-separated, one per secret).
 */
export function signWebhook(input: SignWebhookInput): WebhookHeaders {
  object(input, 'signWebhook input');
  // A misspelt `id` (`msgId`) would sign under a random id the caller never sees.
  refuseUnknownFields(input, SIGN_FIELDS, 'signWebhook input', P);
  const id = input.id ?? `msg_${randomUUID().replace(/-/g, '')}`;
  if (!isWebhookId(id)) {
    throw new InvalidArgumentError(`${P} webhook id must be non-empty visible ASCII, without spaces or dots`);
  }
  const time = seconds(input.timestamp, 'webhook timestamp');
  // What verifyWebhook accepts: 1 to 12 digits.
  if (time < 0 || time > 999_999_999_999) {
    throw new InvalidArgumentError(`${P} webhook timestamp must be between 1970 and year 33658`);
  }
  const body = payloadBytes(input.payload);
  const signatures = secretKeys(input.secret).map(
    (key) => `v1,${sign(key, id, time, body).toString('base64')}`,
  );
  return {
    'webhook-id': id,
    'webhook-timestamp': String(time),
    'webhook-signature': signatures.join(' '),
  };
}

/**
 * Headers read through `get(name)`: a fetch `Headers` (a Web `Request`'s `headers`), or a `Map`
 * keyed by lower-case names. `null` or `undefined` means absent.
 */
export interface HeadersLike {
  get(name: string): string | readonly string[] | null | undefined;
}

export interface VerifyWebhookInput {
  /** The raw body exactly as received (not re-serialised JSON). */
  payload: string | Uint8Array;
  /**
   * The request headers: an object with any case of names (Node's `req.headers` works), or
   * anything with a `get(name)` method (a fetch `Headers`, as a Web `Request` has).
   */
  headers: Readonly<Record<string, string | readonly string[] | undefined>> | HeadersLike;
  /** The current secret, or several during rotation: any one matching is enough. */
  secret: WebhookSecret | readonly WebhookSecret[];
  /** Largest accepted distance between the timestamp and now, seconds (default 300). */
  toleranceS?: number;
  /** The time to check against (default now). */
  now?: Date;
}

/** The fields of {@link VerifyWebhookInput}: any other (`tolerance` for `toleranceS`) is refused. */
const VERIFY_FIELDS = fieldsOf<VerifyWebhookInput>()(['payload', 'headers', 'secret', 'toleranceS', 'now']);

/**
 * Between two `webhook-signature` entries: spaces (as signed), or a comma before the next entry's
 * `v<n>,`, with any whitespace around it: Node's `req.headers` and a fetch `Headers` join repeated
 * header lines with ", ". The comma inside an entry (`v1,<base64>`) is never followed by another
 * `v<n>,` (base64 has no comma), so it is not a separator; an entry left malformed matches nothing.
 */
const SIGNATURE_SEPARATOR = /\s*,\s*(?=v\d+,)|\s+/;

function isHeadersLike(headers: VerifyWebhookInput['headers']): headers is HeadersLike {
  return typeof (headers as { get?: unknown }).get === 'function';
}

function header(headers: VerifyWebhookInput['headers'], name: string): string | undefined {
  let value: unknown;
  if (isHeadersLike(headers)) {
    try {
      value = headers.get(name) ?? undefined;
    } catch (error) {
      throw new InvalidArgumentError(`${P} headers.get("${name}") threw`, { cause: error });
    }
  } else {
    const direct = headers[name];
    value = direct ?? Object.entries(headers).find(([key]) => key.toLowerCase() === name)?.[1];
  }
  if (value === undefined) return undefined;
  if (typeof value === 'string') return value;
  // Joined as Node's `req.headers` and a fetch `Headers` join repeated lines, so all three read alike.
  if (Array.isArray(value) && value.every((part) => typeof part === 'string')) return value.join(', ');
  throw new InvalidArgumentError(`${P} headers["${name}"] must be a string or an array of strings`);
}

/**
 * Verifies a Standard Webhooks request: required headers, timestamp within `toleranceS` of now
 * (both ways), and at least one `v1` signature matching any of the secrets, compared in constant
 * time. Returns the message id and time; throws `WebhookVerificationError` (code
 * `SIGNATURE_INVALID`) otherwise.
 */
export function verifyWebhook(input: VerifyWebhookInput): { id: string; timestamp: Date } {
  // The caller's own arguments first: a mistake there is INVALID_ARGUMENT, whatever was received.
  object(input, 'verifyWebhook input');
  // A misspelt `toleranceS` would otherwise keep the default window of 300 s in silence.
  refuseUnknownFields(input, VERIFY_FIELDS, 'verifyWebhook input', P);
  object(input.headers, 'headers');
  const now = seconds(input.now, 'now');
  const tolerance = input.toleranceS ?? 300;
  if (typeof tolerance !== 'number' || !Number.isFinite(tolerance) || tolerance < 0) {
    throw new InvalidArgumentError(`${P} toleranceS must be a non-negative number`);
  }
  const keys = secretKeys(input.secret);
  const body = payloadBytes(input.payload);

  const id = header(input.headers, 'webhook-id');
  const timestamp = header(input.headers, 'webhook-timestamp');
  const signature = header(input.headers, 'webhook-signature');
  if (!id || !timestamp || !signature) {
    throw new WebhookVerificationError(
      'missing_headers',
      'webhook-id, webhook-timestamp and webhook-signature are required',
    );
  }
  if (!isWebhookId(id)) {
    throw new WebhookVerificationError('bad_id', 'webhook-id must be visible ASCII without spaces or dots');
  }
  if (!/^\d{1,12}$/.test(timestamp))
    throw new WebhookVerificationError('bad_timestamp', 'webhook-timestamp is not a number');
  const time = Number(timestamp);
  if (now - time > tolerance) throw new WebhookVerificationError('timestamp_too_old', 'timestamp is too old');
  if (time - now > tolerance)
    throw new WebhookVerificationError('timestamp_too_new', 'timestamp is in the future');

  // Only canonical base64 of exactly 32 bytes counts: trailing junk makes a signature no match.
  const candidates: Buffer[] = [];
  for (const part of signature.split(SIGNATURE_SEPARATOR)) {
    if (!part.startsWith('v1,')) continue;
    const decoded = decodeSignature(part.slice(3), 'base64', SIGNATURE_BYTES);
    if (decoded !== undefined) candidates.push(decoded);
  }
  let matched = false;
  for (const key of keys) {
    const expected = sign(key, id, time, body);
    // Every comparison runs, so timing does not tell which secret or signature matched.
    for (const candidate of candidates) if (timingSafeEqual(candidate, expected)) matched = true;
  }
  if (!matched) throw new WebhookVerificationError('no_matching_signature', 'no signature matches');
  return { id, timestamp: new Date(time * 1000) };
}
