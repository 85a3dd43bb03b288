import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from '@jest/globals';

// Runs the demo as ./dev demo does (a child process) and reads its report.
const main = path.join(__dirname, '..', 'src', 'main.js');

function runDemo(args: string[]) {
  const out = spawnSync(process.execPath, [main, ...args], { encoding: 'utf8', timeout: 120_000 });
  return { status: out.status, output: `${out.stdout}${out.stderr}` };
}

const field = (output: string, name: string) => new RegExp(`${name}\\s+(\\d+)`).exec(output)?.[1];

describe('the demo', () => {
  it.each([
    ['on real Redis (3 masters), HTTP and the filesystem driver', []],
    ['on the in-memory implementations (--memory)', ['--memory']],
  ])(
    '%s sells every seat exactly once and exits 0',
    (_, args) => {
      const { status, output } = runDemo(args);
      expect(output).toContain('ok: every seat sold exactly once');
      expect(status).toBe(0);
      expect(field(output, 'double bookings')).toBe('0');
      expect(output).toMatch(/seats sold\s+50 of 50 \(ticket objects stored: 50\)/);
      expect(output).toMatch(/metrics: http:\/\/127\.0\.0\.1:\d+\/metrics/);
      expect(Number(/http attempts\s+(\d+) \(retries/.exec(output)?.[1])).toBeGreaterThanOrEqual(50);
      // Every charge's signed webhook went through the durable sender's JobQueue, once each; the
      // shop's endpoint answers 503 to every 15th request, so some were retried.
      const jobs =
        /webhook jobs\s+(\d+) enqueued, (\d+) delivered, (\d+) retried, (\d+) dead-lettered \((.+)\)/.exec(
          output,
        );
      // One per charge (a charge whose seat went to someone else meanwhile also has one).
      const [enqueued, delivered, retried, dead] = (jobs?.slice(1, 5) ?? []).map(Number);
      expect(enqueued).toBeGreaterThanOrEqual(50);
      expect([delivered, dead]).toEqual([enqueued, 0]);
      expect(retried).toBeGreaterThan(0);
      expect(jobs?.[5]).toBe(args.length ? 'MemoryJobQueue' : 'Redis JobQueue');
      expect(output).toMatch(/webhooks\s+rejected 0, late \d+/);
    },
    150_000,
  );

  it('--trace prints one purchase as a waterfall: lock, Redis, the gateway call, the webhook job and its linked delivery, the ticket put', () => {
    const { status, output } = runDemo(['--trace', '--buyers', '30', '--seats', '10']);
    expect(status).toBe(0);
    const at = output.indexOf('one purchase, traced');
    expect(at).toBeGreaterThan(0);
    const waterfall = output.slice(at).split('\n');
    const line = (pattern: RegExp) => waterfall.find((l) => pattern.test(l));
    expect(line(/^\s+trace [0-9a-f]{32} · \d+ spans/)).toBeDefined();
    expect(line(/^\s+buyer b\d+\s/)).toBeDefined();
    expect(line(/lock acquire .*attempts \d+ · token \d+/)).toBeDefined();
    expect(line(/^\s+(GET|SET|EVAL|EVALSHA)\s.*:\d+/)).toBeDefined();
    // The gateway call carried traceparent: the gateway's enqueue of the webhook job is its child.
    const post = waterfall.findIndex((l) => /^\s+POST\s.*status \d{3}/.test(l));
    expect(post).toBeGreaterThan(0);
    expect(waterfall.slice(post + 1).find((l) => /^\s+send .*job evt_/.test(l))).toBeDefined();
    expect(line(/storage put .*key tickets\/seat-\d{3}\.json/)).toBeDefined();
    // The delivery runs in its own trace, linked back to this one, and its POST is its child.
    const linked = waterfall.findIndex((l) => /linked \(a job's consumer span links back/.test(l));
    expect(linked).toBeGreaterThan(post);
    expect(waterfall[linked + 1]).toMatch(/^\s+process .*job evt_/);
    expect(waterfall[linked + 2]).toMatch(/^\s+POST\s.*status \d{3}/);
    // Nothing secret in it: the webhook secret is the demo's constant.
    expect(output).not.toContain('whsec_');
  }, 150_000);

  it('shows the retries, the idempotency key and the breaker at work on the real HTTP client', () => {
    const { status, output } = runDemo(['--buyers', '120', '--seats', '30']);
    expect(status).toBe(0);
    expect(Number(/\(retries (\d+)\)/.exec(output)?.[1])).toBeGreaterThan(0);
    expect(Number(/(\d+) replayed by idempotency key/.exec(output)?.[1])).toBeGreaterThan(0);
    expect(output).toMatch(/circuit breaker\s+closed→open/);
  }, 150_000);
});
