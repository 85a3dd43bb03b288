import { InvalidArgumentError } from '@voelgoed/contracts';
import { MESSAGE_PREFIX } from '../errors.js';

/**
 * A webhook signing secret: `whsec_<base64>` (the Standard Webhooks form), plain base64, or the
 * raw key bytes.
 */
export type WebhookSecret = string | Uint8Array;

/** The key bytes of a secret. */
export function secretKey(secret: WebhookSecret): Uint8Array {
  if (secret instanceof Uint8Array) {
    if (secret.byteLength === 0) throw new InvalidArgumentError(`${MESSAGE_PREFIX} webhook secret is empty`);
    return secret;
  }
  if (typeof secret !== 'string' || secret.length === 0) {
    throw new InvalidArgumentError(`${MESSAGE_PREFIX} webhook secret must be a non-empty string or bytes`);
  }
  const encoded = secret.startsWith('whsec_') ? secret.slice(6) : secret;
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(encoded)) {
    throw new InvalidArgumentError(`${MESSAGE_PREFIX} webhook secret is not base64 (whsec_<base64>)`);
  }
  return Buffer.from(encoded, 'base64');
}

/** One secret or several (during rotation), as a non-empty list of keys. */
export function secretKeys(secrets: WebhookSecret | readonly WebhookSecret[]): Uint8Array[] {
  const list = Array.isArray(secrets) ? secrets : [secrets as WebhookSecret];
  if (list.length === 0)
    throw new InvalidArgumentError(`${MESSAGE_PREFIX} at least one webhook secret is needed`);
  return list.map(secretKey);
}

/** Raw bytes of a payload (strings as UTF-8). */
export function payloadBytes(payload: string | Uint8Array): Buffer {
  if (typeof payload === 'string') return Buffer.from(payload, 'utf8');
  if (payload instanceof Uint8Array)
    return Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
  throw new InvalidArgumentError(`${MESSAGE_PREFIX} webhook payload must be the raw body: a string or bytes`);
}
