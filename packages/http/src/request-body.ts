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
  return Readable.from(chunksOf(body), { objectMode: false });
}

async function* chunksOf(body: Readable): AsyncGenerator<Uint8Array | string> {
  let sent = 0;
  try {
    for await (const chunk of body) {
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
  }
}
