import { expect, it } from '@jest/globals';
import * as contracts from '@voelgoed/contracts';
import { describeAdapterErrors } from '@voelgoed/testkit/adapter-errors';
import { invalidArgument } from '../src/errors.js';
import * as redis from '../src/index.js';
import { ConnectionError, isRedisError, RedisErrorCodes, RedisReplyError } from '../src/index.js';

const adapter = {
  packageName: '@voelgoed/redis',
  prefix: '[voelgoed:redis]',
  module: redis,
  contracts,
  invalidArgument,
  reExports: ['ConnectionError', 'TimeoutError'],
  internals: ['invalidArgument', 'connectionError', 'MESSAGE_PREFIX'],
};

describeAdapterErrors(adapter, () => {
  it('isRedisError knows REDIS_REPLY and the contracts codes', () => {
    const reply = new RedisReplyError('GET', 'WRONGTYPE Operation against a key', undefined);
    expect(reply.code).toBe(RedisErrorCodes.REDIS_REPLY);
    expect(isRedisError(reply, 'REDIS_REPLY')).toBe(true);
    expect(isRedisError(reply, 'CONNECTION')).toBe(false);
    expect(isRedisError(new ConnectionError('down'), 'CONNECTION')).toBe(true);
    expect(isRedisError(reply)).toBe(true);
    expect(isRedisError({ code: 'REDIS_REPLY' }, 'REDIS_REPLY')).toBe(false);
  });
});
