import { InfrastructureError } from '@voelgoed/contracts';
import { HttpErrorCodes, MESSAGE_PREFIX } from '../errors.js';

/** Why a received webhook failed verification. */
export type WebhookVerificationFailure =
  | 'missing_headers'
  | 'missing_signature'
  | 'bad_id'
  | 'bad_timestamp'
  | 'timestamp_too_old'
  | 'timestamp_too_new'
  | 'no_matching_signature';

/**
 * A received webhook did not verify (code `SIGNATURE_INVALID`), thrown by both `verifyWebhook`
 * and `verifyHmacSignature`; `reason` says why. Never retryable: the same request fails again.
 * Never holds the secret or the body.
 */
export class WebhookVerificationError extends InfrastructureError {
  declare readonly code: typeof HttpErrorCodes.SIGNATURE_INVALID;
  readonly reason: WebhookVerificationFailure;

  constructor(reason: WebhookVerificationFailure, message: string) {
    super(HttpErrorCodes.SIGNATURE_INVALID, `${MESSAGE_PREFIX} webhook verification failed: ${message}`, {
      retryable: false,
    });
    this.reason = reason;
  }
}
