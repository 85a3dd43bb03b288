import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { isInfrastructureError, type Logger } from '@voelgoed/contracts';
import { captureLogger, type S3Server, startS3 } from '@voelgoed/testkit';
import { createFsStorage, createS3Storage, type S3Storage } from '../src/index.js';
import { bytes, failingAfter, randomKey } from './helpers.js';

const MiB = 1024 * 1024;
let server: S3Server;
let bucket: string;
const opened: S3Storage[] = [];

function storage(logger: Logger | undefined): S3Storage {
  const s = createS3Storage({
    ...server.clientOptions,
    bucket,
    partSize: 5 * MiB,
    concurrency: 2,
    ...(logger ? { logger } : {}),
  });
  opened.push(s);
  return s;
}

beforeAll(async () => {
  server = await startS3();
  bucket = await server.createBucket();
}, 120_000);
afterAll(async () => {
  for (const s of opened) await s.close();
  await server?.stop();
});

describe('S3 storage logger', () => {
  it('warns when a multipart upload is aborted after an error; nothing for a one-part put; no secret or key', async () => {
    const { logger, lines } = captureLogger();
    const s = storage(logger);
    const small = randomKey('logger-small');
    expect(
      isInfrastructureError(
        await s.put(small, failingAfter(bytes(1000))).catch((e: unknown) => e),
        'INTEGRITY',
      ),
    ).toBe(true);
    expect(lines).toEqual([]);
    const key = randomKey('logger-secret-key-name');
    const error = await s.put(key, failingAfter(bytes(12 * MiB))).catch((e: unknown) => e);
    expect(isInfrastructureError(error, 'INTEGRITY')).toBe(true);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      level: 'warn',
      msg: 'storage multipart upload aborted after an error',
      obj: {
        bucket,
        partsDone: expect.any(Number),
        bytesSent: expect.any(Number),
        errorCode: 'INTEGRITY',
        abortedOnServer: expect.any(Boolean),
      },
    });
    const text = JSON.stringify(lines);
    const { accessKey, secretKey } = server.clientOptions as { accessKey: string; secretKey: string };
    for (const secret of [secretKey, accessKey, 'logger-secret-key-name', 'X-Amz-Signature']) {
      expect(text).not.toContain(secret);
    }
  }, 60_000);

  it('fails the put the same way when the logger throws, and logs nothing by default', async () => {
    const boom = () => {
      throw new Error('logger down');
    };
    const throwing = storage({ debug: boom, info: boom, warn: boom, error: boom });
    const first = await throwing.put(randomKey(), failingAfter(bytes(12 * MiB))).catch((e: unknown) => e);
    expect(isInfrastructureError(first, 'INTEGRITY')).toBe(true);
    expect(() => storage({} as Logger)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    const spies = (['debug', 'info', 'log', 'warn', 'error'] as const).map((m) =>
      jest.spyOn(console, m).mockImplementation(() => {}),
    );
    try {
      const quiet = storage(undefined);
      const second = await quiet.put(randomKey(), failingAfter(bytes(12 * MiB))).catch((e: unknown) => e);
      expect(isInfrastructureError(second, 'INTEGRITY')).toBe(true);
      for (const spy of spies) expect(spy).not.toHaveBeenCalled();
    } finally {
      for (const spy of spies) spy.mockRestore();
    }
  }, 60_000);
});

describe('filesystem storage logger', () => {
  it('logs how many stale temp files of interrupted puts it removed when it opens', async () => {
    const root = mkdtempSync(path.join(os.tmpdir(), 'voelgoed-fs-logger-'));
    try {
      const tmp = path.join(root, '.tmp');
      mkdirSync(tmp, { recursive: true });
      for (const name of ['1-crashed', '2-crashed']) {
        writeFileSync(path.join(tmp, name), 'half an object');
        const when = new Date(Date.now() - 2 * 3_600_000);
        utimesSync(path.join(tmp, name), when, when);
      }
      const { logger, lines } = captureLogger();
      const fs = createFsStorage({ root, logger });
      await fs.put('k', 'v');
      await fs.put('k2', 'v');
      expect(lines).toEqual([
        {
          level: 'info',
          obj: { driver: 'fs', removed: 2, olderThanMs: 3_600_000 },
          msg: 'storage removed stale temp files of interrupted puts',
        },
      ]);
      expect(JSON.stringify(lines)).not.toContain(root);
      expect(() => createFsStorage({ root, logger: null as unknown as Logger })).toThrow(
        expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
      );
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
