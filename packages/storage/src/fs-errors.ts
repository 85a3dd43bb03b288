import path from 'node:path';
import {
  AbortedError,
  InfrastructureError,
  IntegrityError,
  isInfrastructureError,
  NotFoundError,
} from '@voelgoed/contracts';
import { MESSAGE_PREFIX, storageError } from './errors.js';

/**
 * Errors of the filesystem driver. Messages name the operation, never the key (it may hold user
 * data) nor a filesystem path; a system error kept as `cause` is a copy whose paths are made
 * relative to the root (`objects/a.o`), so no absolute path of the host leaves the driver.
 */

/** A symbolic link (or another file in the way) inside the root was refused. */
export function refusedLink(operation: string): InfrastructureError {
  return storageError(
    'FS_ERROR',
    `${MESSAGE_PREFIX} ${operation}: a path inside the root is a symbolic link or not a directory; the driver never follows links out of its root`,
  );
}

/** An object file that this driver did not write (foreign, truncated, or for another key). */
export function damagedObject(operation: string, why: string): InfrastructureError {
  return new IntegrityError(`${MESSAGE_PREFIX} ${operation}: the stored object file is damaged (${why})`);
}

/**
 * Turns a filesystem error into a typed error (a missing object → `NotFoundError`, a refused
 * symbolic link → `FS_ERROR`), with `roots` (the root as given and as resolved) stripped from
 * the cause.
 */
export function fsError(
  error: unknown,
  operation: string,
  roots: readonly string[],
  missingIsNotFound = true,
): InfrastructureError {
  if (isInfrastructureError(error)) return error;
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  const cause = relativeCause(error, roots);
  if (missingIsNotFound && (code === 'ENOENT' || code === 'ENOTDIR')) {
    return new NotFoundError(`${MESSAGE_PREFIX} ${operation}: no such object`, { cause });
  }
  if ((error as Error | undefined)?.name === 'AbortError') {
    return new AbortedError(`${MESSAGE_PREFIX} ${operation} was aborted`, { cause });
  }
  if (code === 'ELOOP') {
    const refused = refusedLink(operation);
    return new InfrastructureError(refused.code, refused.message, { cause });
  }
  return storageError('FS_ERROR', `${MESSAGE_PREFIX} ${operation} failed (${code ?? 'error'})`, {
    retryable: code === 'EMFILE' || code === 'ENFILE' || code === 'EBUSY' || code === 'EAGAIN',
    cause,
  });
}

/**
 * A copy of a system error with every path relative to the root: its `path` and `dest`, and
 * their text in the message (`ENOENT: …, open 'objects/a.o'`). Other errors pass unchanged.
 */
export function relativeCause(error: unknown, roots: readonly string[]): unknown {
  // Duck-typed: system errors may come from another realm (a vm context), where instanceof fails.
  if (error === null || typeof error !== 'object') return error;
  const errno = error as NodeJS.ErrnoException & { dest?: string };
  if (typeof errno.path !== 'string' && typeof errno.dest !== 'string') return error;
  let message = typeof errno.message === 'string' ? errno.message : 'filesystem error';
  const copy = new Error('') as NodeJS.ErrnoException & { dest?: string };
  for (const field of ['path', 'dest'] as const) {
    const value = errno[field];
    if (typeof value !== 'string') continue;
    const relative = relativeTo(value, roots);
    message = message.split(value).join(relative);
    copy[field] = relative;
  }
  for (const root of roots) message = message.split(root).join('<root>');
  copy.message = message;
  copy.stack = `Error: ${message}`;
  if (errno.code !== undefined) copy.code = errno.code;
  if (errno.errno !== undefined) copy.errno = errno.errno;
  if (errno.syscall !== undefined) copy.syscall = errno.syscall;
  return copy;
}

function relativeTo(file: string, roots: readonly string[]): string {
  for (const root of roots) {
    const relative = path.relative(root, file);
    if (!relative.startsWith('..') && !path.isAbsolute(relative)) return relative === '' ? '.' : relative;
  }
  return '<outside the root>';
}
