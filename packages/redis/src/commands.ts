import { fieldsOf, readOptions } from '@voelgoed/contracts';
import type { CommandOptions } from './client-types.js';
import { invalidArgument, MESSAGE_PREFIX } from './errors.js';

/** Argument of a Redis command. */
export type RedisArgument = string | number | Buffer;

/** A reply as node-redis decodes it with RESP2. */
export type RedisReply = string | number | null | Buffer | RedisReply[];

/** Commands without a key: routed to any node in a Cluster. */
const KEYLESS = new Set([
  'PING',
  'ECHO',
  'INFO',
  'TIME',
  'DBSIZE',
  'FLUSHALL',
  'FLUSHDB',
  'CONFIG',
  'CLIENT',
  'CLUSTER',
  'COMMAND',
  'SCRIPT',
  'FUNCTION',
  'PUBLISH',
  'SCAN',
  'KEYS',
  'RANDOMKEY',
  'SELECT',
  'LASTSAVE',
  'SLOWLOG',
  'MEMORY',
  'ACL',
  'HELLO',
  'AUTH',
  'WAIT',
  'READONLY',
  'READWRITE',
]);

/** Commands whose keys follow a key count in args[1] (`LMPOP 1 k LEFT`, `ZUNION 2 a b`). */
const NUMKEYS_FIRST = new Set(['LMPOP', 'ZMPOP', 'ZUNION', 'ZINTER', 'ZDIFF', 'ZINTERCARD', 'SINTERCARD']);
/** Commands whose keys follow a key count in args[2] (a script, a function, or a timeout first). */
const NUMKEYS_SECOND = new Set([
  'EVAL',
  'EVALSHA',
  'EVAL_RO',
  'EVALSHA_RO',
  'FCALL',
  'FCALL_RO',
  'BLMPOP',
  'BZMPOP',
]);
/** Commands with a subcommand before their key (`OBJECT ENCODING k`, `XGROUP CREATE k g $`). */
const SUBCOMMAND_FIRST = new Set(['OBJECT', 'XINFO', 'XGROUP', 'MEMORY']);

/**
 * The key a command is routed by in a Cluster, or undefined when it has none. Routing by what is
 * not the key (a subcommand, a key count) sent the command to a node that answers MOVED to a slot
 * node-redis then sent it to again: "Too many Cluster redirections", every time.
 */
export function routingKey(args: readonly RedisArgument[]): RedisArgument | undefined {
  const name = String(args[0]).toUpperCase();
  if (KEYLESS.has(name)) return undefined;
  if (NUMKEYS_SECOND.has(name)) return Number(args[2]) > 0 ? args[3] : undefined;
  if (NUMKEYS_FIRST.has(name)) return Number(args[1]) > 0 ? args[2] : undefined;
  if (SUBCOMMAND_FIRST.has(name)) return args[2];
  if (name === 'XREAD' || name === 'XREADGROUP') {
    const at = args.findIndex((a) => String(a).toUpperCase() === 'STREAMS');
    return at >= 0 ? args[at + 1] : undefined;
  }
  return args[1];
}

/**
 * Commands that only read: running one twice changes nothing, so an error after it may have
 * reached the server stays retryable. (In a Cluster they may also go to a replica.)
 */
const READONLY = new Set([
  'GET',
  'MGET',
  'EXISTS',
  'TTL',
  'PTTL',
  'TYPE',
  'STRLEN',
  'GETRANGE',
  'HGET',
  'HMGET',
  'HGETALL',
  'HLEN',
  'HEXISTS',
  'SMEMBERS',
  'SISMEMBER',
  'SCARD',
  'ZRANGE',
  'ZSCORE',
  'ZCARD',
  'ZCOUNT',
  'ZRANGEBYSCORE',
  'LRANGE',
  'LLEN',
  'LINDEX',
  'LPOS',
  'GETBIT',
  'BITCOUNT',
  'BITPOS',
  'HKEYS',
  'HVALS',
  'HSTRLEN',
  'HRANDFIELD',
  'HSCAN',
  'SMISMEMBER',
  'SRANDMEMBER',
  'SUNION',
  'SINTER',
  'SDIFF',
  'SSCAN',
  'ZRANK',
  'ZREVRANK',
  'ZREVRANGE',
  'ZRANGEBYLEX',
  'ZREVRANGEBYSCORE',
  'ZLEXCOUNT',
  'ZMSCORE',
  'ZRANDMEMBER',
  'ZSCAN',
  'XRANGE',
  'XREVRANGE',
  'XLEN',
  'PFCOUNT',
  'SCAN',
  'KEYS',
  'DBSIZE',
  'PING',
  'ECHO',
  'TIME',
  'INFO',
]);

