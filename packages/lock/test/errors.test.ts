import { expect } from '@jest/globals';
import * as contracts from '@voelgoed/contracts';
import { isInfrastructureError } from '@voelgoed/contracts';
import { describeAdapterErrors } from '@voelgoed/testkit/adapter-errors';
import { invalidArgument } from '../src/errors.js';
import * as lock from '../src/index.js';
import { LockNotAcquiredError, LockTimeoutError } from '../src/index.js';

describeAdapterErrors({
  packageName: '@voelgoed/lock',
  prefix: '[voelgoed:lock]',
  module: lock,
  contracts,
  invalidArgument,
  reExports: ['LockTimeoutError', 'LockLostError'],
  internals: ['invalidArgument', 'MESSAGE_PREFIX'],
  moreReExportChecks: () => {
    const error = new LockNotAcquiredError('contention', ['r'], 3);
    expect(isInfrastructureError(error, 'LOCK_TIMEOUT')).toBe(true);
    expect(error).toBeInstanceOf(LockTimeoutError);
  },
});
