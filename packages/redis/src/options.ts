import type { ConnectionOptions as TlsOptions } from 'node:tls';
import { fieldsOf, type Logger, readLogger, refuseUnknownFields } from '@voelgoed/contracts';
import { invalidArgument, MESSAGE_PREFIX } from './errors.js';

export interface RedisNodeAddress {
  host: string;
  port: number;
}

/** Options of {@link createRedisClient}. Every field is optional; defaults in brackets. */
export interface RedisClientOptions {
  /** `redis://[user:password@]host[:port][/db]` or `rediss://…` for TLS. */
  url?: string;
  /** [`127.0.0.1`] */
  host?: string;
  /** [6379] */
  port?: number;
  /** ACL user name. */
  username?: string;
  /** Password (never shown in errors, events or `toString()`). */
  password?: string;
  /** Database index [0]. Standalone and Sentinel only. */
  db?: number;
  /** `true` or Node TLS options to connect over TLS. */
  tls?: boolean | TlsOptions;
  /** Connect to a Redis Cluster through these seed nodes. */
  cluster?: {
    nodes: (string | RedisNodeAddress)[];
    /** Re-read the slot map this often, not only on MOVED [30000 ms; 0 = never]. */
    topologyRefreshMs?: number;
  };
  /** Connect through Sentinel to the master named `name`. */
  sentinel?: {
    name: string;
    sentinels: RedisNodeAddress[];
    /** Password of the sentinels themselves, if they have one. */
    sentinelPassword?: string;
  };
  /** Deadline of one command, covering queueing, writing and the reply [5000 ms]. */
  commandTimeoutMs?: number;
  /** Deadline of establishing a connection [5000 ms]. */
  connectTimeoutMs?: number;
  /** Reconnect backoff: exponential from `minDelayMs` to `maxDelayMs`, with full jitter [50, 2000]. */
  reconnect?: { minDelayMs?: number; maxDelayMs?: number };
  /** Connections kept for isolated work (`withConnection`, transactions with WATCH) [4]. */
  poolSize?: number;
  /** Client name shown in `CLIENT LIST`. */
  clientName?: string;
  /**
   * Where to log connection losses, reconnect attempts, reconnects, giving up, Cluster node
   * losses and Sentinel master changes [nothing is logged]. pino and `console` fit.
   */
  logger?: Logger;
}

export interface ResolvedOptions {
  host: string;
  port: number;
  username: string | undefined;
  password: string | undefined;
  db: number;
  tls: TlsOptions | undefined;
  cluster: { nodes: RedisNodeAddress[]; topologyRefreshMs: number } | undefined;
  sentinel: RedisClientOptions['sentinel'];
  commandTimeoutMs: number;
  connectTimeoutMs: number;
  minDelayMs: number;
  maxDelayMs: number;
  poolSize: number;
  clientName: string | undefined;
  logger: Logger;
}

function positiveInteger(name: string, value: number | undefined, fallback: number, min = 1): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || !Number.isInteger(value) || value < min) {
    throw invalidArgument(`${name} must be an integer >= ${min}, got ${String(value)}`);
  }
  return value;
}

function parseAddress(input: string | RedisNodeAddress, what: string): RedisNodeAddress {
  if (typeof input !== 'string') {
    if (!input || typeof input.host !== 'string' || input.host === '')
      throw invalidArgument(`${what}: host is required`);
    return { host: input.host, port: positiveInteger(`${what} port`, input.port, 6379) };
  }
  const url = parseRedisUrl(input, what);
  return { host: url.host, port: url.port };
}

interface ParsedUrl {
  host: string;
  port: number;
  username: string | undefined;
  password: string | undefined;
  db: number | undefined;
  tls: boolean;
}

/** Percent-decodes a user name or password; a malformed escape is INVALID_ARGUMENT (never echoed). */
function decodeCredential(text: string, what: string, part: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    throw invalidArgument(`${what} has a malformed %-escape in its ${part} (write a literal % as %25)`);
  }
}

