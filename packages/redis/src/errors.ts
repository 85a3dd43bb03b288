import * as NodeRedis from '@redis/client';
import {
  AuthenticationError,
  ConnectionError,
  type ErrorCode,
  InfrastructureError,
  type InfrastructureErrorMap,
  InvalidArgumentError,
  isInfrastructureError,
  type NarrowedError,
  TimeoutError,
} from '@voelgoed/contracts';
import { ConnectionFault } from './connection-errors.js';
import { ErrorReply } from './resp.js';

/** Prefix of every message this package puts in an error. */
export const MESSAGE_PREFIX = '[voelgoed:redis]';

/** Codes this package adds to the contracts' `ErrorCodes`. */
export const RedisErrorCodes = {
  /** The server answered with an error reply: {@link RedisReplyError}. */
  REDIS_REPLY: 'REDIS_REPLY',
} as const;

/** Every code an error of this package may carry: the contracts' codes and {@link RedisErrorCodes}. */
export type RedisErrorCode = ErrorCode | (typeof RedisErrorCodes)[keyof typeof RedisErrorCodes];

/** The class that carries each {@link RedisErrorCode}: what {@link isRedisError} narrows to. */
export interface RedisErrorMap extends InfrastructureErrorMap {
  REDIS_REPLY: RedisReplyError;
}

/**
 * `isInfrastructureError` that also knows this package's codes: true for an infrastructure error
 * (from any copy of the contracts), with `code` only for that code, narrowed to its class
 * (`REDIS_REPLY` → {@link RedisReplyError} with its `reply`, `CONNECTION` → `ConnectionError`, …).
 */
export function isRedisError<C extends RedisErrorCode = never>(
  value: unknown,
  code?: C,
): value is NarrowedError<RedisErrorMap, C> {
  return isInfrastructureError(value) && (code === undefined || value.code === code);
}

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
  declare readonly code: typeof RedisErrorCodes.REDIS_REPLY;
  /** First word of the reply, e.g. `WRONGTYPE`. */
  readonly reply: string;

  constructor(command: string, message: string, cause: unknown) {
    const reply = /^[A-Z]+/.exec(message)?.[0] ?? 'ERR';
    const safe = withoutArguments(message);
    super(RedisErrorCodes.REDIS_REPLY, `${MESSAGE_PREFIX} ${command} failed: ${safe}`, {
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

/** node-redis's errors for a command it never wrote: it cannot have run. */
const NODE_REDIS_NOT_SENT = [
  NodeRedis.ClientOfflineError,
  NodeRedis.ConnectionTimeoutError,
  NodeRedis.ReconnectStrategyError,
  NodeRedis.RootNodesUnavailableError,
  NodeRedis.MaxCommandRedirectionsError,
];

/** Error replies that mean the credentials were refused. */
// ERR AUTH …: a password given to a server that has none ("called without any password configured").
const AUTH_REPLIES = /^(WRONGPASS|NOAUTH)\b|^ERR AUTH\b/;

/** An error reply of the server, from our connection or from node-redis. */
function isErrorReply(error: unknown): error is Error {
  return error instanceof ErrorReply || error instanceof NodeRedis.ErrorReply;
}

/**
 * Turns whatever a connection rejected with into an InfrastructureError. Never echoes arguments.
 * `readonly`: the command only reads, so running it twice is harmless and a lost connection
 * leaves it retryable even when the server may have run it.
 */
export function mapError(error: unknown, command: string, readonly = false): InfrastructureError {
  if (error instanceof InfrastructureError) return error;
  const message = String((error as { message?: unknown })?.message ?? error);
  if (isErrorReply(error)) {
    if (AUTH_REPLIES.test(message)) {
      return new AuthenticationError(`${MESSAGE_PREFIX} ${command} failed: ${message}`);
    }
    // The request's keys are in several Cluster slots: the caller's mistake, and nothing ran.
    if (message.startsWith('CROSSSLOT')) {
      return invalidArgument(`${command}: ${message}; put a shared {hash tag} in the keys`);
    }
    return new RedisReplyError(command, message, error);
  }
  if (error instanceof NodeRedis.TimeoutError || error instanceof NodeRedis.AbortError)
    return new RedisTimeoutError(`${command} timed out`, true, readonly);
  // Our own connection says whether the command was written; of node-redis's errors, only those
  // raised before writing are known not to have run.
  const maybeExecuted =
    error instanceof ConnectionFault
      ? error.maybeExecuted
      : !NODE_REDIS_NOT_SENT.some((type) => error instanceof type);
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
  // Any other error reply to the handshake (SELECT of a database the server lacks, …) is a
  // setting that the next attempt sends again: not retryable.
  if (isErrorReply(cause)) {
    return new ConnectionError(`${MESSAGE_PREFIX} ${message}: ${withoutArguments(text)}`, {
      cause,
      retryable: false,
    });
  }
  return connectionError(`${message}${text ? `: ${text}` : ''}`, cause);
}
