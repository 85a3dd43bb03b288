import { fieldsOf, type Logger, readLogger, refuseUnknownFields } from '@voelgoed/contracts';
import type { RedisClient, RedisClientOptions } from '@voelgoed/redis';
import { checkSignal, readOptions } from './caller-input.js';
import { invalidArgument, MESSAGE_PREFIX } from './errors.js';

/** Options of {@link createRedisLock}. Give either `clients` or `urls`. Defaults in brackets. */
export interface RedisLockOptions {
  /** Connected clients, one per independent Redis master (or one for a Cluster/Sentinel). Not closed by `close()`. */
  clients?: readonly RedisClient[];
  /** One URL per independent Redis master; the lock manager creates the clients and closes them in `close()`. */
  urls?: readonly string[];
  /** Further options for the clients created from `urls` (timeouts, TLS, reconnect). */
  clientOptions?: Omit<RedisClientOptions, 'url' | 'cluster' | 'sentinel'>;
  /** Clock drift allowance as a fraction of the TTL; drift = ttl × driftFactor + 2 ms [0.01]. */
  driftFactor?: number;
  /** Default further attempts after the first [10]; `Infinity` waits until the signal aborts. */
  retries?: number;
  /** Default base wait between attempts, ms [100]. A release wakes waiters earlier (fast hand-off). */
  retryDelayMs?: number;
  /** Default random extra wait, 0..jitterMs [50]. */
  jitterMs?: number;
  /** Default TTL of `acquire` and `withLock`, ms [5000]. */
  ttlMs?: number;
  /**
   * Deadline of one call to one node, ms [500], from 1 to 2^31 - 1; never longer than the TTL. A
   * black-holed node costs at most this.
   */
  nodeTimeoutMs?: number;
  /** Prefix of every key [`lock:`]. Must not contain `{` or `}`. */
  prefix?: string;
  /** Pub/sub channel on which releases wake waiters [`voelgoed:lock:released`]. */
  channel?: string;
  /** Wake waiters through pub/sub when a lock is released [true]; false = polling only. A boolean. */
  fastHandoff?: boolean;
  /**
   * Waiters for a one-resource lock queue in arrival order, across processes, in a line kept on
   * one of the nodes; a release hands the lock to the head of the line [true]. false = every
   * waiter polls and races (plain Redlock). See the README's "Fair line".
   */
  fairLine?: boolean;
  /** Put a `{slot}` hash tag in the keys (needed on a Redis Cluster) ['auto': when a client is a Cluster client]. */
  hashTags?: boolean | 'auto';
  /** `withLock` renews the lock every ttl × renewFraction ms [1/3]. Between 0.05 and 0.9. */
  renewFraction?: number;
  /**
   * With `urls`: connections per node [2], an integer from 1 to 16. Locks are spread over them
   * by a hash of their first key (all commands of one lock use one), so that replies on one
   * connection are handled while the server works on the next batch from another.
   */
  connectionsPerNode?: number;
  /**
   * Where to log lost locks (warn: resource count, held ms, reason) and extensions no quorum
   * confirmed (warn); never a resource name or owner value [nothing is logged]. With `urls`, the
   * connections it makes log their reconnects there too (one connection per node).
   */
  logger?: Logger;
}

export interface ResolvedLockOptions {
  driftFactor: number;
  retries: number;
  retryDelayMs: number;
  jitterMs: number;
  ttlMs: number;
  nodeTimeoutMs: number;
  prefix: string;
  channel: string;
  fastHandoff: boolean;
  fairLine: boolean;
  hashTags: boolean | 'auto';
  renewFraction: number;
  connectionsPerNode: number;
  logger: Logger;
}

/** Longest TTL, ms: larger ones cannot be held exactly (and Redis refuses them past 2^63). */
export const MAX_TTL_MS = Number.MAX_SAFE_INTEGER;
/** Longest wait, ms: what a Node timer can hold (a longer one fires at once). */
export const MAX_DELAY_MS = 2 ** 31 - 1;

function finiteAtLeast(name: string, value: unknown, fallback: number, min: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min) {
    throw invalidArgument(`${name} must be a finite number >= ${min}, got ${describe(value)}`);
  }
  return value;
}

/** A retry count: an integer >= 0, or Infinity. */
function checkRetries(value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (value === Number.POSITIVE_INFINITY) return value;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
    throw invalidArgument(`retries must be an integer >= 0 or Infinity, got ${describe(value)}`);
  }
  return value;
}

