import { describe, expect, it } from '@jest/globals';
import { type ConformanceCheck, findCheck, objectStorageChecks } from '../src/conformance.js';
import type { MemoryObjectStorage } from '../src/memory.js';
import { BrokenObjectStorage, type StorageDefects } from './support/broken-object-storage.js';

const checks = objectStorageChecks<BrokenObjectStorage | MemoryObjectStorage>({
  fetchSignedUrl: (impl, url, init) =>
    (impl instanceof BrokenObjectStorage ? impl.inner : impl).fetchSigned(url, init),
  largeObjectBytes: 100_000,
});

async function run<T>(list: readonly ConformanceCheck<T>[], name: string, impl: T): Promise<void> {
  await findCheck(list, name).run(impl);
}

/** Each defect, the checks that must catch it. */
const cases: [keyof StorageDefects, string[]][] = [
  [
    'truncate',
    [
      'put then get returns the bytes and the object info',
      'binary bytes (every byte value) round-trip unchanged',
      'put accepts a Readable and an AsyncIterable<Uint8Array>, with or without size',
      'a large object (100000 bytes) streamed in odd chunks round-trips intact',
    ],
  ],
  [
    'ignorePrefix',
    [
      'list yields the objects under a prefix, in key order, with size and etag',
      'list of a prefix with no objects yields nothing',
    ],
  ],
  ['ignoreLimit', ['list stops after limit items']],
  ['acceptBadKeys', ['bad keys reject with INVALID_ARGUMENT in every operation']],
  ['ignoreSize', ['a size that does not match the body rejects with INTEGRITY and stores nothing']],
  [
    'keepPartialUploads',
    ['a body stream that fails midway rejects with an InfrastructureError and stores nothing'],
  ],
  ['copyDropsMetadata', ['copy duplicates bytes, content type and metadata, and keeps the source']],
  ['exclusiveRangeEnd', ['getRange returns inclusive byte ranges, cut at the end of the object']],
  ['deleteMissingThrows', ['delete removes an object, and deleting a missing one succeeds']],
  ['keepMetadataCase', ['head gives size, content type, cache control and metadata with lower-case names']],
];

describe('the ObjectStorage suite fails a broken storage', () => {
  for (const [defect, failing] of cases) {
    for (const name of failing) {
      it(`${defect}: fails "${name}"`, async () => {
        await expect(run(checks, name, new BrokenObjectStorage({ [defect]: true }))).rejects.toThrow();
      });
    }
    it(`${defect}: still passes an unrelated check (the failures are specific)`, async () => {
      await run(
        checks,
        'exists is true for a stored object and false for a missing one',
        new BrokenObjectStorage({ [defect]: true }),
      );
    });
  }

  it('every check passes against the same wrapper without defects', async () => {
    for (const check of checks) await check.run(new BrokenObjectStorage({}));
  });
});
