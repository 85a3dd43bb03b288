import { describe, expect, it } from '@jest/globals';
import * as contracts from '@voelgoed/contracts';
import { InfrastructureError, isInfrastructureError } from '@voelgoed/contracts';
import { invalidArgument } from '../src/errors.js';
import * as telemetry from '../src/index.js';

describe('@voelgoed/telemetry errors', () => {
  it('are InfrastructureErrors of @voelgoed/contracts, prefixed with the adapter', () => {
    const error = invalidArgument('key must not be empty');
    expect(error).toBeInstanceOf(InfrastructureError);
    expect(isInfrastructureError(error)).toBe(true);
    expect(error.code).toBe('INVALID_ARGUMENT');
    expect(error.retryable).toBe(false);
    expect(error.message).toBe('[voelgoed:telemetry] key must not be empty');
  });

  it('re-exports the contracts classes it throws, and no internal helpers', () => {
    expect(telemetry.InvalidArgumentError).toBe(contracts.InvalidArgumentError);
    expect(telemetry.TimeoutError).toBe(contracts.TimeoutError);
    expect(telemetry.ConnectionError).toBe(contracts.ConnectionError);
    for (const helper of ['invalidArgument', 'MESSAGE_PREFIX']) {
      expect(Object.keys(telemetry)).not.toContain(helper);
    }
  });
});
