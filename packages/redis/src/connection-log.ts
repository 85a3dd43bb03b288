import type { Logger } from '@voelgoed/contracts';

/**
 * What the Redis client tells an operator's logger about its connections: lost, reconnect
 * attempts, reconnected, gave up; per node in a Cluster, and a Sentinel failover. Never a
 * command, a key, a password or an error message (only an error code): a message may quote
 * what the server was sent.
 */

const CODE = /^[A-Za-z][\w.-]{0,63}$/;

/** A short, safe code for an error: its `code` (or its cause's), else its class name. */
export function errorCode(error: unknown): string {
  try {
    for (let e = error, depth = 0; typeof e === 'object' && e !== null && depth < 3; depth++) {
      const code = (e as { code?: unknown }).code;
      if (typeof code === 'string' && CODE.test(code)) return code;
      e = (e as { cause?: unknown }).cause;
    }
    const name = (error as { name?: unknown } | null)?.name;
    return typeof name === 'string' && CODE.test(name) ? name : 'ERROR';
  } catch {
    return 'ERROR';
  }
}

/** Failed attempts after the first few are logged every tenth, so an outage stays a few lines. */
function worthLogging(attempt: number): boolean {
  return attempt <= 3 || attempt % 10 === 0;
}

/** The up/down story of one connection target (the client's, or one Cluster node's). */
export class ConnectionLog {
  readonly #logger: Logger;
  readonly #target: string;
  #everUp = false;
  #down = false;
  #attempts = 0;
  #since = 0;
  #lastCode: string | undefined;

  constructor(logger: Logger, target: string) {
    this.#logger = logger;
    this.#target = target;
  }

  /** An error while not connected: the first one after being up is the loss, later ones failed attempts. */
  error(error: unknown): void {
    const code = errorCode(error);
    this.#lastCode = code;
    // Before the first connection, failures reach the callers waiting for it: nothing was lost.
    if (!this.#everUp) return;
    if (!this.#down) {
      this.#down = true;
      this.#attempts = 0;
      this.#since = Date.now();
      this.#logger.warn({ target: this.#target, error: code }, 'redis connection lost, reconnecting');
      return;
    }
    this.#attempts += 1;
    if (worthLogging(this.#attempts)) {
      this.#logger.info(
        { target: this.#target, attempt: this.#attempts, error: code },
        'redis reconnect attempt failed',
      );
    }
  }

  /** A node-redis `reconnecting` event: a loss if it was up (node-redis may report no error first). */
  reconnecting(): void {
    if (!this.#down) this.error({ code: 'CONNECTION_LOST' });
  }

  /** Connected (again). */
  ready(): void {
    this.#everUp = true;
    if (!this.#down) return;
    this.#down = false;
    this.#logger.info(
      { target: this.#target, attempts: this.#attempts + 1, downMs: Date.now() - this.#since },
      'redis reconnected',
    );
  }

  /** The connection will not be retried although nobody closed it. */
  gaveUp(): void {
    this.#logger.error(
      { target: this.#target, attempts: this.#attempts, error: this.#lastCode ?? 'ERROR' },
      'redis gave up reconnecting',
    );
  }
}

interface NodeInfo {
  host?: unknown;
  port?: unknown;
}

type Listener = (...args: never[]) => void;
/** node-redis's Cluster and Sentinel objects, seen only as the event emitters they are. */
export interface EventSource {
  on(event: string, listener: Listener): unknown;
}

const nodeTarget = (info: NodeInfo | undefined): string =>
  `${String(info?.host ?? '?')}:${String(info?.port ?? '?')}`;

/** Logs each Cluster node's losses and reconnects (node-redis's `node-*` events). */
export function logClusterNodes(cluster: EventSource, logger: Logger): void {
  const nodes = new Map<string, ConnectionLog>();
  const log = (info: NodeInfo | undefined): ConnectionLog => {
    const target = nodeTarget(info);
    let entry = nodes.get(target);
    if (entry === undefined) {
      entry = new ConnectionLog(logger, target);
      nodes.set(target, entry);
    }
    return entry;
  };
  cluster.on('node-error', ((error: unknown, info: NodeInfo) => log(info).error(error)) as Listener);
  cluster.on('node-reconnecting', ((info: NodeInfo) => log(info).reconnecting()) as Listener);
  cluster.on('node-ready', ((info: NodeInfo) => log(info).ready()) as Listener);
}

/**
 * Logs a Sentinel group's master changes (a failover) as node-redis reports them; the first
 * master found at connect is no change.
 */
export function logSentinelTopology(sentinel: EventSource, logger: Logger, name: string): void {
  let master: string | undefined;
  sentinel.on('topology-change', ((event: { type?: unknown; node?: NodeInfo }) => {
    if (event?.type !== 'MASTER_CHANGE') return;
    const previous = master;
    master = nodeTarget(event.node);
    if (previous !== undefined && previous !== master) {
      logger.warn({ target: `sentinel(${name})`, master, previous }, 'redis sentinel master changed');
    }
  }) as Listener);
}