export function isReadonlyCommand(args: readonly RedisArgument[]): boolean {
  return READONLY.has(String(args[0]).toUpperCase());
}

/** The command name in upper case, safe for errors and telemetry (never a key or value). */
export function commandName(args: readonly RedisArgument[]): string {
  const name = String(args[0] ?? '').toUpperCase();
  return /^[A-Z_.|-]{1,32}$/.test(name) ? name : 'UNKNOWN';
}

/**
 * Commands that would change or take over the shared connection for every caller on it, with
 * what to do instead. (CLIENT REPLY is checked by its sub-command below.)
 */
const NOT_ON_SHARED = new Map<string, string>([
  ['SUBSCRIBE', 'use client.subscribe(), which has a connection of its own'],
  ['PSUBSCRIBE', 'pattern subscriptions need a connection of their own'],
  ['SSUBSCRIBE', 'shard subscriptions need a connection of their own'],
  ['UNSUBSCRIBE', 'call the function client.subscribe() resolved with'],
  ['PUNSUBSCRIBE', 'pattern subscriptions need a connection of their own'],
  ['SUNSUBSCRIBE', 'shard subscriptions need a connection of their own'],
  ['MONITOR', 'it takes the connection over'],
  ['SYNC', 'it takes the connection over'],
  ['PSYNC', 'it takes the connection over'],
  ['QUIT', 'use client.close()'],
  ['RESET', 'it would reset the connection under every other caller'],
  ['HELLO', 'the client sets the protocol up itself'],
  ['SELECT', 'set the db option (or use withConnection())'],
  ['AUTH', 'set username and password in the options'],
  // A MULTI or WATCH would turn every other caller's commands into part of this caller's
  // transaction (their replies become QUEUED), or make their transactions fail (EXEC → null).
  ['MULTI', 'use client.transaction() (or withConnection() for WATCH … MULTI … EXEC)'],
  ['EXEC', 'use client.transaction() (or withConnection() for WATCH … MULTI … EXEC)'],
  ['DISCARD', 'use client.transaction() (or withConnection() for WATCH … MULTI … EXEC)'],
  ['WATCH', "use withConnection(), whose connection is the caller's alone"],
  ['UNWATCH', "use withConnection(), whose connection is the caller's alone"],
]);
const NOT_ON_SHARED_LENGTHS = new Set([...NOT_ON_SHARED.keys(), 'CLIENT'].map((k) => k.length));

/**
 * Why `args` must not run on the shared, multiplexed connection, or undefined when it may.
 * Cheap for the usual commands: only names of a listed length are upper-cased.
 */
export function notOnSharedConnection(name: string, args: readonly RedisArgument[]): string | undefined {
  if (!NOT_ON_SHARED_LENGTHS.has(name.length)) return undefined;
  const upper = name.toUpperCase();
  const why = NOT_ON_SHARED.get(upper);
  if (why !== undefined) return why;
  if (upper === 'CLIENT' && String(args[1] ?? '').toUpperCase() === 'REPLY') {
    return 'replies would no longer match their commands';
  }
  return undefined;
}

/** A per-call `timeoutMs`: a finite number > 0. */
export function validateTimeout(timeoutMs: unknown): void {
  if (typeof timeoutMs !== 'number' || !Number.isFinite(timeoutMs) || timeoutMs <= 0) {
    throw invalidArgument('timeoutMs must be a finite number > 0');
  }
}

/** The options of one `command`, `pipeline` or `transaction` call, checked. */
export interface CallOptions {
  /** The call's deadline, or undefined for the client's `commandTimeoutMs`. */
  readonly timeoutMs: number | undefined;
  readonly buffers: boolean;
}

