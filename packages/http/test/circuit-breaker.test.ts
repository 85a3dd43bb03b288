import { describe, expect, it } from '@jest/globals';
import { CircuitOpenError } from '@voelgoed/contracts';
import { CircuitBreaker } from '../src/circuit-breaker.js';

describe('circuit breaker probes', () => {
  const options = {
    consecutiveFailures: 1,
    failureRatio: 0.5,
    minimumCalls: 20,
    windowMs: 10_000,
    openMs: 100,
    halfOpenProbes: 2,
  };

  // Found by an independent check: a slow probe of one half-open period that ended after the
  // breaker had opened and half-opened again drove the probe count below zero (a third probe got
  // through) and its success counted toward closing the new period.
  it('a probe of an earlier half-open period counts for nothing in the next one', () => {
    let now = 0;
    const breaker = new CircuitBreaker('http://origin.test', options, () => now);
    breaker.failure(breaker.enter());
    expect(breaker.state).toBe('open');
    now += 100;
    expect(breaker.state).toBe('half_open');
    const slow = breaker.enter();
    const failing = breaker.enter();
    expect(() => breaker.enter()).toThrow(CircuitOpenError);
    breaker.failure(failing);
    expect(breaker.state).toBe('open');
    now += 100;
    expect(breaker.state).toBe('half_open');
    breaker.success(slow);
    breaker.release(slow);
    expect(breaker.state).toBe('half_open');
    const first = breaker.enter();
    const second = breaker.enter();
    expect(() => breaker.enter()).toThrow(CircuitOpenError);
    breaker.success(first);
    expect(breaker.state).toBe('half_open');
    breaker.success(second);
    expect(breaker.state).toBe('closed');
  });

  it('a stale probe that fails does not reopen the next half-open period', () => {
    let now = 0;
    const breaker = new CircuitBreaker('http://origin.test', options, () => now);
    breaker.failure(breaker.enter());
    now += 100;
    const stale = breaker.enter();
    breaker.failure(breaker.enter());
    now += 100;
    expect(breaker.state).toBe('half_open');
    breaker.failure(stale);
    expect(breaker.state).toBe('half_open');
  });
});
