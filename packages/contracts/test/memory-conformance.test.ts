import {
  describeDistributedLock,
  describeKeyValueStore,
  describeMetrics,
  memoryMetricsHarness,
} from '../src/conformance.js';
import { MemoryKeyValueStore, MemoryLock } from '../src/memory.js';

describeDistributedLock('MemoryLock', () => new MemoryLock());
describeKeyValueStore('MemoryKeyValueStore', () => new MemoryKeyValueStore());
describeMetrics('MemoryMetrics', () => memoryMetricsHarness());