/** A wait between attempts: 0 up to {@link MAX_DELAY_MS}. */
function checkDelay(name: string, value: unknown, fallback: number): number {
  const ms = finiteAtLeast(name, value, fallback, 0);
  if (ms > MAX_DELAY_MS) throw invalidArgument(`${name} must be at most 2^31 - 1 ms, got ${describe(ms)}`);
  return ms;
}

/**
 * A TTL: a positive finite number of ms up to 2^53 - 1, rounded up to a whole ms (PX takes
 * integers; `1e21` would go out as `1e+21`, which Redis refuses after the attempt).
 */
export function checkTtl(value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw invalidArgument(`ttlMs must be a positive finite number of ms, got ${describe(value)}`);
  }
  const ms = Math.ceil(value);
  if (ms > MAX_TTL_MS) throw invalidArgument(`ttlMs must be at most 2^53 - 1 ms, got ${describe(value)}`);
  return ms;
}

/** A node deadline: at least 1 ms, and at most what a Node timer holds (a longer one fires at once). */
function checkNodeTimeout(value: unknown): number {
  const ms = finiteAtLeast('nodeTimeoutMs', value, 500, 1);
  if (ms > MAX_DELAY_MS)
    throw invalidArgument(`nodeTimeoutMs must be at most 2^31 - 1 ms, got ${describe(ms)}`);
  return ms;
}

function checkBoolean(name: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean')
    throw invalidArgument(`${name} must be true or false, got ${describe(value)}`);
  return value;
}

/** `Array.isArray`, with a revoked Proxy (which makes it throw) an INVALID_ARGUMENT naming `name`. */
export function isArray(value: unknown, name: string): value is readonly unknown[] {
  try {
    return Array.isArray(value);
  } catch (error) {
    throw invalidArgument(`${name} could not be read`, error);
  }
}

function describe(value: unknown): string {
  return typeof value === 'number' || typeof value === 'boolean' || value == null
    ? String(value)
    : `a ${typeof value}`;
}

/**
 * The fields of {@link RedisLockOptions}: any other is refused (redlock's `retryCount`,
 * `retryDelay` or `automaticExtensionThreshold` would otherwise be dropped for our defaults).
 */
const LOCK_FIELDS = fieldsOf<RedisLockOptions>()([
  'clients',
  'urls',
  'clientOptions',
  'driftFactor',
  'retries',
  'retryDelayMs',
  'jitterMs',
  'ttlMs',
  'nodeTimeoutMs',
  'prefix',
  'channel',
  'fastHandoff',
  'fairLine',
  'hashTags',
  'renewFraction',
  'connectionsPerNode',
  'logger',
]);

/**
 * The fields of `createRedisLock`'s options, each read once (see caller-input.ts): a field that
 * cannot be read, or an unknown one, is INVALID_ARGUMENT. `clientOptions` is copied too, so that
 * reading it later (for every client) cannot throw.
 */
export function readLockOptions(options: RedisLockOptions): RedisLockOptions {
  const read = readOptions(options, LOCK_FIELDS, 'createRedisLock options') as RedisLockOptions;
  const { clientOptions } = read;
  if (clientOptions === undefined) return read;
  if (
    typeof clientOptions !== 'object' ||
    clientOptions === null ||
    isArray(clientOptions, 'clientOptions')
  ) {
    throw invalidArgument(`clientOptions must be an object, got ${describe(clientOptions)}`);
  }
  try {
    return { ...read, clientOptions: { ...clientOptions } };
  } catch (error) {
    throw invalidArgument('clientOptions could not be read', error);
  }
}

