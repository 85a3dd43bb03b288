import { afterEach, describe, expect, it } from '@jest/globals';
import { ConnectionError, type JobCounts, type JobQueue } from '@voelgoed/contracts';
import { ManualClock, MemoryJobQueue } from '@voelgoed/contracts/memory';
import { createTelemetry, MetricNames, type Telemetry } from '../src/index.js';
import { find, parseExposition, type Sample, types, value } from './exposition.js';

// Queue depth and oldest-waiting age, sampled through counts() at each scrape, on the memory
// twin of the JobQueue port (the Redis queue's side is in @voelgoed/queue's
// test/gauges.integration.test.ts). Assertions are on the scraped text.

const START = 1_700_000_000_000;
const open: Telemetry[] = [];
const queues: JobQueue[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((t) => t.close()));
  await Promise.all(queues.splice(0).map((q) => q.close({ graceMs: 0 })));
});

function telemetry(options: Parameters<typeof createTelemetry>[0] = {}): Telemetry {
  const t = createTelemetry({ events: false, ...options });
  open.push(t);
  return t;
}

/** A memory queue that counts its counts() calls, and can be made to fail or hang them. */
class ObservedQueue extends MemoryJobQueue {
  calls = 0;
  mode: 'ok' | 'fail' | 'hang' = 'ok';
  #release: (() => void) | undefined;

