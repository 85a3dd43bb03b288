import path from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import { NodeChild, startRedis, stopAll } from '@voelgoed/testkit';

// A span processor or exporter that throws must cost spans, never the process: diagnostics_channel
// rethrows a subscriber's error as an uncaught exception.

afterAll(async () => {
  await stopAll();
});

describe('tracing through a span processor that throws', () => {
  it('the calls succeed and the process ends on its own, exit code 0', async () => {
    const server = await startRedis();
    const child = new NodeChild<{ event: string; value?: string }>(
      path.join(__dirname, 'fixtures', 'throwing-processor.ts'),
      { config: { url: server.url } },
    );
    const exit = await child.exited;
    expect(child.lines).toEqual([{ event: 'done', value: 'v' }]);
    expect(child.stderr).not.toContain('boom');
    expect(exit).toEqual({ code: 0, signal: null });
  }, 60_000);
});