const NO_OPTIONS: CallOptions = { timeoutMs: undefined, buffers: false };
const CALL_FIELDS = fieldsOf<CommandOptions>()(['timeoutMs', 'returnBuffers']);

/**
 * Reads a call's options: `INVALID_ARGUMENT` for anything but an object, a field it does not
 * have (`{ timeout: 100 }` would leave the 5 s default in place), a bad `timeoutMs` or a
 * `returnBuffers` that is not a boolean (`'yes'` would read the reply as text).
 */
export function readCallOptions(options: unknown): CallOptions {
  if (options === undefined) return NO_OPTIONS;
  const { timeoutMs, returnBuffers } = readOptions(options, CALL_FIELDS, 'options', MESSAGE_PREFIX);
  if (timeoutMs !== undefined) validateTimeout(timeoutMs);
  if (returnBuffers !== undefined && typeof returnBuffers !== 'boolean') {
    throw invalidArgument('returnBuffers must be a boolean');
  }
  return { timeoutMs: timeoutMs as number | undefined, buffers: returnBuffers === true };
}

/**
 * Throws INVALID_ARGUMENT for a malformed command, or (when `shared`) for one that would change
 * the shared connection for every caller on it; returns whether it holds numbers to convert.
 */
export function validateCommand(args: unknown, what = 'command', shared = true): boolean {
  if (!Array.isArray(args) || args.length === 0) {
    throw invalidArgument(`${what} must be a non-empty array such as ["GET", "key"]`);
  }
  const first = args[0];
  if (typeof first !== 'string' || first === '')
    throw invalidArgument(`${what} name must be a non-empty string`);
  if (shared) {
    const why = notOnSharedConnection(first, args as RedisArgument[]);
    if (why !== undefined) {
      throw invalidArgument(
        `${what}: ${commandName(args as RedisArgument[])} cannot run on the shared connection: ${why}`,
      );
    }
  }
  let numbers = false;
  for (let i = 1; i < args.length; i++) {
    const arg: unknown = args[i];
    if (typeof arg === 'string') continue;
    if (typeof arg === 'number' && Number.isFinite(arg)) {
      numbers = true;
      continue;
    }
    if (Buffer.isBuffer(arg)) continue;
    throw invalidArgument(`${what} arguments must be strings, Buffers or finite numbers`);
  }
  return numbers;
}

/** The arguments as node-redis takes them: strings and Buffers only. */
export function toArgs(args: readonly RedisArgument[]): (string | Buffer)[] {
  return args.map((a) => (typeof a === 'number' ? String(a) : a));
}

/**
 * Strings longer than this go to node-redis's Cluster as their UTF-8 bytes. It hashes a key given
 * as a string by first copying it into a JS array one byte at a time (about 200 ms for a 1 MiB
 * key, all on the event loop), and node-redis 6 hashes every key argument of a multi-key command
 * (DEL, MGET, …) to split it by shard; a Buffer it hashes in place. The bytes on the wire are the
 * same, and they are also what the server hashes (a lone surrogate goes out as U+FFFD, which
 * node-redis's own encoding of a string for the hash does not do).
 */
const BYTES_PAST = 64;

const isLongString = (a: RedisArgument): a is string => typeof a === 'string' && a.length > BYTES_PAST;

/**
 * The arguments as node-redis's Cluster takes them: strings, and the bytes of long strings.
 * `numbers: false` says there is no number among them (the array is then passed on as it is
 * unless it holds a long string).
 */
export function toClusterArgs(args: readonly RedisArgument[], numbers = true): (string | Buffer)[] {
  if (!numbers && !args.some(isLongString)) return args as (string | Buffer)[];
  return args.map((a) => (typeof a === 'number' ? String(a) : isLongString(a) ? Buffer.from(a) : a));
}

/** A routing key as node-redis's Cluster takes it (see {@link toClusterArgs}). */
export function keyArg(key: RedisArgument | undefined): string | Buffer | undefined {
  if (typeof key === 'number') return String(key);
  return key !== undefined && isLongString(key) ? Buffer.from(key) : key;
}
