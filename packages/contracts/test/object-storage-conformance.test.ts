import { describeObjectStorage } from '../src/conformance.js';
import { MemoryObjectStorage } from '../src/memory.js';

describeObjectStorage('MemoryObjectStorage (conformance)', () => new MemoryObjectStorage(), {
  fetchSignedUrl: (impl, url, init) => impl.fetchSigned(url, init),
});

// Small pages, so that listing crosses page boundaries.
describeObjectStorage(
  'MemoryObjectStorage with 4-key pages (conformance)',
  () => new MemoryObjectStorage({ pageSize: 4 }),
  {
    fetchSignedUrl: (impl, url, init) => impl.fetchSigned(url, init),
    largeObjectBytes: 64 * 1024 + 1,
  },
);
