import { randomUUID } from 'node:crypto';
import { tracingChannel } from 'node:diagnostics_channel';
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { Channels, type QueueJobEvent, subscribe } from '@voelgoed/contracts';
import { createRedisClient, keySlot, type RedisClient } from '@voelgoed/redis';
import { type RedisServer, startRedis, stopAll, until } from '@voelgoed/testkit';
import { createRedisJobQueue, isInfrastructureError, type RedisJobQueue } from '../src/index.js';
import { fetchScript } from '../src/scripts.js';

let server: RedisServer;
let client: RedisClient;
const queues: RedisJobQueue[] = [];

beforeAll(async () => {
  server = await startRedis();
  client = createRedisClient({ url: server.url });
  await client.ready();
}, 60_000);

afterEach(async () => {
  await Promise.all(queues.splice(0).map((q) => q.close({ graceMs: 0 })));
});

afterAll(async () => {
  await client?.close();
  await stopAll();
});

function queue(options?: Parameters<typeof createRedisJobQueue>[2]): RedisJobQueue {
  const q = createRedisJobQueue(client, `q-${randomUUID()}`, options);
  queues.push(q);
  return q;
}

describe('payloads and keys', () => {
  it('delivers bytes (all 256 values) and JSON unchanged, and keeps every key of a queue in one slot', async () => {
    const q = queue({ retentionMs: 60_000 });
    const bytes = Buffer.from(Array.from({ length: 512 }, (_, i) => i % 256));
    const json = { text: 'zoë ☃ \u0000', list: [1, null, true], nested: { n: -1.5 } };
    await q.enqueue(bytes, { id: 'bytes' });
    await q.enqueue(json, { id: 'json' });
    await q.enqueue('fails', { id: 'dead', attempts: 1 });
    await q.enqueue('later', { id: 'later', delayMs: 600_000 });
    const seen = new Map<string, unknown>();
    const worker = q.process((job) => {
      if (job.id === 'dead') throw new Error('boom');
      seen.set(job.id, job.payload);
    });
    await until(async () => (await q.counts()).deadLettered === 1 && seen.size === 2, { timeoutMs: 30_000 });
    await worker.close();
    expect(Buffer.isBuffer(seen.get('bytes'))).toBe(true);
    expect((seen.get('bytes') as Buffer).equals(bytes)).toBe(true);
    expect(seen.get('json')).toEqual(json);
    expect(await q.deadLetters()).toMatchObject([
      { id: 'dead', payload: 'fails', attempts: 1, error: { message: 'boom' } },
    ]);

    const keys = (await client.command(['KEYS', `*${q.name}*`])) as string[];
    expect(keys.length).toBeGreaterThanOrEqual(5);
    expect(new Set(keys.map((k) => keySlot(k))).size).toBe(1);
  }, 60_000);
});

/**
 * Counts this queue's fetch calls on node-redis's command channel (which the client's own
 * connection publishes): how many are in flight at most, and how many asked for jobs.
 */
function watchFetches(q: RedisJobQueue, onStart?: (inFlight: number) => void) {
  const seen = { inFlight: 0, maxInFlight: 0, taking: 0 };
  const fetchOf = (ctx: unknown) => {
    const { command, args } = ctx as { command?: string; args?: readonly unknown[] };
    return command === 'EVALSHA' && args?.[1] === fetchScript.sha1 && String(args[3]).includes(q.name);
  };
  // Its arguments: EVALSHA sha numkeys key… jobPrefix wakeChannel take …
  const takes = (ctx: unknown) => {
    const args = (ctx as { args: readonly unknown[] }).args;
    return Number(args[3 + Number(args[2]) + 2]) > 0;
  };
  const handlers = {
    start: (ctx: unknown) => {
      if (!fetchOf(ctx)) return;
      seen.maxInFlight = Math.max(seen.maxInFlight, ++seen.inFlight);
      if (takes(ctx)) seen.taking++;
      onStart?.(seen.inFlight);
    },
    asyncEnd: (ctx: unknown) => {
      if (fetchOf(ctx)) seen.inFlight--;
    },
    error: () => {},
    end: () => {},
    asyncStart: () => {},
  };
  const commands = tracingChannel('node-redis:command');
  commands.subscribe(handlers);
  return { seen, stop: () => commands.unsubscribe(handlers) };
}

