import { describe, expect, it } from '@jest/globals';
import * as contracts from '@voelgoed/contracts';
import { InfrastructureError, isInfrastructureError } from '@voelgoed/contracts';
import { invalidArgument } from '../src/errors.js';
import * as redis from '../src/index.js';
import {
  ConnectionError,
  isRedisError,
  RedisErrorCodes,
  RedisReplyError,
  TimeoutError,
} from '../src/index.js';

describe('@voelgoed/redis errors', () => {
  it('are InfrastructureErrors of @voelgoed/contracts, prefixed with the adapter', () => {
    const error = invalidArgument('key must not be empty');
    expect(error).toBeInstanceOf(InfrastructureError);
    expect(isInfrastructureError(error)).toBe(true);
    expect(error.code).toBe('INVALID_ARGUMENT');
    expect(error.retryable).toBe(false);
    expect(error.message).toBe('[voelgoed:redis] key must not be empty');
  });

  it('re-exports the contracts classes it throws, and no internal helpers', () => {
    expect(ConnectionError).toBe(contracts.ConnectionError);
    expect(TimeoutError).toBe(contracts.TimeoutError);
    for (const helper of ['invalidArgument', 'connectionError', 'MESSAGE_PREFIX']) {
      expect(Object.keys(redis)).not.toContain(helper);
    }
  });

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
