import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { Counter, Histogram, Registry } from 'prom-client';
import { seriesHash } from '../src/prom-internals.js';

// src/prom-internals.ts writes prom-client's per-series map directly (bound handles), which is why
// package.json pins prom-client exactly. test/bound-handles.test.ts compares the resulting
// exposition; these name the internal that moved when a new version changes it.
const require = createRequire(__filename);
const installed = (
  JSON.parse(readFileSync(require.resolve('prom-client/package.json'), 'utf8')) as { version: string }
).version;
const pinned = (
  JSON.parse(readFileSync(path.join(__dirname, '..', 'package.json'), 'utf8')) as {
    dependencies: Record<string, string>;
  }
).dependencies['prom-client'];

function internal(what: string, ok: boolean): void {
  if (!ok) {
    throw new Error(
      `prom-client ${installed}: ${what} is not what src/prom-internals.ts expects. Bound handles write ` +
        "prom-client's series map directly: adapt that file to the new version before moving the exact pin.",
    );
  }
}

describe('the prom-client internals bound handles use', () => {
  it('are those of the exactly pinned version', () => {
    expect(pinned).toMatch(/^\d+\.\d+\.\d+$/);
    internal(`the installed version (package.json pins ${pinned})`, installed === pinned);
  });

  it('a labelled series lives in metric.hashMap under seriesHash of its sorted label names', () => {
    const registers = [new Registry()];
    const counter = new Counter({ name: 'c', help: 'c', labelNames: ['route', 'code'], registers });
    counter.inc({ route: '/a', code: '200' }, 2);
    const map = (counter as unknown as { hashMap?: Record<string, { value?: number } | undefined> }).hashMap;
    const key = seriesHash(['code', 'route'], { route: '/a', code: '200' });
    internal(`Counter#hashMap (keys ${JSON.stringify(Object.keys(map ?? {}))})`, map?.[key]?.value === 2);
    const histogram = new Histogram({ name: 'h', help: 'h', labelNames: ['route'], buckets: [1], registers });
    histogram.observe({ route: '/a' }, 0.5);
    const entry = (histogram as unknown as { hashMap?: Record<string, Record<string, unknown> | undefined> })
      .hashMap?.[seriesHash(['route'], { route: '/a' })];
    internal(
      `Histogram#hashMap entry (${JSON.stringify(entry)})`,
      entry !== undefined && entry.count === 1 && entry.sum === 0.5 && typeof entry.bucketValues === 'object',
    );
  });
});