describe('fetching', () => {
  it('splits the slots between two fetches in flight: never more running than the concurrency, each job once', async () => {
    const q = queue();
    const total = 700;
    await q.enqueueMany(Array.from({ length: total }, (_, i) => ({ payload: i })));
    // The worker's two fetchers both send at its start.
    const fetches = watchFetches(q);
    const runs = new Map<number, number>();
    let running = 0;
    let maxRunning = 0;
    // The first handlers wait until all 7 slots are busy (at most 10 s), so filling every slot
    // does not hang on timing: a worker that never runs 7 at once fails the check below.
    let allBusy!: () => void;
    const busy = new Promise<void>((resolve) => {
      allBusy = resolve;
    });
    const giveUp = setTimeout(allBusy, 10_000);
    try {
      const worker = q.process(
        async (job) => {
          maxRunning = Math.max(maxRunning, ++running);
          if (running === 7) allBusy();
          if (maxRunning < 7) await busy;
          const n = job.payload as number;
          runs.set(n, (runs.get(n) ?? 0) + 1);
          // Handlers of mixed length, so slots free at different times, one or many at once.
          if (n % 3 === 1) await new Promise((resolve) => setImmediate(resolve));
          if (n % 3 === 2) await new Promise((resolve) => setTimeout(resolve, n % 4));
          running--;
        },
        { concurrency: 7 },
      );
      await q.drain({ timeoutMs: 60_000 });
      await worker.close();
    } finally {
      clearTimeout(giveUp);
      fetches.stop();
    }
    expect(maxRunning).toBe(7);
    expect(runs.size).toBe(total);
    expect([...runs.values()].every((count) => count === 1)).toBe(true);
    expect(fetches.seen.maxInFlight).toBeGreaterThanOrEqual(2);
    expect(await q.counts()).toMatchObject({ waiting: 0, active: 0, deadLettered: 0 });
  }, 90_000);

  it('a worker closed while both fetches are in flight hands their jobs back: none left active, none lost', async () => {
    const q = queue({ leaseMs: 60_000 });
    const total = 300;
    await q.enqueueMany(Array.from({ length: total }, (_, i) => ({ payload: i })));
    // Closed as soon as both fetchers' calls are sent: their jobs come back after the stop.
    let closed: Promise<void> | undefined;
    const fetches = watchFetches(q, (inFlight) => {
      if (inFlight === 2) queueMicrotask(() => (closed ??= first.close({ graceMs: 0 })));
    });
    const first = q.process(() => undefined, { concurrency: 100 });
    await until(() => closed !== undefined, { timeoutMs: 30_000 });
    await closed;
    fetches.stop();
    expect(fetches.seen.maxInFlight).toBe(2);
    // Nothing stays leased to the closed worker (a lease of a minute would hold it that long).
    expect((await q.counts()).active).toBe(0);
    const seen = new Set<number>();
    const second = q.process(
      (job) => {
        seen.add(job.payload as number);
      },
      { concurrency: 100 },
    );
    await q.drain({ timeoutMs: 60_000 });
    await second.close();
    expect(seen.size).toBe(total);
    expect(await q.counts()).toMatchObject({ waiting: 0, active: 0, deadLettered: 0 });
  }, 90_000);

  it('an idle worker makes one fetch per wake-up, not one per fetcher', async () => {
    const q = queue();
    const done: string[] = [];
    const worker = q.process(
      (job) => {
        done.push(job.id);
      },
      { concurrency: 100 },
    );
    // First job: both fetchers have fetched and found the queue short; then they rest.
    await q.enqueue('first');
    await until(() => done.length === 1, { timeoutMs: 30_000 });
    await q.drain({ timeoutMs: 30_000 });
    const fetches = watchFetches(q);
    try {
      for (let i = 0; i < 5; i++) {
        await q.enqueue(`job ${i}`);
        await until(() => done.length === 2 + i, { timeoutMs: 30_000 });
        await q.drain({ timeoutMs: 30_000 });
      }
    } finally {
      fetches.stop();
    }
    await worker.close();
    expect(fetches.seen.taking).toBe(5);
  }, 60_000);
});

