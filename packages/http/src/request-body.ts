import { Readable } from 'node:stream';
import { IntegrityError, isInfrastructureError } from '@voelgoed/contracts';
import { MESSAGE_PREFIX, safeCause } from './errors.js';

const P = MESSAGE_PREFIX;

/**
 * A caller's stream body, guarded: a chunk that is not bytes or text (an object-mode stream may
 * carry bytes, as `Readable.from([buffer])` does, but nothing else), or a failure of the stream
 * itself, ends the request with
 * `IntegrityError` (the body did not go out whole) instead of a transport error that would read
 * as the remote side's failure (and count against the circuit breaker). A stream body is never
 * retried, so the wrapper is read once.
 */
export function guardStreamBody(body: Readable): Readable {
  const progress: BodyProgress = { waitingOnSource: false, ended: false };
  const guarded = Readable.from(chunksOf(body, progress), { objectMode: false });
  progressOf.set(guarded, progress);
  return guarded;
}

/** Where a guarded body is: waiting on the caller's stream for its next chunk, or ended. */
interface BodyProgress {
  waitingOnSource: boolean;
  ended: boolean;
  /** A timeout found the body stalled on the caller's stream (see {@link noteTimeout}). */
  callerStalled?: boolean;
}

const progressOf = new WeakMap<Readable, BodyProgress>();

/**
 * Called when an attempt times out: whether its body is a caller's stream that had stalled (not
 * ended, nothing of it waiting to be written, the guard waiting on the caller's stream for the
 * next chunk). The timeout then came from the caller's side, not the server's (which would leave
 * bytes waiting to be written); {@link callerStalled} remembers it for the circuit breaker.
 */
export function noteTimeout(body: unknown): boolean {
  if (!(body instanceof Readable)) return false;
  const progress = progressOf.get(body);
  if (progress === undefined) return false;
  progress.callerStalled = progress.waitingOnSource && !progress.ended && body.readableLength === 0;
  return progress.callerStalled;
}

/** Whether a timeout found this request's body stalled on the caller's stream. */
export function callerStalled(body: unknown): boolean {
  return body instanceof Readable && progressOf.get(body)?.callerStalled === true;
}

async function* chunksOf(body: Readable, progress: BodyProgress): AsyncGenerator<Uint8Array | string> {
  let sent = 0;
  const chunks = body[Symbol.asyncIterator]();
  let done = false;
  try {
    for (;;) {
      progress.waitingOnSource = true;
      const next = await chunks.next();
      progress.waitingOnSource = false;
      if (next.done) {
        done = true;
        break;
      }
      const chunk: unknown = next.value;
      if (typeof chunk !== 'string' && !(chunk instanceof Uint8Array)) {
        throw new IntegrityError(`${P} the request body stream yielded something other than bytes or text`);
      }
      sent += chunk.length;
      yield chunk;
    }
  } catch (error) {
    if (isInfrastructureError(error)) throw error;
    throw new IntegrityError(`${P} the request body stream failed after ${sent} bytes`, {
      cause: safeCause(error),
    });
  } finally {
    progress.waitingOnSource = false;
    progress.ended = true;
    // Ended early (the request failed or was aborted): the caller's stream is let go, as a
    // for-await loop would.
    if (!done) await chunks.return?.();
  }
}
