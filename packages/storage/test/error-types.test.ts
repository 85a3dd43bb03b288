import { join } from 'node:path';
import { beforeAll, describe, expect, it } from '@jest/globals';
import { type SnippetResult, typeCheckSnippets } from '@voelgoed/testkit/type-check';

/** Compile-time behaviour of this package's errors as a user imports them (type-checked snippets). */
const HEAD = `
import { isStorageError, NotFoundError, PreconditionFailedError, type StorageErrorCode } from '../src/index.js';
type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
declare const e: unknown;
`;

const GOOD: Record<string, string> = {
  narrowsOwnAndContractsCodes: `${HEAD}
if (isStorageError(e, 'NOT_SUPPORTED')) {
  const code: 'NOT_SUPPORTED' = e.code;
  const retryable: boolean = e.retryable;
  void [code, retryable];
}
if (isStorageError(e, 'NOT_FOUND')) {
  const isNotFound: Equal<typeof e, NotFoundError> = true;
  void isNotFound;
}
if (isStorageError(e, 'PRECONDITION_FAILED')) {
  const isPrecondition: Equal<typeof e, PreconditionFailedError> = true;
  void isPrecondition;
}
const code: StorageErrorCode = 'ACCESS_DENIED';
void code;
`,
};

const BAD: Record<string, { snippet: string; codes: number[] }> = {
  misspeltCode: { snippet: `${HEAD}\nisStorageError(e, 'NOT_SUPORTED');\n`, codes: [2345] },
  anotherPackagesCode: { snippet: `${HEAD}\nisStorageError(e, 'REDIS_REPLY');\n`, codes: [2345] },
  helpersAreNotPublic: {
    snippet: `import { invalidArgument } from '../src/index.js';\nvoid invalidArgument;\n`,
    codes: [2724],
  },
};

describe('@voelgoed/storage error types (type-checked snippets)', () => {
  let results: Record<string, SnippetResult>;

  beforeAll(() => {
    const snippets = Object.fromEntries([
      ...Object.entries(GOOD).map(([name, text]) => [`good_${name}`, text]),
      ...Object.entries(BAD).map(([name, { snippet }]) => [`bad_${name}`, snippet]),
    ]);
    results = typeCheckSnippets(join(import.meta.dirname, '..'), snippets);
  }, 120_000);

  it.each(Object.keys(GOOD))('compiles: %s', (name) => {
    expect(results[`good_${name}`]).toEqual({ codes: [], messages: [] });
  });

  it.each(Object.keys(BAD))('fails with the expected error: %s', (name) => {
    expect(results[`bad_${name}`]?.codes).toEqual(BAD[name]!.codes);
  });
});
