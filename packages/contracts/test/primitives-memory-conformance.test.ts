import { describeCache, describeExpiringSet, describeRateLimiter } from '../src/conformance.js';
import { MemoryCache, MemoryExpiringSet, MemoryRateLimiter } from '../src/memory.js';

describeRateLimiter('MemoryRateLimiter', (settings) => new MemoryRateLimiter(settings));
describeExpiringSet('MemoryExpiringSet', () => new MemoryExpiringSet());
describeCache('MemoryCache', () => new MemoryCache());
