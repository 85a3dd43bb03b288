import { expect, it } from '@jest/globals';
import * as contracts from '@voelgoed/contracts';
import { InfrastructureError } from '@voelgoed/contracts';
import { describeAdapterErrors } from '@voelgoed/testkit/adapter-errors';
import { invalidArgument } from '../src/errors.js';
import * as storage from '../src/index.js';
import { isStorageError, NotFoundError, StorageErrorCodes } from '../src/index.js';

const adapter = {
  packageName: '@voelgoed/storage',
  prefix: '[voelgoed:storage]',
  module: storage,
  contracts,
  invalidArgument,
  reExports: ['NotFoundError', 'PreconditionFailedError'],
  internals: ['invalidArgument', 'MESSAGE_PREFIX'],
};

describeAdapterErrors(adapter, () => {
  it('isStorageError knows its own codes and the contracts codes', () => {
    const unsupported = new InfrastructureError(StorageErrorCodes.NOT_SUPPORTED, 'x');
    expect(isStorageError(unsupported, 'NOT_SUPPORTED')).toBe(true);
    expect(isStorageError(unsupported, 'FS_ERROR')).toBe(false);
    expect(isStorageError(new NotFoundError('gone'), 'NOT_FOUND')).toBe(true);
    expect(isStorageError(new Error('plain'))).toBe(false);
  });
});
