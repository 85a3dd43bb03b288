import {
  AuthenticationError,
  ConnectionError,
  InfrastructureError,
  InvalidArgumentError,
  TimeoutError,
} from '@voelgoed/contracts';

/** Prefix of every message this package puts in an error. */
export const MESSAGE_PREFIX = '[voelgoed:redis]';

/** An `INVALID_ARGUMENT` error for bad input given to this package. */
export function invalidArgument(message: string): InvalidArgumentError {
  return new InvalidArgumentError(`${MESSAGE_PREFIX} ${message}`);
}

/**
 * The server is unreachable, the connection dropped, or the client is closed. Retryable unless
 * the command may have run (`maybeExecuted`) and is not read-only.
 */
export function connectionError(
  message: string,
  cause?: unknown,
  { maybeExecuted = false, readonly = false }: { maybeExecuted?: boolean; readonly?: boolean } = {},
): ConnectionError {
  return new ConnectionError(`${MESSAGE_PREFIX} ${message}`, {
    cause,
    maybeExecuted,
    retryable: !maybeExecuted || readonly,
  });
}

/** Thrown when a command's deadline passed. */
export class RedisTimeoutError extends TimeoutError {
  /**
   * @param maybeExecuted true when the command may have reached the server (so INCR may have
   * counted, a lock may be held).
   * @param readonly the command only reads: retryable even when it may have run.
   */
  constructor(message: string, maybeExecuted: boolean, readonly = false) {
    // A command that may have run is retried only when running it twice changes nothing.
    super(`${MESSAGE_PREFIX} ${message}`, { maybeExecuted, retryable: !maybeExecuted || readonly });
  }
}

/** The server answered with an error reply (WRONGTYPE, NOSCRIPT, OOM, …). */
export class RedisReplyError extends InfrastructureError {
  /** First word of the reply, e.g. `WRONGTYPE`. */
  readonly reply: string;

  constructor(command: string, message: string, cause: unknown) {
    const reply = /^[A-Z]+/.exec(message)?.[0] ?? 'ERR';
    const safe = withoutArguments(message);
    super('REDIS_REPLY', `${MESSAGE_PREFIX} ${command} failed: ${safe}`, {
      retryable: reply === 'LOADING' || reply === 'BUSY' || reply === 'TRYAGAIN' || reply === 'CLUSTERDOWN',
      // The original holds the server's text as it was: dropped when that echoed arguments.
      ...(safe === message ? { cause } : {}),
    });
    this.reply = reply;
  }
}

/**
 * Redis echoes the first arguments of an unknown command ("ERR unknown command 'SETT', with args
 * beginning with: 'user:1:token' 'secret' "): keys and values that must not reach logs.
 */
function withoutArguments(message: string): string {
  const at = message.indexOf(', with args beginning with:');
  return at < 0 ? message : `${message.slice(0, at)} (arguments not shown)`;
}

/** Errors (ours in connection.ts, and node-redis's) of a command never handed to a socket: it cannot have run. */
const NOT_SENT = new Set([
  'ClientOfflineError',
  'WriteBufferFullError',
  'ConnectionTimeoutError',
  'ReconnectStrategyError',
  'RootNodesUnavailableError',
  'MaxCommandRedirectionsError',
]);

/** Error replies that mean the credentials were refused. */
const AUTH_REPLIES = /^(WRONGPASS|NOAUTH)\b/;

/**
 * Turns whatever a connection rejected with into an InfrastructureError. Never echoes arguments.
 * `readonly`: the command only reads, so running it twice is harmless and a lost connection
 * leaves it retryable even when the server may have run it.
 */
export function mapError(error: unknown, command: string, readonly = false): InfrastructureError {
  if (error instanceof InfrastructureError) return error;
  const err = error as {
    name?: string;
    message?: string;
    code?: string;
    maybeExecuted?: boolean;
    constructor?: { name?: string };
  };
  const name = err?.constructor?.name ?? err?.name ?? '';
  const message = String(err?.message ?? error);
  if (name === 'ErrorReply' || name === 'SimpleError' || name === 'BlobError' || name === 'MultiErrorReply') {
    if (AUTH_REPLIES.test(message)) {
      return new AuthenticationError(`${MESSAGE_PREFIX} ${command} failed: ${message}`);
    }
    return new RedisReplyError(command, message, error);
  }
  if (name === 'TimeoutError' || name === 'AbortError')
    return new RedisTimeoutError(`${command} timed out`, true, readonly);
  // Our own connection says whether the command was written; for node-redis's errors, only
  // those raised before writing are known not to have run.
  const maybeExecuted = typeof err?.maybeExecuted === 'boolean' ? err.maybeExecuted : !NOT_SENT.has(name);
  return connectionError(`${command} failed: ${message}`, error, { maybeExecuted, readonly });
}

/**
 * Why a connection could not be made, for `ready()` and commands waiting for the first
 * connection: `AUTH` when the server refused the credentials, otherwise `CONNECTION`. Nothing
 * was sent, so a connection error is retryable.
 */
export function connectFailure(message: string, cause: unknown): InfrastructureError {
  const text = String((cause as { message?: unknown })?.message ?? '');
  if (AUTH_REPLIES.test(text)) {
    return new AuthenticationError(
      `${MESSAGE_PREFIX} ${message}: the server refused the credentials (${text.split(' ')[0]})`,
    );
  }
  return connectionError(`${message}${text ? `: ${text}` : ''}`, cause);
}