export function resolveLockOptions(options: RedisLockOptions): ResolvedLockOptions {
  refuseUnknownFields(options, LOCK_FIELDS, 'createRedisLock options', MESSAGE_PREFIX);
  const prefix = options.prefix ?? 'lock:';
  if (typeof prefix !== 'string' || /[{}]/.test(prefix)) {
    throw invalidArgument('prefix must be a string without { or }');
  }
  const channel = options.channel ?? 'voelgoed:lock:released';
  if (typeof channel !== 'string' || channel === '')
    throw invalidArgument('channel must be a non-empty string');
  const renewFraction = finiteAtLeast('renewFraction', options.renewFraction, 1 / 3, 0.05);
  if (renewFraction > 0.9) throw invalidArgument('renewFraction must be <= 0.9');
  const hashTags = options.hashTags ?? 'auto';
  if (hashTags !== 'auto' && typeof hashTags !== 'boolean')
    throw invalidArgument("hashTags must be true, false or 'auto'");
  const connectionsPerNode = options.connectionsPerNode ?? 2;
  if (!Number.isInteger(connectionsPerNode) || connectionsPerNode < 1 || connectionsPerNode > 16) {
    throw invalidArgument(
      `connectionsPerNode must be an integer from 1 to 16, got ${describe(connectionsPerNode)}`,
    );
  }
  return {
    connectionsPerNode,
    driftFactor: finiteAtLeast('driftFactor', options.driftFactor, 0.01, 0),
    retries: checkRetries(options.retries, 10),
    retryDelayMs: checkDelay('retryDelayMs', options.retryDelayMs, 100),
    jitterMs: checkDelay('jitterMs', options.jitterMs, 50),
    ttlMs: checkTtl(options.ttlMs, 5000),
    nodeTimeoutMs: checkNodeTimeout(options.nodeTimeoutMs),
    prefix,
    channel,
    fastHandoff: checkBoolean('fastHandoff', options.fastHandoff, true),
    fairLine: checkBoolean('fairLine', options.fairLine, true),
    hashTags,
    renewFraction,
    logger: readLogger(options.logger, '[voelgoed:lock]'),
  };
}

/** The fields of `acquire`'s options. */
const ACQUIRE_FIELDS = ['retries', 'retryDelayMs', 'jitterMs', 'signal'] as const;
/** The fields of `withLock`'s options. */
const WITH_LOCK_FIELDS = [...ACQUIRE_FIELDS, 'ttlMs', 'autoExtend'] as const;

/** Longest lease of a place in the fair line, ms: how long a waiter that died can hold up the line. */
const MAX_LEASE_MS = 5000;

/** How one `acquire` or `withLock` call takes its lock: its options over the manager's defaults, checked. */
export interface AcquirePolicy {
  ttlMs: number;
  retries: number;
  retryDelayMs: number;
  jitterMs: number;
  signal: AbortSignal | undefined;
  /** Lifetime of a waiter's marker, ms: it must outlive the waiter's sleep so that the release finds it. */
  waiterTtlMs: number;
  /**
   * Lease of a place in the fair line, ms: it outlives a few of the waiter's checks (one per retry
   * delay), no more. A waiter that died is skipped that much later, and never more than 5 s later
   * (a waiter that sleeps longer between checks is out of line meanwhile and comes back at its old place).
   */
  leaseMs: number;
  /** `withLock` only: renew the lock while its function runs. */
  autoExtend: boolean;
}

/** `acquire(resource, ttlMs, options)`: the TTL, then the options, checked. */
export function resolveAcquire(
  defaults: ResolvedLockOptions,
  ttlMs: unknown,
  options: unknown,
): AcquirePolicy {
  const ttl = checkTtl(ttlMs, defaults.ttlMs);
  return acquirePolicy(defaults, ttl, true, readOptions(options, ACQUIRE_FIELDS));
}

/** `withLock(resource, fn, options)`: the options, their TTL and `autoExtend` first, checked. */
export function resolveWithLock(defaults: ResolvedLockOptions, options: unknown): AcquirePolicy {
  const o = readOptions(options, WITH_LOCK_FIELDS);
  const ttl = checkTtl(o.ttlMs, defaults.ttlMs);
  const autoExtend = o.autoExtend ?? true;
  if (typeof autoExtend !== 'boolean') throw invalidArgument('autoExtend must be a boolean');
  return acquirePolicy(defaults, ttl, autoExtend, o);
}

function acquirePolicy(
  defaults: ResolvedLockOptions,
  ttlMs: number,
  autoExtend: boolean,
  options: Partial<Record<(typeof ACQUIRE_FIELDS)[number], unknown>>,
): AcquirePolicy {
  const retries = checkRetries(options.retries, defaults.retries);
  const retryDelayMs = checkDelay('retryDelayMs', options.retryDelayMs, defaults.retryDelayMs);
  const jitterMs = checkDelay('jitterMs', options.jitterMs, defaults.jitterMs);
  const signal = checkSignal(options.signal);
  const sleepMs = retryDelayMs + jitterMs;
  return {
    ttlMs,
    retries,
    retryDelayMs,
    jitterMs,
    signal,
    waiterTtlMs: Math.ceil(Math.max(250, 2 * sleepMs)),
    leaseMs: Math.ceil(Math.min(MAX_LEASE_MS, Math.max(1000, 4 * sleepMs))),
    autoExtend,
  };
}
