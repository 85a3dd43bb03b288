import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createRedisJobQueue, type RedisJobQueue } from '@voelgoed/queue';
import { createRedisClient, type RedisClient } from '@voelgoed/redis';
import { createTelemetry, MetricNames, type Telemetry } from '@voelgoed/telemetry';
import { type RedisServer, sleep, startRedis, stopAll } from '@voelgoed/testkit';

// @voelgoed/telemetry's job queue gauges on @voelgoed/queue's Redis queue (the two packages do
// not depend on each other; the demo has both): the scraped text while Redis answers, while it
// is paused (SIGSTOP: counts() never answers) and while it is down, and after it is back.

let server: RedisServer;
let client: RedisClient;
let queue: RedisJobQueue;
let telemetry: Telemetry;

beforeAll(async () => {
  server = await startRedis();
  client = createRedisClient({ url: server.url });
  await client.ready();
  queue = createRedisJobQueue(client, 'mail');
  // A time box of seconds: counts() must answer within it whenever Redis is up, on a loaded
  // machine too (event-loop stalls of up to ~0.5 s in full runs); only a paused Redis outlasts it.
  telemetry = createTelemetry({ events: false, callbackTimeoutMs: 2000 });
  telemetry.observeJobQueues([queue]);
}, 60_000);

afterAll(async () => {
  if (server?.paused) server.resume();
  await telemetry?.close();
  await queue?.close({ graceMs: 0 });
  await client?.close();
  await stopAll();
});

/** The value of the sample `name{labels}` in the exposition text (undefined when absent). */
function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  const want = Object.entries(labels)
    .map(([k, v]) => `${k}="${v}"`)
    .sort();
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)\{(.*)\} (\S+)$/.exec(line);
    if (match?.[1] !== name) continue;
    if ((match[2] ?? '').split(',').sort().join(',') === want.join(',')) return Number(match[3]);
  }
  return undefined;
}

const depth = (text: string, state: string) => sample(text, MetricNames.queueDepth, { queue: 'mail', state });
const age = (text: string) => sample(text, MetricNames.queueOldestWaiting, { queue: 'mail' });
const failures = (text: string) =>
  text
    .split('\n')
    .filter((line) => line.startsWith(`${MetricNames.queueObserveErrors}{`) && line.includes('queue="mail"'))
    .reduce((sum, line) => sum + Number(line.split(' ').pop()), 0);

describe('voelgoed_queue_depth and voelgoed_queue_oldest_waiting_seconds on a Redis queue', () => {
  it('shows the queue by state and its oldest-waiting age, and leaves it out (counted) while Redis is paused or down', async () => {
    const start = Date.now();
    await queue.enqueueMany([{ payload: 1 }, { payload: 2 }, { payload: 3, options: { priority: 'high' } }]);
    await queue.enqueue('later', { delayMs: 600_000 });
    await sleep(100);
    let text = await telemetry.scrape();
    const elapsed = Date.now() - start;
    expect(depth(text, 'waiting')).toBe(3);
    expect(depth(text, 'delayed')).toBe(1);
    expect(depth(text, 'active')).toBe(0);
    expect(depth(text, 'dead_lettered')).toBe(0);
    // The jobs have waited at least the sleep, at most the time since before the first enqueue.
    expect(age(text)).toBeGreaterThanOrEqual(0.095);
    expect(age(text)).toBeLessThanOrEqual((elapsed + 5) / 1000);

    // Paused: counts() does not answer; the scrape still does, without the queue's samples.
    server.pause();
    text = await telemetry.scrape();
    expect(depth(text, 'waiting')).toBeUndefined();
    expect(age(text)).toBeUndefined();
    text = await telemetry.scrape();
    expect(
      sample(text, MetricNames.queueObserveErrors, { queue: 'mail', error_type: 'TIMEOUT' }),
    ).toBeGreaterThanOrEqual(1);
    server.resume();
    const deadline = Date.now() + 60_000;
    while (depth(text, 'waiting') !== 3) {
      if (Date.now() > deadline) throw new Error('the queue did not show again after Redis resumed');
      await sleep(50);
      text = await telemetry.scrape();
    }

    // Down: the scrape answers, the queue is left out and counted (whatever the client's error).
    await server.kill();
    const before = failures(text);
    text = await telemetry.scrape();
    expect(depth(text, 'waiting')).toBeUndefined();
    text = await telemetry.scrape();
    expect(depth(text, 'waiting')).toBeUndefined();
    expect(failures(text)).toBeGreaterThan(before);
    expect(text).toContain('# TYPE voelgoed_queue_depth gauge');
  }, 120_000);
});