/** Parses a redis:// or rediss:// URL. Errors never echo the URL: it may hold a password. */
export function parseRedisUrl(input: string, what = 'url'): ParsedUrl {
  if (typeof input !== 'string' || input === '') throw invalidArgument(`${what} must be a non-empty string`);
  let url: URL;
  try {
    url = new URL(input.includes('://') ? input : `redis://${input}`);
  } catch {
    throw invalidArgument(
      `${what} is not a valid Redis URL (expected redis://[user:password@]host[:port][/db])`,
    );
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') {
    throw invalidArgument(`${what} must use redis:// or rediss://, got ${url.protocol}//`);
  }
  if (url.hostname === '') throw invalidArgument(`${what} has no host`);
  const port = url.port === '' ? 6379 : Number(url.port);
  const dbText = url.pathname.replace(/^\//, '');
  let db: number | undefined;
  if (dbText !== '') {
    db = Number(dbText);
    if (!Number.isInteger(db) || db < 0) throw invalidArgument(`${what} has an invalid database index`);
  }
  return {
    host: url.hostname.replace(/^\[|\]$/g, ''),
    port,
    username: url.username === '' ? undefined : decodeCredential(url.username, what, 'user name'),
    password: url.password === '' ? undefined : decodeCredential(url.password, what, 'password'),
    db,
    tls: url.protocol === 'rediss:',
  };
}

/** What a value is, for an error message: its type, never its content (it may be a secret). */
function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value;
}

function optionalString(name: string, value: unknown, allowEmpty = true): void {
  if (value === undefined) return;
  if (typeof value !== 'string' || (!allowEmpty && value === '')) {
    throw invalidArgument(`${name} must be a${allowEmpty ? '' : ' non-empty'} string, got ${kindOf(value)}`);
  }
}

/**
 * Checks the options of `createRedisClient` (a URL or an object) and fills in the defaults.
 * Throws `InvalidArgumentError` at the first bad field.
 */
/**
 * The fields {@link RedisClientOptions} has. Any other is refused: node-redis's `socket` and
 * `database` or ioredis' `keyPrefix` would otherwise be dropped in silence, and a client meant
 * for another server would connect to 127.0.0.1:6379.
 */
const CLIENT_FIELDS = fieldsOf<RedisClientOptions>()([
  'url',
  'host',
  'port',
  'username',
  'password',
  'db',
  'tls',
  'cluster',
  'sentinel',
  'commandTimeoutMs',
  'connectTimeoutMs',
  'reconnect',
  'poolSize',
  'clientName',
  'logger',
]);
type ClusterOptions = NonNullable<RedisClientOptions['cluster']>;
type SentinelOptions = NonNullable<RedisClientOptions['sentinel']>;
type ReconnectOptions = NonNullable<RedisClientOptions['reconnect']>;
const CLUSTER_FIELDS = fieldsOf<ClusterOptions>()(['nodes', 'topologyRefreshMs']);
const SENTINEL_FIELDS = fieldsOf<SentinelOptions>()(['name', 'sentinels', 'sentinelPassword']);
const RECONNECT_FIELDS = fieldsOf<ReconnectOptions>()(['minDelayMs', 'maxDelayMs']);

/** The contracts' `refuseUnknownFields` with this package's message prefix. */
export const onlyFields = (options: unknown, fields: readonly string[], what: string): void =>
  refuseUnknownFields(options, fields, what, MESSAGE_PREFIX);

/** No field the options (and their `cluster`, `sentinel` and `reconnect` objects) do not have. */
function refuseUnknownOptions(options: RedisClientOptions): void {
  const what = 'createRedisClient options';
  onlyFields(options, CLIENT_FIELDS, what);
  onlyFields(options.cluster, CLUSTER_FIELDS, `${what}: cluster`);
  onlyFields(options.sentinel, SENTINEL_FIELDS, `${what}: sentinel`);
  onlyFields(options.reconnect, RECONNECT_FIELDS, `${what}: reconnect`);
}

