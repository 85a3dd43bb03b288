import { describe, expect, it } from '@jest/globals';
import { isInfrastructureError } from '@voelgoed/contracts';
import { instrumentTracing } from '../src/tracing/index.js';

function refusal(run: () => unknown): Error {
  try {
    run();
  } catch (error) {
    expect(isInfrastructureError(error, 'INVALID_ARGUMENT')).toBe(true);
    return error as Error;
  }
  throw new Error('expected INVALID_ARGUMENT');
}

describe('instrumentTracing options', () => {
  it('refuses a field it does not have, a switch that is not a boolean and a non-object', () => {
    expect(refusal(() => instrumentTracing({ reds: false } as never)).message).toContain(
      'unknown field "reds"',
    );
    expect(refusal(() => instrumentTracing({ lock: { recordResource: true } } as never)).message).toContain(
      'unknown field "recordResource"',
    );
    for (const options of [
      { redis: 'off' },
      { lock: 'yes' },
      { lock: { recordResources: 1 } },
      null,
      'all',
    ]) {
      refusal(() => instrumentTracing(options as never));
    }
  });

  it('takes every field it has, and an undefined one as not given', () => {
    const tracing = instrumentTracing({
      redis: false,
      http: true,
      lock: { recordResources: true },
      storage: false,
      queue: false,
      other: undefined,
    } as never);
    tracing.stop();
  });
});
