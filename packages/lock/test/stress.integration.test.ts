import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { type RedisGroup, type RedisServer, startRedis, startRedisGroup, stopAll } from '@voelgoed/testkit';
import { FairLine } from '../src/fair-line.js';
import { lockKeys } from '../src/keys.js';
import { analyse, diagnostics, runWorkerProcess, type WorkerConfig } from './run-workers.js';

/** A resource name (with `base` in it) whose fair line lives on node `node` of `n`. */
function resourceWithLineOn(base: string, node: number, n: number): string {
  const line = new FairLine(n);
  for (let i = 0; ; i++) {
    const resource = `${base}:${i}`;
    if (line.nodeOf(lockKeys('lock:', [resource], false)) === node) return resource;
  }
}

let group: RedisGroup;
let counter: RedisServer;

beforeAll(async () => {
  [group, counter] = await Promise.all([startRedisGroup(5), startRedis()]);
});

afterAll(async () => {
  for (const s of group?.servers ?? []) if (s.isPaused) s.resume();
  await stopAll();
});

const PROCESSES = 4;

/** A run with no overlap, no stale or inverted token, no expired lock and no error. */
const EXCLUSIVE = {
  logOverlaps: 0,
  tokenInversions: 0,
  overlaps: 0,
  staleTokens: 0,
  expiredOnReturn: 0,
  outlivedLock: 0,
  errors: 0,
};

function configFor(urls: string[], resource: string, workers: number, sections: number): WorkerConfig {
  return { urls, counterUrl: counter.url, resource, workers, sections, clients: 3, ttlMs: 2000 };
}

describe('mutual exclusion under contention (4 processes, several clients each)', () => {
  it.each([1, 3])(
    'N=%i: 100 workers × 20 sections: exact count, no overlap, strictly increasing fencing tokens',
    async (n) => {
      const resource = `stress:${n}:${Date.now()}`;
      const reports = await Promise.all(
        Array.from({ length: PROCESSES }, () =>
          runWorkerProcess(configFor(group.urls.slice(0, n), resource, 100 / PROCESSES, 20)),
        ),
      );
      const result = analyse(reports);
      console.log(`[lock stress N=${n}] ${diagnostics(reports)}`);
      expect(result).toEqual({ sections: 2000, ...EXCLUSIVE });
      expect(Number(await counter.call(['GET', `${resource}:count`]))).toBe(2000);
    },
    180_000,
  );

  it('N=5 with one node killed and another paused (SIGSTOP) mid-run: still exact and exclusive', async () => {
    // The worst case for the fair line: it lives on the node that is paused.
    const resource = resourceWithLineOn(`stress:faults:${Date.now()}`, 1, 5);
    const running = Promise.all(
      Array.from({ length: PROCESSES }, () =>
        runWorkerProcess({ ...configFor(group.urls, resource, 10, 20), nodeTimeoutMs: 100 }),
      ),
    );
    // Let the run get going, then take two of the five nodes away.
    await waitForCount(resource, 50);
    await group.servers[0]!.kill();
    group.servers[1]!.pause();
    await waitForCount(resource, 400);
    group.servers[1]!.resume();
    const reports = await running;
    const result = analyse(reports);
    console.log(`[lock stress faults] ${diagnostics(reports)}`);
    expect(result).toEqual({ sections: 800, ...EXCLUSIVE });
    expect(Number(await counter.call(['GET', `${resource}:count`]))).toBe(800);
    await group.servers[0]!.restart();
  }, 180_000);
});

async function waitForCount(resource: string, count: number): Promise<void> {
  for (;;) {
    if (Number(await counter.call(['GET', `${resource}:count`])) >= count) return;
    await new Promise((r) => setTimeout(r, 20));
  }
}
