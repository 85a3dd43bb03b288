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

/** The key a command is routed by in a Cluster, or undefined when it has none. */
export function routingKey(args: readonly RedisArgument[]): RedisArgument | undefined {
  const name = String(args[0]).toUpperCase();
  if (KEYLESS.has(name)) return undefined;
  if (
    name === 'EVAL' ||
    name === 'EVALSHA' ||
    name === 'EVAL_RO' ||
    name === 'EVALSHA_RO' ||
    name === 'FCALL'
  ) {
    return Number(args[2]) > 0 ? args[3] : undefined;
  }
  if (name === 'XREAD' || name === 'XREADGROUP') {
    const at = args.findIndex((a) => String(a).toUpperCase() === 'STREAMS');
    return at >= 0 ? args[at + 1] : undefined;
  }
  return args[1];
}

/** Commands that only read: in a Cluster they may go to a replica when the client allows it. */
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
]);

export function isReadonlyCommand(args: readonly RedisArgument[]): boolean {
  return READONLY.has(String(args[0]).toUpperCase());
}

/** The command name in upper case, safe for errors and telemetry (never a key or value). */
export function commandName(args: readonly RedisArgument[]): string {
  const name = String(args[0] ?? '').toUpperCase();
  return /^[A-Z_.|-]{1,32}$/.test(name) ? name : 'UNKNOWN';
}