  override async counts(): Promise<JobCounts> {
    this.calls++;
    if (this.mode === 'fail') throw new ConnectionError('[voelgoed:queue] the server is down');
    if (this.mode === 'hang') await new Promise<void>((resolve) => (this.#release = resolve));
    return super.counts();
  }

  /** Lets a hung counts() call finish. */
  release(): void {
    this.#release?.();
  }
}

function queue(name: string, clock = new ManualClock(START)): { queue: ObservedQueue; clock: ManualClock } {
  const q = new ObservedQueue(name, { clock });
  queues.push(q);
  return { queue: q, clock };
}

const DEPTH = MetricNames.queueDepth;
const AGE = MetricNames.queueOldestWaiting;
const ERRORS = MetricNames.queueObserveErrors;

async function scrape(t: Telemetry): Promise<Sample[]> {
  return parseExposition(await t.scrape());
}

/** The four depth samples and the age of `name`, as the scrape shows them. */
function shown(samples: Sample[], name: string) {
  return {
    waiting: value(samples, DEPTH, { queue: name, state: 'waiting' }),
    delayed: value(samples, DEPTH, { queue: name, state: 'delayed' }),
    active: value(samples, DEPTH, { queue: name, state: 'active' }),
    deadLettered: value(samples, DEPTH, { queue: name, state: 'dead_lettered' }),
    oldestWaitingSeconds: value(samples, AGE, { queue: name }),
  };
}

/** Polls `condition` (the memory queue works on timers) for up to 20 s. */
async function until(condition: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe('observeJobQueues: voelgoed_queue_depth and voelgoed_queue_oldest_waiting_seconds', () => {
  it('shows each queue by state and its oldest-waiting age in seconds, read at each scrape', async () => {
    const t = telemetry();
    const { queue: mail, clock } = queue('mail');
    const { queue: billing } = queue('billing');
    t.observeJobQueues([mail, billing]);

    await mail.enqueue('a');
    clock.advance(1000);
    await mail.enqueue('b', { priority: 'high' });
    await mail.enqueue('later', { delayMs: 60_000 });
    clock.advance(1500);

    await billing.enqueue('dies', { id: 'dies', attempts: 1 });
    await billing.enqueue('holds', { id: 'holds' });
    const worker = billing.process(
      (job) => {
        if (job.id === 'dies') throw new Error('boom');
        return new Promise<void>(() => undefined);
      },
      { concurrency: 2 },
    );
    await until(async () => {
      const c = await billing.counts();
      return c.deadLettered === 1 && c.active === 1;
    }, 'a dead letter and an active job');

    const text = await t.scrape();
    expect(types(text).get(DEPTH)).toBe('gauge');
    expect(types(text).get(AGE)).toBe('gauge');
    const samples = parseExposition(text);
    expect(shown(samples, 'mail')).toEqual({
      waiting: 2,
      delayed: 1,
      active: 0,
      deadLettered: 0,
      oldestWaitingSeconds: 2.5,
    });
    expect(shown(samples, 'billing')).toEqual({
      waiting: 0,
      delayed: 0,
      active: 1,
      deadLettered: 1,
      oldestWaitingSeconds: 0,
    });
    expect(find(samples, DEPTH)).toHaveLength(8);

    // The next scrape reads the queues again.
    clock.advance(58_500); // 'later' is due now
    await mail.enqueue('c');
    expect(shown(await scrape(t), 'mail')).toEqual({
      waiting: 4,
      delayed: 0,
      active: 0,
      deadLettered: 0,
      oldestWaitingSeconds: 61,
    });
    await worker.close({ graceMs: 0 });
  });

  it('queues past the label limit fold into __other__ with their depths summed and the oldest age of them', async () => {
    // Four distinct values per label (the state label needs all four): queues 5 and 6 fold.
    const t = telemetry({ maxLabelValues: 4 });
    const { queue: first, clock } = queue('first');
    const pads = ['pad2', 'pad3', 'pad4'].map((name) => queue(name, clock).queue);
    const { queue: second } = queue('second', clock);
    const { queue: third } = queue('third', clock);
    t.observeJobQueues([first, ...pads, second, third]);
    await first.enqueue('a');
    await second.enqueue('b');
    clock.advance(4000);
    await second.enqueue('c');
    await third.enqueue('d');
    await third.enqueue('e', { delayMs: 60_000 });
    clock.advance(1000);

    const samples = await scrape(t);
    expect(shown(samples, 'first')).toEqual({
      waiting: 1,
      delayed: 0,
      active: 0,
      deadLettered: 0,
      oldestWaitingSeconds: 5,
    });
    // second (2 waiting, oldest 5 s) and third (1 waiting, 1 delayed, oldest 1 s) together.
    expect(shown(samples, '__other__')).toEqual({
      waiting: 3,
      delayed: 1,
      active: 0,
      deadLettered: 0,
      oldestWaitingSeconds: 5,
    });
    // The same again at the next scrape (each collection starts from zero).
    expect(shown(await scrape(t), '__other__').waiting).toBe(3);
  });

  it('calls counts() once per queue per scrape (both gauges share it), and nothing between scrapes', async () => {
    const t = telemetry();
    const { queue: q } = queue('jobs');
    t.observeJobQueues([q]);
    for (let i = 0; i < 50; i++) await q.enqueue(i);
    expect(q.calls).toBe(0);
    await t.scrape();
    expect(q.calls).toBe(1);
    await t.scrape();
    expect(q.calls).toBe(2);
    expect(t.registry.getSingleMetric(DEPTH)).toBeDefined();
  });

  it('a failing counts() leaves only that queue out of the scrape, and is counted by error type', async () => {
    const t = telemetry();
    const { queue: down } = queue('down');
    const { queue: up } = queue('up');
    await up.enqueue('x');
    await down.enqueue('y');
    t.observeJobQueues([down, up]);
    down.mode = 'fail';
    let samples = await scrape(t);
    expect(find(samples, DEPTH, { queue: 'down' })).toEqual([]);
    expect(find(samples, AGE, { queue: 'down' })).toEqual([]);
    expect(shown(samples, 'up').waiting).toBe(1);
    // prom-client reads the counter while the gauges collect: a scrape shows the failures
    // counted before it, so this second scrape shows at least the first one.
    samples = await scrape(t);
    expect(find(samples, DEPTH, { queue: 'down' })).toEqual([]);
    expect(value(samples, ERRORS, { queue: 'down', error_type: 'CONNECTION' })).toBeGreaterThanOrEqual(1);
    expect(find(samples, ERRORS, { queue: 'up' })).toEqual([]);
    // Back up: its samples return.
    down.mode = 'ok';
    samples = await scrape(t);
    expect(shown(samples, 'down').waiting).toBe(1);
  });

  it('a counts() that does not answer is cut off by callbackTimeoutMs, counted as TIMEOUT, and not called again until it settles', async () => {
    const t = telemetry({ callbackTimeoutMs: 50 });
    const { queue: stuck } = queue('stuck');
    const { queue: fine } = queue('fine');
    await stuck.enqueue('x');
    t.observeJobQueues([stuck, fine]);
    stuck.mode = 'hang';
    for (let i = 0; i < 3; i++) {
      const samples = await scrape(t);
      expect(find(samples, DEPTH, { queue: 'stuck' })).toEqual([]);
      expect(shown(samples, 'fine').waiting).toBe(0);
    }
    expect(stuck.calls).toBe(1);
    expect(value(await scrape(t), ERRORS, { queue: 'stuck', error_type: 'TIMEOUT' })).toBeGreaterThanOrEqual(
      3,
    );
    stuck.mode = 'ok';
    stuck.release();
    await until(async () => {
      const samples = await scrape(t);
      return shown(samples, 'stuck').waiting === 1;
    }, 'the queue to answer again');
    expect(stuck.calls).toBeGreaterThanOrEqual(2);
  });

  it('registers nothing before the first call; observing again is harmless; the returned function stops observing', async () => {
    const t = telemetry({ prefix: 'app_' });
    expect(await t.scrape()).not.toContain('queue');
    const { queue: a } = queue('a');
    const { queue: b } = queue('b');
    const stopA = t.observeJobQueues([a]);
    const stopAB = t.observeJobQueues([a, b, b]);
    let samples = await scrape(t);
    expect(find(samples, `app_${DEPTH}`, { state: 'waiting' }).map((s) => s.labels.queue)).toEqual([
      'a',
      'b',
    ]);
    expect(a.calls).toBe(1);
    stopAB(); // added only b: a stays
    samples = await scrape(t);
    expect(find(samples, `app_${AGE}`).map((s) => s.labels.queue)).toEqual(['a']);
    stopA();
    samples = await scrape(t);
    expect(find(samples, `app_${DEPTH}`)).toEqual([]);
  });

  it('rejects what is not a list of queues, a second queue object of one name, and calls after close, with INVALID_ARGUMENT', async () => {
    const t = telemetry();
    const { queue: a } = queue('a');
    const { queue: twin } = queue('a');
    const bad: unknown[] = [
      undefined,
      a,
      'a',
      [null],
      [{ name: 'x' }],
      [{ name: '', counts: async () => ({}) }],
      [{ name: 7, counts: async () => ({}) }],
      [a, twin],
    ];
    for (const input of bad) {
      expect(() => t.observeJobQueues(input as JobQueue[])).toThrow(
        expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
      );
    }
    t.observeJobQueues([a]);
    expect(() => t.observeJobQueues([twin])).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    expect(a.calls).toBe(0);
    await t.close();
    expect(() => t.observeJobQueues([a])).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
  });
});
