/**
 * Why the own connection (connection.ts) could not deliver a command's reply. Each says whether
 * the command may have run on the server; `mapError` turns them into the contracts' errors.
 */

/** A failure of the connection, not of the command. */
export class ConnectionFault extends Error {
  /** True when the command's bytes were handed to the socket: the server may have run it. */
  readonly maybeExecuted: boolean;

  constructor(message: string, options?: { cause?: unknown; maybeExecuted?: boolean }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.maybeExecuted = options?.maybeExecuted ?? false;
  }
}

/** The connection broke (or was closed) before the reply came. */
export class ConnectionLostError extends ConnectionFault {}

/** Refused before writing: not connected. */
export class ClientOfflineError extends ConnectionFault {
  constructor(message = 'not connected') {
    super(message);
  }
}

/** Refused before writing (or failed unsent): the client is closed. */
export class ClientClosedError extends ConnectionFault {
  constructor(message = 'the client is closed') {
    super(message);
  }
}

/** Refused before writing: the server is not reading what was already written. */
export class WriteBufferFullError extends ConnectionFault {
  constructor(bytes: number) {
    super(`the server is not reading: ${Math.round(bytes / 1024)} KiB written and not yet sent`);
  }
}

/** A connection attempt took longer than `connectTimeoutMs`. */
export class ConnectionTimeoutError extends ConnectionFault {
  constructor(ms: number) {
    super(`connecting took longer than ${ms} ms`);
  }
}
