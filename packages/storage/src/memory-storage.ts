import { MemoryObjectStorage, type MemoryObjectStorageOptions } from '@voelgoed/contracts/memory';

export { MemoryObjectStorage, type MemoryObjectStorageOptions };

/**
 * The in-memory driver (from `@voelgoed/contracts/memory`): objects in a `Map` of this process,
 * for tests of business code. Same key rule, errors and events as the other drivers.
 */
export function createMemoryStorage(options: MemoryObjectStorageOptions = {}): MemoryObjectStorage {
  return new MemoryObjectStorage(options);
}
