import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import type { ObjectStorage } from '@voelgoed/contracts';
import { createFsStorage, createMemoryStorage } from '../src/index.js';

// What the contracts' ObjectStorage bad-input check found in the drivers: plain TypeErrors,
// FS_ERROR for a caller's bad option, and an ABORTED obeyed from an object that only looks like
// an aborted signal.
const roots: string[] = [];
afterAll(() => {
  for (const root of roots) rmSync(root, { recursive: true, force: true });
});

const drivers: [string, () => ObjectStorage][] = [
  [
    'FsStorage',
    () => {
      const root = mkdtempSync(path.join(os.tmpdir(), 'voelgoed-fs-options-'));
      roots.push(root);
      return createFsStorage({ root });
    },
  ],
  ['MemoryObjectStorage', () => createMemoryStorage()],
];

describe.each(drivers)('%s reads a caller’s options without trusting them', (_name, make) => {
  const fakeSignal = { aborted: true, reason: 'x', addEventListener() {}, removeEventListener() {} };
  const { proxy, revoke } = Proxy.revocable({}, {});
  revoke();

  it('look-alike signals, unreadable options, a non-function onProgress and a revoked-Proxy body are INVALID_ARGUMENT', async () => {
    const storage = make();
    const invalid = expect.objectContaining({ code: 'INVALID_ARGUMENT' });
    const calls: (() => Promise<unknown>)[] = [
      () => storage.put('k', 'x', { signal: fakeSignal as never }),
      () => storage.put('k', 'x', { signal: Object.create(AbortSignal.prototype) }),
      () => storage.put('k', 'x', { onProgress: new Map() as never }),
      () => storage.put('k', 'x', proxy as never),
      () => storage.put('k', proxy as never),
      () => storage.put('k', 'x', { metadata: proxy as never }),
      () => storage.get('k', { signal: fakeSignal as never }),
      () => storage.deleteMany(new Array(2 ** 32 - 1)),
    ];
    if (storage.capabilities.signedUrl) calls.push(() => storage.signedUrl('k', proxy as never));
    for (const call of calls) await expect(call()).rejects.toEqual(invalid);
    expect(await storage.exists('k')).toBe(false);
  });

  it('a throwing or rejecting onProgress is ignored: the put goes through', async () => {
    const storage = make();
    const put = await storage.put('k', 'hello', {
      onProgress: () => {
        throw new Error('progress bar crashed');
      },
    });
    expect(put.size).toBe(5);
    await storage.put('j', 'hello', { onProgress: async () => Promise.reject(new Error('async')) });
    expect(await storage.exists('j')).toBe(true);
  });
});
