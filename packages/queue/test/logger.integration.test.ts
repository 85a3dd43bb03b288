import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it, jest } from '@jest/globals';
import type { Logger } from '@voelgoed/contracts';
import { createRedisClient, type RedisClient } from '@voelgoed/redis';
import { captureLogger, type RedisServer, startRedis, stopAll, waitFor } from '@voelgoed/testkit';
import { createRedisJobQueue, type RedisJobQueue, type RedisJobQueueOptions } from '../src/index.js';

/** Blocks this process's event loop, like a GC pause or a stopped VM. */
function stall(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

const aborted = (signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    if (signal.aborted) resolve();
    else signal.addEventListener('abort', () => resolve(), { once: true });
  });

const PAYLOAD_SECRET = 'payload-card-4242-secret';

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

function queue(options: RedisJobQueueOptions = {}): RedisJobQueue<{ card: string }> {
  const q = createRedisJobQueue<{ card: string }>(client, `logger-${randomUUID()}`, options);
  queues.push(q as RedisJobQueue);
  return q;
}

const declined = () => Object.assign(new Error(`declined ${PAYLOAD_SECRET}`), { code: 'CARD_DECLINED' });

describe('queue logger', () => {
  it('warns when a job that always fails with attempts 1 is dead-lettered; no payload or error message', async () => {
    const { logger, lines } = captureLogger();
    const q = queue({ logger });
    q.process(async () => {
      throw declined();
    });
    const { id } = await q.enqueue({ card: PAYLOAD_SECRET }, { attempts: 1 });
    await waitFor('the dead-letter line', async () => (lines.length > 0 ? true : undefined));
    expect(lines).toEqual([
      {
        level: 'warn',
        obj: { queue: q.name, jobId: id, attempts: 1, errorCode: 'CARD_DECLINED' },
        msg: 'job dead-lettered',
      },
    ]);
    expect((await q.getJob(id))?.state).toBe('dead-lettered');
    expect(JSON.stringify(lines)).not.toContain(PAYLOAD_SECRET);
  });

  it('logs a failed attempt that is retried (info), then the dead letter', async () => {
    const { logger, lines } = captureLogger();
    const q = queue({ logger });
    q.process(async () => {
      throw declined();
    });
    const { id } = await q.enqueue({ card: PAYLOAD_SECRET }, { attempts: 2, backoff: { initialMs: 10 } });
    await waitFor('the dead-letter line', async () =>
      lines.some((l) => l.msg === 'job dead-lettered') ? true : undefined,
    );
    expect(lines.map((l) => [l.level, l.msg])).toEqual([
      ['info', 'job handler failed, retrying'],
      ['warn', 'job dead-lettered'],
    ]);
    expect(lines[0]?.obj).toMatchObject({ queue: q.name, jobId: id, attempt: 1, errorCode: 'CARD_DECLINED' });
    expect(lines[1]?.obj).toMatchObject({ attempts: 2 });
  });

  it('warns "job lease lost" when a stalled handler outlives its lease', async () => {
    const { logger, lines } = captureLogger();
    const q = queue({ logger, leaseMs: 1_000 });
    q.process(async (job) => {
      stall(3_500); // the lease is 1 s: more than two seconds of slack past it
      await aborted(job.signal);
    });
    const { id } = await q.enqueue({ card: PAYLOAD_SECRET });
    await waitFor('the lease-lost line', async () =>
      lines.some((l) => l.msg === 'job lease lost') ? true : undefined,
    );
    expect(lines.find((l) => l.msg === 'job lease lost')).toMatchObject({
      level: 'warn',
      obj: { queue: q.name, jobId: id, attempt: 1, reason: expect.any(String) },
    });
    expect(JSON.stringify(lines)).not.toContain(PAYLOAD_SECRET);
  }, 30_000);

  it('warns when a worker is closed with a job still running past its grace', async () => {
    const { logger, lines } = captureLogger();
    const q = queue({ logger });
    let started = false;
    const worker = q.process(async (job) => {
      started = true;
      await aborted(job.signal);
    });
    await q.enqueue({ card: PAYLOAD_SECRET });
    await waitFor('the job to start', async () => (started ? true : undefined));
    await worker.close({ graceMs: 50 });
    expect(lines).toEqual([
      {
        level: 'warn',
        obj: { queue: q.name, graceMs: 50, running: 1 },
        msg: 'worker close grace exceeded, handing running jobs back',
      },
    ]);
  });

  it('dead-letters the same way when the logger throws', async () => {
    let calls = 0;
    const boom = () => {
      calls += 1;
      throw new Error('logger down');
    };
    const q = queue({ logger: { debug: boom, info: boom, warn: boom, error: boom } });
    q.process(async () => {
      throw declined();
    });
    const { id } = await q.enqueue({ card: 'x' }, { attempts: 1 });
    await waitFor('the dead letter', async () =>
      (await q.getJob(id))?.state === 'dead-lettered' ? true : undefined,
    );
    expect(calls).toBe(1);
    const { id: next } = await q.enqueue({ card: 'y' }, { attempts: 1 });
    await waitFor('the next dead letter', async () =>
      (await q.getJob(next))?.state === 'dead-lettered' ? true : undefined,
    );
  });

  it('logs nothing by default and refuses a logger that is not one', async () => {
    expect(() => queue({ logger: { warn() {} } as unknown as Logger })).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    );
    const spies = (['debug', 'info', 'log', 'warn', 'error'] as const).map((m) =>
      jest.spyOn(console, m).mockImplementation(() => {}),
    );
    try {
      const q = queue();
      q.process(async () => {
        throw declined();
      });
      const { id } = await q.enqueue({ card: 'x' }, { attempts: 1 });
      await waitFor('the dead letter', async () =>
        (await q.getJob(id))?.state === 'dead-lettered' ? true : undefined,
      );
      for (const spy of spies) expect(spy).not.toHaveBeenCalled();
    } finally {
      for (const spy of spies) spy.mockRestore();
    }
  });
});
