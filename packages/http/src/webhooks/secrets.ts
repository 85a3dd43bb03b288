import { InvalidArgumentError } from '@voelgoed/contracts';
import { MESSAGE_PREFIX } from '../errors.js';

/**
 * A webhook signing secret: `whsec_<base64>` (the Standard Webhooks form), plain base64, or the
 * raw key bytes.
 */
export type WebhookSecret = string | Uint8Array;

/**
 * The key bytes of a secret. A string must be canonical base64 (padded, only the base64
 * alphabet, unused bits zero: re-encoding the key gives the same text) of at least one byte:
 * Node's decoder would otherwise stop at the first stray character or drop a trailing one, so
 * `whsec_a` and `whsec_b` both gave an empty key (any sender could sign) and `whsec_ab` and
 * `whsec_ac` one and the same key. The secret is never echoed.
 */
export function secretKey(secret: WebhookSecret): Uint8Array {
  if (secret instanceof Uint8Array) {
    if (secret.byteLength === 0) throw new InvalidArgumentError(`${MESSAGE_PREFIX} webhook secret is empty`);
    return secret;
  }
  if (typeof secret !== 'string' || secret.length === 0) {
    throw new InvalidArgumentError(`${MESSAGE_PREFIX} webhook secret must be a non-empty string or bytes`);
  }
  const encoded = secret.startsWith('whsec_') ? secret.slice(6) : secret;
  const key = Buffer.from(encoded, 'base64');
  if (key.byteLength === 0 || key.toString('base64') !== encoded) {
    throw new InvalidArgumentError(
      `${MESSAGE_PREFIX} webhook secret is not base64 of a key (whsec_<base64>: canonical, padded, at least one byte)`,
    );
  }
  return key;
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
