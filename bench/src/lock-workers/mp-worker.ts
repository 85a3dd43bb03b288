// One worker process of the multi-process contention scenario (see multiprocess.ts), started by
// the parent with fork(): its own lock manager (ours, or redlock on ioredis) over the same
// masters, contending for one resource in a loop. Each section holds the lock for a seeded
// random 0..holdMaxMs, then releases; the worker re-acquires at once. Every timestamp is read from
// process.hrtime (CLOCK_MONOTONIC, one clock for every process on the machine), so the parent can
// merge the logs of all workers. Protocol on the IPC channel: worker → `ready` once connected;
// parent → `go` (startAt, stopAt); worker → `done` (its log) after stopAt, then exits.
import { createRequire } from 'node:module';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  type AcquireRecord,
  clockMs,
  type FailureRecord,
  type ParentMessage,
  seededRandom,
  type WorkerConfig,
  type WorkerMessage,
} from './mp-protocol.ts';

interface WorkerLock {
  /** Waits until held (retries unlimited); resolves with a release that tells whether it succeeded. */
  acquire(resource: string, signal: AbortSignal): Promise<() => Promise<boolean>>;
  close(): Promise<void>;
}

async function oursLock(config: WorkerConfig): Promise<WorkerLock> {
  const { createRedisLock } = await import('@voelgoed/lock');
  // `fairLine` is the option issue 15 adds; until the lock knows it, it is ignored.
  const extra: Record<string, unknown> = config.kind === 'ours-unfair' ? { fairLine: false } : {};
  const locks = createRedisLock({ urls: config.urls, ...extra } as Parameters<typeof createRedisLock>[0]);
  return {
    acquire: async (resource, signal) => {
      const lock = await locks.acquire(resource, config.ttlMs, {
        retries: Number.POSITIVE_INFINITY,
        signal,
      });
      return () => lock.release();
    },
    close: () => locks.close(),
  };
}

interface PeerLock {
  readonly value: string;
}
interface PeerRedlock {
  acquire(resources: string[], duration: number): Promise<PeerLock>;
  release(lock: PeerLock, settings?: Record<string, number>): Promise<unknown>;
  quit(): Promise<void>;
}
type PeerRedlockCtor = new (clients: unknown[], settings?: Record<string, number>) => PeerRedlock;

async function redlockLock(config: WorkerConfig): Promise<WorkerLock> {
  const { Redis } = await import('ioredis');
  // redlock 5's package has no types export under NodeNext (TS7016): load its CJS build untyped.
  const Redlock = (createRequire(import.meta.url)('redlock') as { default: PeerRedlockCtor }).default;
  const clients = config.servers.map((s) => new Redis({ host: s.host, port: s.port }));
  await Promise.all(clients.map((c) => c.ping()));
  // retryCount -1 is redlock's "unlimited"; retryDelay 200 and retryJitter 100 stay its defaults.
  const peer = new Redlock(clients, { retryCount: -1 });
  return {
    acquire: async (resource) => {
      const lock = await peer.acquire([resource], config.ttlMs);
      // Release once (redlock would otherwise retry a failed release with the acquire's
      // unlimited retry count); a failure is counted.
      return () =>
        peer.release(lock, { retryCount: 0 }).then(
          () => true,
          () => false,
        );
    },
    close: async () => {
      await peer.quit().catch(() => {});
      for (const c of clients) c.disconnect();
    },
  };
}

async function main(): Promise<void> {
  // The parent is gone (it failed or was stopped): nobody reads the log, so do not linger.
  process.once('disconnect', () => process.exit(1));
  const config = JSON.parse(process.argv[2] ?? '{}') as WorkerConfig;
  const send = (message: WorkerMessage) =>
    new Promise<void>((resolve) => {
      process.send?.(message, undefined, {}, () => resolve());
    });
  const lock = config.kind === 'redlock' ? await redlockLock(config) : await oursLock(config);
  // One uncontended lock on a resource of this worker's own opens every connection before `go`.
  const warm = new AbortController();
  await (await lock.acquire(`${config.resource}:warm:${config.index}`, warm.signal))();
  const go = await new Promise<ParentMessage>((resolve) => {
    process.once('message', (m) => resolve(m as ParentMessage));
    void send({ type: 'ready' });
  });
  const random = seededRandom(config.seed);
  const records: AcquireRecord[] = [];
  const failures: FailureRecord[] = [];
  let releaseFailures = 0;
  const stop = new AbortController();
  const stopped = new Promise<'stopped'>((resolve) => {
    const t = setTimeout(
      () => {
        stop.abort();
        resolve('stopped');
      },
      Math.max(0, go.stopAt - clockMs()),
    );
    t.unref();
  });
  await sleep(Math.max(0, go.startAt - clockMs()));
  while (clockMs() < go.stopAt) {
    const start = clockMs();
    const pending = lock.acquire(config.resource, stop.signal);
    const outcome = await Promise.race([pending, stopped]).catch((error: unknown) => error);
    if (outcome === 'stopped') {
      records.push([start]); // still waiting at stopAt: censored
      // A grant after stopAt is released at once (redlock cannot be aborted).
      pending.then((release) => release()).catch(() => {});
      break;
    }
    if (typeof outcome !== 'function') {
      if (stop.signal.aborted) {
        records.push([start]);
        break;
      }
      const code = (outcome as { code?: unknown }).code;
      failures.push({ start, at: clockMs(), code: typeof code === 'string' ? code : String(outcome) });
      await sleep(10); // retries are unlimited, so this is an error: do not spin on it
      continue;
    }
    const granted = clockMs();
    await sleep(random() * config.holdMaxMs);
    const releaseCalled = clockMs();
    if (!(await outcome())) releaseFailures++;
    records.push([start, granted, releaseCalled, clockMs()]);
  }
  await send({ type: 'done', index: config.index, records, failures, releaseFailures });
  await Promise.race([lock.close(), sleep(2000)]);
  process.exit(0);
}

main().catch((error: unknown) => {
  const index = (JSON.parse(process.argv[2] ?? '{}') as Partial<WorkerConfig>).index ?? -1;
  const message = error instanceof Error ? error.message : String(error);
  process.send?.({ type: 'error', index, message } satisfies WorkerMessage, undefined, {}, () =>
    process.exit(1),
  );
});
