import { describe, expect, it } from '@jest/globals';
import * as contracts from '@voelgoed/contracts';
import { InfrastructureError, isInfrastructureError } from '@voelgoed/contracts';
import { invalidArgument } from '../src/errors.js';
import * as storage from '../src/index.js';
import { isStorageError, NotFoundError, StorageErrorCodes } from '../src/index.js';

describe('@voelgoed/storage errors', () => {
  it('are InfrastructureErrors of @voelgoed/contracts, prefixed with the adapter', () => {
    const error = invalidArgument('key must not be empty');
    expect(error).toBeInstanceOf(InfrastructureError);
    expect(isInfrastructureError(error)).toBe(true);
    expect(error.code).toBe('INVALID_ARGUMENT');
    expect(error.retryable).toBe(false);
    expect(error.message).toBe('[voelgoed:storage] key must not be empty');
  });

  it('re-exports the contracts classes it throws, and no internal helpers', () => {
    expect(NotFoundError).toBe(contracts.NotFoundError);
    expect(storage.PreconditionFailedError).toBe(contracts.PreconditionFailedError);
    for (const helper of ['invalidArgument', 'MESSAGE_PREFIX']) {
      expect(Object.keys(storage)).not.toContain(helper);
    }
  });

  it('isStorageError knows its own codes and the contracts codes', () => {
    const unsupported = new InfrastructureError(StorageErrorCodes.NOT_SUPPORTED, 'x');
    expect(isStorageError(unsupported, 'NOT_SUPPORTED')).toBe(true);
    expect(isStorageError(unsupported, 'FS_ERROR')).toBe(false);
    expect(isStorageError(new NotFoundError('gone'), 'NOT_FOUND')).toBe(true);
    expect(isStorageError(new Error('plain'))).toBe(false);
  });
});
