// The checks every adapter package's errors.test.ts makes of its errors, written once. A separate
// entry point (@voelgoed/testkit/adapter-errors): it needs Jest, the rest of the kit does not.
import { describe, expect, it } from '@jest/globals';

/** What the checks need of @voelgoed/contracts (pass `import * as contracts from '@voelgoed/contracts'`). */
export interface ContractsErrors {
  InfrastructureError: abstract new (...args: never[]) => unknown;
  isInfrastructureError(error: unknown): boolean;
}

export interface AdapterErrorsSpec {
  /** The package, as the suite's title names it: `@voelgoed/lock`. */
  packageName: string;
  /** The start of every message: `[voelgoed:lock]`. */
  prefix: string;
  /** The package's public module (`import * as lock from '../src/index.js'`). */
  module: object;
  contracts: ContractsErrors & object;
  /** The package's own invalid-argument factory (src/errors.ts). */
  invalidArgument: (message: string) => { code: string; retryable: boolean; message: string };
  /** Names of contracts classes the package re-exports: each must be the very class of contracts. */
  reExports: string[];
  /** Internal helpers that must not be exported (`invalidArgument`, `MESSAGE_PREFIX`, …). */
  internals: string[];
  /** The package's own assertions about what it re-exports (run in the same test). */
  moreReExportChecks?: () => void;
}

/**
 * Declares the suite `<packageName> errors` with the two checks every adapter shares: its errors
 * are InfrastructureErrors of contracts with the adapter's prefix, and it re-exports the contracts
 * classes it throws but none of its internal helpers. `packageTests` declares the package's own
 * tests in the same suite.
 */
export function describeAdapterErrors(spec: AdapterErrorsSpec, packageTests?: () => void): void {
  describe(`${spec.packageName} errors`, () => {
    it('are InfrastructureErrors of @voelgoed/contracts, prefixed with the adapter', () => {
      const error = spec.invalidArgument('key must not be empty');
      expect(error).toBeInstanceOf(spec.contracts.InfrastructureError);
      expect(spec.contracts.isInfrastructureError(error)).toBe(true);
      expect(error.code).toBe('INVALID_ARGUMENT');
      expect(error.retryable).toBe(false);
      expect(error.message).toBe(`${spec.prefix} key must not be empty`);
    });

    it('re-exports the contracts classes it throws, and no internal helpers', () => {
      for (const name of spec.reExports) {
        const own = Reflect.get(spec.module, name);
        expect([name, typeof own]).toEqual([name, 'function']);
        expect(own).toBe(Reflect.get(spec.contracts, name));
      }
      spec.moreReExportChecks?.();
      const exported = Object.keys(spec.module);
      for (const helper of spec.internals) expect(exported).not.toContain(helper);
    });

    packageTests?.();
  });
}