describe('telemetry', () => {
  it('publishes enqueued, started, failed, retried, completed, dead-lettered and lease-lost events', async () => {
    const events: QueueJobEvent[] = [];
    const q = queue({ leaseMs: 3_000 });
    const off = subscribe(Channels.queueJob, (e) => {
      if (e.queue === q.name) events.push(e);
    });
    try {
      await q.enqueue('flaky', { attempts: 2, backoff: { initialMs: 0 } });
      await q.enqueue('broken', { attempts: 1 });
      const { id: heldId } = await q.enqueue('held');
      let flaky = 0;
      const reasons: unknown[] = [];
      const heldTokens: number[] = [];
      const worker = q.process(
        async (job) => {
          if (job.payload === 'flaky' && flaky++ === 0)
            throw Object.assign(new Error('once'), { code: 'E_ONCE' });
          if (job.payload === 'broken') throw new Error('always');
          if (job.payload === 'held') heldTokens.push(job.deliveryToken);
          if (job.payload === 'held' && heldTokens.length === 1) {
            // Lapse this delivery's lease as a stalled worker's would: its next renewal finds it gone.
            await client.command(['ZADD', `{queue:${q.name}}:active`, 'XX', 0, job.id]);
            await new Promise((resolve) => job.signal.addEventListener('abort', resolve, { once: true }));
            reasons.push(job.signal.reason);
          }
        },
        { concurrency: 3 },
      );
      await q.drain({ timeoutMs: 60_000 });
      await worker.close();
      expect(isInfrastructureError(reasons[0], 'LOCK_LOST')).toBe(true);
      expect(heldTokens).toHaveLength(2);
      expect(heldTokens[1]).toBeGreaterThan(heldTokens[0]!);
      expect(await q.getJob(heldId)).toMatchObject({
        state: 'completed',
        deliveryToken: heldTokens[1],
        failures: 0,
      });
      const kinds = events.map((e) => e.event);
      expect(kinds.filter((k) => k === 'enqueued')).toHaveLength(3);
      expect(kinds.filter((k) => k === 'completed')).toHaveLength(2);
      expect(kinds.filter((k) => k === 'lease_lost')).toHaveLength(1);
      expect(kinds.filter((k) => k === 'dead_lettered')).toHaveLength(1);
      expect(
        events
          .filter((e) => e.event === 'failed')
          .map((e) => e.errorCode)
          .sort(),
      ).toEqual(['E_ONCE', 'UNKNOWN']);
      expect(events.filter((e) => e.event === 'retried')).toMatchObject([{ attempt: 1, delayMs: 0 }]);
      expect(kinds.filter((k) => k === 'started')).toHaveLength(5);
    } finally {
      off();
    }
  }, 60_000);
});

describe('bad input', () => {
  it('rejects INVALID_ARGUMENT before any command is sent', async () => {
    let commands = 0;
    const off = subscribe(Channels.redisCommand, () => {
      commands++;
    });
    try {
      const bad = (fn: () => unknown) => {
        let error: unknown;
        try {
          fn();
        } catch (e) {
          error = e;
        }
        expect(isInfrastructureError(error, 'INVALID_ARGUMENT')).toBe(true);
      };
      for (const name of ['', 'x'.repeat(257), 'a{b}', 'a\ud800', 7, undefined]) {
        bad(() => createRedisJobQueue(client, name as string));
      }
      bad(() => createRedisJobQueue({} as RedisClient, 'q'));
      for (const options of [
        { leaseMs: 999 },
        { leaseMs: 1500.5 },
        { leaseMs: '30000' },
        { maxPayloadBytes: 0 },
        { retentionMs: -1 },
        'options',
        new Proxy(
          {},
          {
            get: () => {
              throw new Error('trap');
            },
          },
        ),
      ]) {
        bad(() => createRedisJobQueue(client, 'q', options as never));
      }
      const q = queue({ maxPayloadBytes: 10 });
      await expect(q.enqueue('x'.repeat(20))).rejects.toMatchObject({ code: 'PAYLOAD_TOO_LARGE' });
      // Counted in UTF-8 bytes, not characters: "€€€€" is 6 characters and 14 bytes of JSON.
      await expect(q.enqueue('€€€€')).rejects.toMatchObject({ code: 'PAYLOAD_TOO_LARGE' });
      await expect(
        q.enqueueMany([{ payload: 1 }, { payload: 2, options: { delayMs: -1 } }]),
      ).rejects.toMatchObject({
        code: 'INVALID_ARGUMENT',
      });
      expect(commands).toBe(0);
      const worker = q.process(() => undefined);
      await expect(worker.close({ graceMs: -1 })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
      await worker.close();
      // Nothing of the rejected enqueues was stored.
      expect(await q.counts()).toEqual({
        waiting: 0,
        delayed: 0,
        active: 0,
        deadLettered: 0,
        oldestWaitingMs: 0,
      });
    } finally {
      off();
    }
  }, 30_000);
});
