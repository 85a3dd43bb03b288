import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { typeCheckSnippets } from '@voelgoed/testkit/type-check';
import { pino } from 'pino';
import { InvalidArgumentError, type Logger, readLogger, silentLogger } from '../src/index.js';
import { MemoryJobQueue } from '../src/memory.js';

/** Both loggers users actually pass must fit the port, checked by the compiler itself. */
const consoleFits: Logger = console;
void consoleFits;

const HEAD = `import { pino } from 'pino';\nimport type { Logger } from '../src/index.js';\n`;

describe('the Logger port', () => {
  it('is satisfied by pino and console, and refuses what is not a logger', () => {
    const results = typeCheckSnippets(join(import.meta.dirname, '..'), {
      pinoFits: `${HEAD}const logger: Logger = pino({ level: 'silent' });\nvoid logger;\n`,
      pinoChildFits: `${HEAD}const logger: Logger = pino({ level: 'silent' }).child({ module: 'x' });\nvoid logger;\n`,
      consoleFits: `${HEAD}const logger: Logger = console;\nvoid logger;\n`,
      missingWarn: `${HEAD}const logger: Logger = { debug() {}, info() {}, error() {} };\nvoid logger;\n`,
      messageFirst: `${HEAD}const logger: Logger = { debug: (m: string) => void m, info: (m: string) => void m, warn: (m: string) => void m, error: (m: string) => void m };\nvoid logger;\n`,
    });
    expect(results.pinoFits).toEqual({ codes: [], messages: [] });
    expect(results.pinoChildFits).toEqual({ codes: [], messages: [] });
    expect(results.consoleFits).toEqual({ codes: [], messages: [] });
    expect(results.missingWarn?.codes).toContain(2741);
    expect(results.messageFirst?.codes.length).toBeGreaterThan(0);
  }, 60_000);

  it('passes the object and message on to pino, with pino as `this`', () => {
    const lines: string[] = [];
    const logger = readLogger(pino({ level: 'debug' }, { write: (line: string) => lines.push(line) }), '[t]');
    logger.warn({ target: 'localhost:1', attempt: 2 }, 'redis connection lost');
    logger.debug({ n: 1 });
    const first = JSON.parse(lines[0] ?? '{}') as Record<string, unknown>;
    expect(first).toMatchObject({
      level: 40,
      target: 'localhost:1',
      attempt: 2,
      msg: 'redis connection lost',
    });
    expect(JSON.parse(lines[1] ?? '{}')).toMatchObject({ level: 20, n: 1 });
  });

  it('gives the silent logger for undefined, which logs nothing and does not throw', () => {
    expect(readLogger(undefined, '[t]')).toBe(silentLogger);
    for (const level of ['debug', 'info', 'warn', 'error'] as const) {
      expect(silentLogger[level]({ a: 1 }, 'm')).toBeUndefined();
    }
  });

  it('ignores a logger that throws or returns a rejected promise', async () => {
    const calls: string[] = [];
    const throwing = readLogger(
      {
        debug: () => {
          calls.push('debug');
          throw new Error('boom');
        },
        info: () => {
          calls.push('info');
          return Promise.reject(new Error('async boom'));
        },
        warn: () => {
          throw 'not even an error';
        },
        error: () => {
          throw new Error('boom');
        },
      },
      '[t]',
    );
    expect(() => throwing.debug({}, 'x')).not.toThrow();
    expect(() => throwing.info({}, 'x')).not.toThrow();
    expect(() => throwing.warn({}, 'x')).not.toThrow();
    expect(() => throwing.error({}, 'x')).not.toThrow();
    await new Promise((resolve) => setImmediate(resolve));
    expect(calls).toEqual(['debug', 'info']);
  });

  it('refuses what is not a logger with INVALID_ARGUMENT', () => {
    for (const bad of [null, 42, 'console', {}, { debug() {}, info() {}, warn: 1, error() {} }]) {
      expect(() => readLogger(bad, '[t]')).toThrow(InvalidArgumentError);
    }
    const hostile = new Proxy(
      {},
      {
        get() {
          throw new Error('trap');
        },
      },
    );
    expect(() => readLogger(hostile, '[t]')).toThrow(InvalidArgumentError);
  });
});

describe('MemoryJobQueue logging', () => {
  it('warns when a job is dead-lettered, with queue, id, attempts and error code, not the payload', async () => {
    const seen: { level: string; obj: Record<string, unknown>; msg?: string }[] = [];
    const capture = (level: string) => (obj: Record<string, unknown>, msg?: string) => {
      seen.push({ level, obj, ...(msg === undefined ? {} : { msg }) });
    };
    const logger: Logger = {
      debug: capture('debug'),
      info: capture('info'),
      warn: capture('warn'),
      error: capture('error'),
    };
    const queue = new MemoryJobQueue<{ card: string }>('logged', { logger });
    const worker = queue.process(async () => {
      throw Object.assign(new Error('declined'), { code: 'CARD_DECLINED' });
    });
    try {
      const { id } = await queue.enqueue({ card: 'secret-card-4242' }, { attempts: 1 });
      const deadline = Date.now() + 10_000;
      while (seen.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      expect(seen).toEqual([
        {
          level: 'warn',
          obj: { queue: 'logged', jobId: id, attempts: 1, errorCode: 'CARD_DECLINED' },
          msg: 'job dead-lettered',
        },
      ]);
      expect(JSON.stringify(seen)).not.toContain('secret-card-4242');
    } finally {
      await worker.close({ graceMs: 0 });
      await queue.close({ graceMs: 0 });
    }
  });

  it('logs nothing by default and refuses a bad logger', async () => {
    expect(() => new MemoryJobQueue('bad', { logger: {} as Logger })).toThrow(InvalidArgumentError);
    const queue = new MemoryJobQueue('quiet');
    const worker = queue.process(async () => {
      throw new Error('always');
    });
    try {
      const { id } = await queue.enqueue('x', { attempts: 1 });
      const deadline = Date.now() + 10_000;
      while ((await queue.getJob(id))?.state !== 'dead-lettered' && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 10));
      }
      expect((await queue.getJob(id))?.state).toBe('dead-lettered');
    } finally {
      await worker.close({ graceMs: 0 });
      await queue.close({ graceMs: 0 });
    }
  });
});
