import * as contracts from '@voelgoed/contracts';
import { describeAdapterErrors } from '@voelgoed/testkit/adapter-errors';
import { invalidArgument } from '../src/errors.js';
import * as telemetry from '../src/index.js';

describeAdapterErrors({
  packageName: '@voelgoed/telemetry',
  prefix: '[voelgoed:telemetry]',
  module: telemetry,
  contracts,
  invalidArgument,
  reExports: ['InvalidArgumentError', 'TimeoutError', 'ConnectionError'],
  internals: ['invalidArgument', 'MESSAGE_PREFIX'],
});
