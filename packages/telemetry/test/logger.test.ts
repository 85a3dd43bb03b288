import { afterEach, describe, expect, it, jest } from '@jest/globals';
import type { Logger } from '@voelgoed/contracts';
import { captureLogger } from '@voelgoed/testkit';
import { createTelemetry, type Telemetry } from '../src/index.js';

// A small time box (50 ms) keeps the tests quick; nothing here asserts how long anything took.
const open: Telemetry[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((t) => t.close()));
});
function telemetry(options: Parameters<typeof createTelemetry>[0] = {}): Telemetry {
  const t = createTelemetry({ events: false, callbackTimeoutMs: 50, ...options });
  open.push(t);
  return t;
}
const never = () => new Promise<void>(() => {});
const SECRET = 'callback-secret-token-99';

async function scrapeUntil(t: Telemetry, done: () => boolean): Promise<void> {
  for (let i = 0; i < 100 && !done(); i++) await t.scrape();
  expect(done()).toBe(true);
}

describe('telemetry logger', () => {
  it('warns once a minute per metric when an observable callback fails or times out; never its message', async () => {
    const { logger, lines } = captureLogger();
    const t = telemetry({ logger });
    t.observableGauge('broken', async () => {
      throw Object.assign(new Error(`upstream said ${SECRET}`), { code: 'ECONNREFUSED' });
    });
    t.observableGauge('stuck', never);
    t.observableGauge('fine', (r) => r.observe(1));
    await scrapeUntil(t, () => lines.length >= 2);
    await t.scrape();
    await t.scrape();
    expect(lines).toHaveLength(2);
    expect(lines).toEqual(
      expect.arrayContaining([
        {
          level: 'warn',
          obj: { metric: 'broken', errorCode: 'ECONNREFUSED' },
          msg: 'telemetry observable callback failed',
        },
        {
          level: 'warn',
          obj: { metric: 'stuck', timeoutMs: 50 },
          msg: 'telemetry observable callback timed out',
        },
      ]),
    );
    expect(JSON.stringify(lines)).not.toContain(SECRET);
  });

  it('keeps scraping when the logger throws, and logs nothing by default', async () => {
    const boom = () => {
      throw new Error('logger down');
    };
    let calls = 0;
    const throwing = telemetry({
      logger: {
        debug: boom,
        info: boom,
        warn: () => {
          calls += 1;
          boom();
        },
        error: boom,
      },
    });
    throwing.observableGauge('broken', () => {
      throw new Error('x');
    });
    throwing.gauge('plain').set(3);
    await scrapeUntil(throwing, () => calls > 0);
    expect(await throwing.scrape()).toContain('plain 3');
    expect(() => telemetry({ logger: 42 as unknown as Logger })).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    );

    const spies = (['debug', 'info', 'log', 'warn', 'error'] as const).map((m) =>
      jest.spyOn(console, m).mockImplementation(() => {}),
    );
    try {
      const quiet = telemetry();
      quiet.observableGauge('broken', () => {
        throw new Error('x');
      });
      quiet.observableGauge('stuck', never);
      for (let i = 0; i < 3; i++) await quiet.scrape();
      for (const spy of spies) expect(spy).not.toHaveBeenCalled();
    } finally {
      for (const spy of spies) spy.mockRestore();
    }
  });
});
