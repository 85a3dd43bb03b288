import { describeJobQueue } from '../src/conformance.js';
import { MemoryJobQueue } from '../src/memory.js';

describeJobQueue('MemoryJobQueue', (name) => new MemoryJobQueue(name), {
  teardown: (queue) => queue.close({ graceMs: 0 }),
  expireLease: (queue, id) => queue.expireLease(id),
});