export function resolveOptions(input: string | RedisClientOptions = {}): ResolvedOptions {
  const options = readInput(input);
  refuseUnknownOptions(options);
  checkConnectionFields(options);
  const fromUrl = options.url === undefined ? undefined : parseRedisUrl(options.url);
  const tlsOption = options.tls ?? fromUrl?.tls ?? false;
  const { cluster, sentinel } = options;
  checkTopology(options);
  const minDelayMs = positiveInteger('reconnect.minDelayMs', options.reconnect?.minDelayMs, 50);
  const maxDelayMs = positiveInteger('reconnect.maxDelayMs', options.reconnect?.maxDelayMs, 2000);
  return {
    host: options.host ?? fromUrl?.host ?? '127.0.0.1',
    port: positiveInteger('port', options.port ?? fromUrl?.port, 6379),
    username: options.username ?? fromUrl?.username,
    password: options.password ?? fromUrl?.password,
    db: positiveInteger('db', options.db ?? fromUrl?.db, 0, 0),
    tls: tlsOption === false ? undefined : tlsOption === true ? {} : tlsOption,
    cluster: cluster === undefined ? undefined : resolveCluster(cluster),
    sentinel,
    commandTimeoutMs: positiveInteger('commandTimeoutMs', options.commandTimeoutMs, 5000),
    connectTimeoutMs: positiveInteger('connectTimeoutMs', options.connectTimeoutMs, 5000),
    minDelayMs,
    maxDelayMs: Math.max(minDelayMs, maxDelayMs),
    poolSize: positiveInteger('poolSize', options.poolSize, 4),
    clientName: options.clientName,
    logger: readLogger(options.logger, '[voelgoed:redis]'),
  };
}

/** The options as an object of their own (a URL becomes `{ url }`). */
function readInput(input: string | RedisClientOptions): RedisClientOptions {
  if (typeof input !== 'string' && (typeof input !== 'object' || input === null || Array.isArray(input))) {
    throw invalidArgument(
      `createRedisClient takes a redis:// URL or an options object, got ${kindOf(input)}`,
    );
  }
  return typeof input === 'string' ? { url: input } : { ...input };
}

/** The string fields and `tls` have the right types. */
function checkConnectionFields(options: RedisClientOptions): void {
  optionalString('url', options.url, false);
  optionalString('host', options.host, false);
  optionalString('username', options.username);
  optionalString('password', options.password);
  optionalString('clientName', options.clientName);
  if (
    options.tls !== undefined &&
    typeof options.tls !== 'boolean' &&
    (typeof options.tls !== 'object' || options.tls === null)
  ) {
    throw invalidArgument(`tls must be true, false or Node TLS options, got ${kindOf(options.tls)}`);
  }
}

/** `cluster` and `sentinel` are well formed, and not both given. */
function checkTopology({ cluster, sentinel }: RedisClientOptions): void {
  if (
    cluster !== undefined &&
    (typeof cluster !== 'object' ||
      cluster === null ||
      !Array.isArray(cluster.nodes) ||
      cluster.nodes.length === 0)
  ) {
    throw invalidArgument('cluster.nodes must list at least one seed node');
  }
  if (sentinel !== undefined) {
    if (typeof sentinel !== 'object' || sentinel === null)
      throw invalidArgument(`sentinel must be an object, got ${kindOf(sentinel)}`);
    if (typeof sentinel.name !== 'string' || sentinel.name === '')
      throw invalidArgument('sentinel.name is required');
    if (!Array.isArray(sentinel.sentinels) || sentinel.sentinels.length === 0) {
      throw invalidArgument('sentinel.sentinels must list at least one sentinel');
    }
    for (const [i, s] of sentinel.sentinels.entries()) parseAddress(s, `sentinel.sentinels[${i}]`);
  }
  if (cluster !== undefined && sentinel !== undefined)
    throw invalidArgument('give either cluster or sentinel, not both');
}

/** The seed nodes parsed, and the topology refresh period [30000 ms]. */
function resolveCluster(cluster: NonNullable<RedisClientOptions['cluster']>): ResolvedOptions['cluster'] {
  return {
    nodes: cluster.nodes.map((n, i) => parseAddress(n, `cluster.nodes[${i}]`)),
    topologyRefreshMs: positiveInteger('cluster.topologyRefreshMs', cluster.topologyRefreshMs, 30_000, 0),
  };
}

/** A description of the target that is safe to show: no user name, no password. */
export function describeTarget(options: ResolvedOptions): string {
  if (options.cluster) return `cluster(${options.cluster.nodes.map((n) => `${n.host}:${n.port}`).join(',')})`;
  if (options.sentinel) return `sentinel(${options.sentinel.name})`;
  return `${options.host}:${options.port}`;
}
