import { describe, expect, it } from '@jest/globals';
import { type Deadline, DeadlineSweeper } from '../src/deadline.js';
import { PendingCommand, type PendingOwner } from '../src/pending-command.js';
import { collectGarbage } from './support/gc.js';

// What a settled command's bookkeeping keeps alive. The sweeper drops entries only when a sweep
// passes them, and while commands are in flight at every sweep it used to keep each passed
// entry (and the command's arguments in it) until 1,024 had gathered: 1 MiB values kept up to
// a gigabyte alive.

interface Held extends Deadline {
  data?: Uint8Array;
}

describe('DeadlineSweeper', () => {
  it('lets go of the entries a sweep passed while a later one is still pending', async () => {
    // A resolution no timer reaches in the test: only the explicit sweep() below runs.
    const sweeper = new DeadlineSweeper(3_600_000);
    const refs: WeakRef<Uint8Array>[] = [];
    let pending: Held | undefined;
    (() => {
      for (let i = 0; i < 50; i++) {
        const data = new Uint8Array(1024);
        refs.push(new WeakRef(data));
        const entry: Held = { done: false, at: 0, expire() {}, data };
        sweeper.track(entry, 60_000);
        entry.done = true; // settled at once, like a command whose reply came back
      }
      pending = { done: false, at: 0, expire() {} };
      sweeper.track(pending, 60_000);
    })();
    sweeper.sweep();
    expect(sweeper.size).toBe(1);
    await collectGarbage();
    expect(refs.filter((r) => r.deref() !== undefined)).toHaveLength(0);
    expect(pending?.done).toBe(false);
    sweeper.dispose();
  });

  it('counts a deadline from when it is armed, not from the last sweep before synchronous work', () => {
    const sweeper = new DeadlineSweeper(3_600_000);
    sweeper.track({ done: false, at: 0, expire() {} }, 60_000);
    sweeper.sweep();
    const end = performance.now() + 100;
    while (performance.now() < end) {} // synchronous work (a large JSON.parse) in the same tick
    const entry: Deadline = { done: false, at: 0, expire() {} };
    sweeper.track(entry, 150);
    // Counted from the sweep, it would end about 50 ms from now: 100 ms of its 150 gone.
    expect(entry.at).toBeGreaterThanOrEqual(end + 150);
    sweeper.dispose();
  });

  it('still fires an entry whose deadline passed, once', () => {
    const sweeper = new DeadlineSweeper(3_600_000);
    let fired = 0;
    sweeper.track({ done: false, at: 0, expire: () => fired++ }, 0);
    sweeper.sweep(performance.now() + 1);
    sweeper.sweep(performance.now() + 2);
    expect(fired).toBe(1);
    sweeper.dispose();
  });
});

describe('PendingCommand', () => {
  const owner: PendingOwner = { finished() {}, expired() {} };
  const make = (value: Buffer) => {
    const pending = new PendingCommand(owner, ['SET', 'k', value], 1000, 0, false);
    pending.resolve = () => {};
    pending.reject = () => {};
    return pending;
  };

  it('lets go of its arguments once it settled, failed or expired', () => {
    const value = Buffer.alloc(16);
    const settled = make(value);
    expect(settled.args).toContain(value);
    settled.settle('OK');
    const failed = make(value);
    failed.fail(new Error('boom'));
    const expired = make(value);
    expired.done = true;
    expired.expire();
    for (const p of [settled, failed, expired]) expect(p.args).toHaveLength(0);
  });
});
