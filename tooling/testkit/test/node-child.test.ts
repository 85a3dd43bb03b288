import path from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, describe, expect, it } from '@jest/globals';
import {
  isAlive,
  liveChildPids,
  readAll,
  runNodeChild,
  startNodeChild,
  stopAll,
  until,
} from '../src/index.js';

const program = path.join(__dirname, 'fixtures', 'child-program.ts');

afterAll(async () => {
  await stopAll();
});

interface Line {
  event: string;
  pid?: number;
  answer?: number;
}

describe('node child processes on TypeScript fixtures', () => {
  it('runs a .ts program on its sources (a ./x.js import finds x.ts) and resolves with its last JSON line', async () => {
    const result = await runNodeChild<Line>(program, { config: { mode: 'report' } });
    expect(result).toEqual({ event: 'result', answer: 42, mode: 'report' });
  });

  it('keeps every JSON line in order and leaves other output out of them', async () => {
    const child = startNodeChild<Line>(program, { config: { mode: 'report' } });
    expect(await child.exited).toEqual({ code: 0, signal: null });
    expect(child.lines.map((l) => l.event)).toEqual(['ready', 'result']);
    expect(child.lines[0]?.pid).toBe(child.pid);
  });

  it('rejects with the exit code and stderr of a program that fails', async () => {
    const failed = runNodeChild(program, { config: { mode: 'fail' } });
    await expect(failed).rejects.toThrow(/exited with 4.*something went wrong/s);
  });

  it('waitFor rejects at once when the process exits before the lines come', async () => {
    const child = startNodeChild<Line>(program, { config: { mode: 'report' } });
    await expect(child.waitFor((l) => l.event === 'never', 1, 60_000)).rejects.toThrow(
      /1 lines not seen \(the process exited\)/,
    );
  });

  it('records a running child with the kit (stopAll kills it) and forgets it once it is gone', async () => {
    const child = startNodeChild<Line>(program, { config: { mode: 'hang' } });
    const [ready] = await child.waitFor((l) => l.event === 'ready');
    expect(ready?.pid).toBe(child.pid);
    expect(liveChildPids()).toContain(child.pid);
    await stopAll();
    expect(await child.exited).toEqual({ code: null, signal: 'SIGKILL' });
    expect(isAlive(child.pid)).toBe(false);
    expect(liveChildPids()).not.toContain(child.pid);
  });

  it('result() kills a program that runs past its time limit', async () => {
    const hanging = runNodeChild(program, { config: { mode: 'hang' }, timeoutMs: 1 });
    await expect(hanging).rejects.toThrow(/exited with SIGKILL/);
  });
});

describe('readAll', () => {
  it('reads a stream of Buffers and strings to the end, in order', async () => {
    const stream = Readable.from([Buffer.from('ab'), 'cd', new Uint8Array([101, 102])], { objectMode: true });
    expect((await readAll(stream)).toString()).toBe('abcdef');
  });
});

describe('until', () => {
  it('resolves once the probe returns true, and rejects when it never does', async () => {
    let calls = 0;
    await until(() => ++calls === 3, { timeoutMs: 10_000, intervalMs: 1 });
    expect(calls).toBe(3);
    await expect(until(async () => false, { timeoutMs: 20, intervalMs: 5 })).rejects.toThrow(
      /condition not met within 20 ms/,
    );
  });
});
