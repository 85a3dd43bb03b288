// How a job queue keeps a handler's failure in a dead letter: one rule for the Redis queue and
// the memory twin.

/**
 * The last failure of a job as a dead letter keeps it (never throws, whatever was thrown): its
 * name, message and code, each cut to a bound. For job queue implementations.
 */
export function describeJobFailure(error: unknown): { name: string; message: string; code?: string } {
  try {
    if (typeof error === 'object' && error !== null) {
      const e = error as { name?: unknown; message?: unknown; code?: unknown };
      return {
        name: cut(typeof e.name === 'string' ? e.name : 'Error', MAX_NAME_LENGTH),
        message: cut(typeof e.message === 'string' ? e.message : String(e.message ?? ''), MAX_MESSAGE_LENGTH),
        ...(typeof e.code === 'string' ? { code: cut(e.code, MAX_NAME_LENGTH) } : {}),
      };
    }
    return { name: 'Error', message: cut(String(error), MAX_MESSAGE_LENGTH) };
  } catch {
    return { name: 'Error', message: 'the handler threw a value that could not be read' };
  }
}

/**
 * Longest error message a dead letter keeps (a 5 MB message, a whole response body thrown as
 * text, would otherwise sit in every dead letter and every `deadLetters()` page).
 */
const MAX_MESSAGE_LENGTH = 2_000;
/** Longest error name or code a dead letter keeps. */
const MAX_NAME_LENGTH = 200;

/** `text`, or its first `max` characters with a note of how many were left out. */
function cut(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max)}… (${text.length - max} more characters)`;
}
