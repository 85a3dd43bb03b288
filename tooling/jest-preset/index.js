// Shared Jest configuration. A package's jest.config.js is:
//   import { createJestConfig } from '@voelgoed/jest-preset';
//   export default createJestConfig(import.meta.dirname);
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire(import.meta.url);

/**
 * @param {string} packageDir the package's own folder
 * @param {import('jest').Config} [overrides]
 * @returns {import('jest').Config}
 */
export function createJestConfig(packageDir, overrides = {}) {
  const pkg = JSON.parse(readFileSync(path.join(packageDir, 'package.json'), 'utf8'));
  return {
    ...testkitHooks(packageDir),
    rootDir: packageDir,
    displayName: pkg.name,
    testEnvironment: 'node',
    testMatch: ['<rootDir>/test/**/*.test.ts'],
    // Tests are compiled to CommonJS by swc (no type-checking here: `tsc` does that in the
    // typecheck task). ESM-only dependencies such as got are loaded by Node's require(esm),
    // which Jest reaches when run with --experimental-vm-modules (see bin/voelgoed-jest.js).
    transform: {
      '^.+\\.(t|j)s$': [
        require.resolve('@swc/jest'),
        {
          jsc: {
            parser: { syntax: 'typescript', decorators: false },
            target: 'es2023',
            transform: { useDefineForClassFields: true },
          },
          module: { type: 'commonjs' },
          sourceMaps: 'inline',
        },
      ],
    },
    // Sources use NodeNext-style imports ('./errors.js'); map them back to the .ts file.
    moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
    moduleFileExtensions: ['ts', 'js', 'mjs', 'cjs', 'json'],
    testTimeout: 60_000,
    reporters: ['default', [require.resolve('./reporter.cjs'), { packageName: pkg.name }]],
    ...overrides,
  };
}

/**
 * Packages that use @voelgoed/testkit get its global setup/teardown: a state dir per run and a
 * reaper that kills any server a crashed test worker left behind.
 */
function testkitHooks(packageDir) {
  const local = createRequire(path.join(packageDir, 'package.json'));
  try {
    return {
      globalSetup: local.resolve('@voelgoed/testkit/jest-global-setup'),
      globalTeardown: local.resolve('@voelgoed/testkit/jest-global-teardown'),
    };
  } catch {
    return {};
  }
}
