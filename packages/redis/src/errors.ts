import {
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

/** The server is unreachable, the connection dropped, or the client is closed. Retryable. */
export function connectionError(message: string, cause?: unknown): ConnectionError {
  return new ConnectionError(`${MESSAGE_PREFIX} ${message}`, { cause });
}

/** Thrown when a command's deadline passed. */
export class RedisTimeoutError extends TimeoutError {
  /**
   * @param maybeExecuted true when the command may have reached the server (so INCR may have
   * counted, a lock may be held).
   */
  constructor(message: string, maybeExecuted: boolean) {
    super(`${MESSAGE_PREFIX} ${message}`, { maybeExecuted });
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

const CONNECTION_ERRORS = new Set([
  'ClientOfflineError',
  'ClientClosedError',
  'SocketClosedUnexpectedlyError',
  // connection.ts (the standalone shared connection)
  'ConnectionLostError',
  'ProtocolError',
  'WriteBufferFullError',
  'ConnectionTimeoutError',
  'SocketTimeoutError',
  'DisconnectsClientError',
  'RootNodesUnavailableError',
  'ReconnectStrategyError',
  'MaxCommandRedirectionsError',
]);

/** Turns whatever node-redis rejected with into an InfrastructureError. Never echoes arguments. */
export function mapError(error: unknown, command: string): InfrastructureError {
  if (error instanceof InfrastructureError) return error;
  const err = error as { name?: string; message?: string; code?: string; constructor?: { name?: string } };
  const name = err?.constructor?.name ?? err?.name ?? '';
  const message = String(err?.message ?? error);
  if (name === 'ErrorReply' || name === 'SimpleError' || name === 'BlobError' || name === 'MultiErrorReply') {
    return new RedisReplyError(command, message, error);
  }
  if (CONNECTION_ERRORS.has(name) || typeof err?.code === 'string') {
    return connectionError(`${command} failed: ${message}`, error);
  }
  if (name === 'TimeoutError' || name === 'AbortError')
    return new RedisTimeoutError(`${command} timed out`, true);
  return connectionError(`${command} failed: ${message}`, error);
}
