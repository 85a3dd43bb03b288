import { describeCache, describeExpiringSet, describeRateLimiter } from '../src/conformance.js';
import { type Clock, MemoryCache, MemoryExpiringSet, MemoryRateLimiter } from '../src/memory.js';

describeRateLimiter('MemoryRateLimiter', (settings) => new MemoryRateLimiter(settings));
// Epoch ms with a fraction, as the Redis limiter reads the server's TIME (ms and µs).
const fractionalEpoch: Clock = { now: () => performance.timeOrigin + performance.now() };
describeRateLimiter(
  'MemoryRateLimiter on a fractional epoch clock',
  (settings) => new MemoryRateLimiter({ ...settings, clock: fractionalEpoch }),
);
describeExpiringSet('MemoryExpiringSet', () => new MemoryExpiringSet());
describeCache('MemoryCache', () => new MemoryCache());
