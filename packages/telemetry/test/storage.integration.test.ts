import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createFsStorage, type FsStorage } from '@voelgoed/storage';
import { createTelemetry, MetricNames, type Telemetry } from '../src/index.js';
import { parseExposition, value } from './exposition.js';

// The real @voelgoed/storage filesystem driver on a temp directory.

let dir: string;
let storage: FsStorage;
let telemetry: Telemetry;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'voelgoed-telemetry-'));
  telemetry = createTelemetry();
  storage = createFsStorage({ root: path.join(dir, 'media') });
});
afterAll(async () => {
  await telemetry?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('@voelgoed/storage → storage metrics', () => {
  it('records each operation by driver, bucket, operation and outcome, and the bytes moved', async () => {
    const body = 'x'.repeat(1000);
    await storage.put('reports/2026/secret-name.txt', body);
    const got = await storage.get('reports/2026/secret-name.txt');
    let read = 0;
    for await (const chunk of got.body) read += (chunk as Buffer).length;
    expect(read).toBe(1000);
    await storage.head('reports/2026/secret-name.txt');
    expect(await storage.exists('reports/2026/missing.txt')).toBe(false);
    await expect(storage.get('reports/2026/missing.txt')).rejects.toThrow();
    for await (const _ of storage.list('reports/')) {
      // drain
    }
    await storage.delete('reports/2026/secret-name.txt');

    const s = parseExposition(await telemetry.scrape());
    const where = { storage_driver: 'fs', storage_bucket: 'media' };
    const count = (operation: string, extra: Record<string, string> = { outcome: 'ok' }) =>
      value(s, `${MetricNames.storageOperationDuration}_count`, {
        ...where,
        storage_operation: operation,
        ...extra,
      });
    expect(count('put')).toBe(1);
    expect(count('get')).toBe(1);
    expect(count('get', { outcome: 'error', error_type: 'NOT_FOUND' })).toBe(1);
    expect(count('head')).toBe(1);
    expect(count('exists')).toBe(1);
    expect(count('list')).toBe(1);
    expect(count('delete')).toBe(1);
    expect(value(s, MetricNames.storageBytes, { ...where, storage_operation: 'put' })).toBe(1000);
    expect(value(s, MetricNames.storageBytes, { ...where, storage_operation: 'get' })).toBe(1000);
    // Keys never become labels.
    expect(JSON.stringify(s)).not.toMatch(/secret-name|reports/);
  });
});
