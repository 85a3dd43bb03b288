// Business code against the ports, tested with the in-memory implementations.
import { createRequire } from 'node:module';
import { InvalidArgumentError, isInfrastructureError } from '@voelgoed/contracts';
import { MemoryKeyValueStore, MemoryLock } from '@voelgoed/contracts/memory';

const kv = new MemoryKeyValueStore();
await kv.set('greeting', 'hello', { ttlMs: 1000 });
if ((await kv.get('greeting')) !== 'hello') throw new Error('MemoryKeyValueStore lost a value');
const locks = new MemoryLock();
const result = await locks.withLock('resource', async () => 42);
if (result !== 42) throw new Error('withLock did not return fn result');
try {
  await kv.set('', 'x');
  throw new Error('an empty key was accepted');
} catch (error) {
  if (!isInfrastructureError(error, 'INVALID_ARGUMENT')) throw error;
}
console.log('contracts: memory kv + lock + typed errors work');

// One copy of the error classes across entry points, in ESM and in CommonJS (tsup splitting).
for (const [kind, main, memory] of [
  ['ESM', { InvalidArgumentError }, { MemoryKeyValueStore }],
  [
    'CJS',
    createRequire(import.meta.url)('@voelgoed/contracts'),
    createRequire(import.meta.url)('@voelgoed/contracts/memory'),
  ],
]) {
  const error = await new memory.MemoryKeyValueStore().get('').catch((e) => e);
  if (!(error instanceof main.InvalidArgumentError))
    throw new Error(`${kind}: an error from /memory is not instanceof the main entry's InvalidArgumentError`);
}
console.log('contracts: errors from /memory are instanceof the main entry classes in ESM and CJS');
