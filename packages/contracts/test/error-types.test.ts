import { join } from 'node:path';
import { beforeAll, describe, expect, it } from '@jest/globals';
import { type SnippetResult, typeCheckSnippets } from '@voelgoed/testkit/type-check';

/**
 * Compile-time behaviour of the error guard: snippets a user would write, type-checked with the
 * package's tsconfig. The good ones must compile; each bad one must fail with the expected error.
 */
const HEAD = `
import {
  type ErrorCode,
  HttpErrorBody,
  type InfrastructureError,
  isInfrastructureError,
  LockTimeoutError,
  TimeoutError,
} from '../src/index.js';
type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
declare const e: unknown;
`;

const GOOD: Record<string, string> = {
  narrowsToTheClassOfTheCode: `${HEAD}
if (isInfrastructureError(e, 'HTTP_STATUS')) {
  const status: number = e.status;
  const text: string = e.response.body.text();
  const json: { ok: boolean } = e.response.body.json<{ ok: boolean }>();
  const bytes: Uint8Array = e.response.body;
  const body: HttpErrorBody = e.response.body;
  const code: 'HTTP_STATUS' = e.code;
  void [status, text, json, bytes, body, code];
}
if (isInfrastructureError(e, 'TIMEOUT')) {
  const isTimeout: Equal<typeof e, TimeoutError> = true;
  const maybe: boolean = e.maybeExecuted;
  void [isTimeout, maybe];
}
if (isInfrastructureError(e, 'LOCK_TIMEOUT')) {
  const isLockTimeout: Equal<typeof e, LockTimeoutError> = true;
  const attempts: number = e.attempts;
  void [isLockTimeout, attempts];
}
if (isInfrastructureError(e, 'CIRCUIT_OPEN')) {
  const after: number | undefined = e.retryAfterMs;
  void after;
}
`,
  withoutACodeItIsTheBaseClass: `${HEAD}
if (isInfrastructureError(e)) {
  const isBase: Equal<typeof e, InfrastructureError> = true;
  const code: string = e.code;
  const retryable: boolean = e.retryable;
  void [isBase, code, retryable];
}
`,
  bothBranchesKeepTheirType: `${HEAD}
declare const error: InfrastructureError;
if (isInfrastructureError(error, 'NOT_FOUND')) {
  const code: 'NOT_FOUND' = error.code;
  void code;
} else {
  // The classes differ by their code, so a failed check does not narrow to never.
  const code: string = error.code;
  void code;
}
`,
  aUnionOfCodesNarrowsToTheUnionOfClasses: `${HEAD}
declare const code: 'TIMEOUT' | 'CONNECTION';
if (isInfrastructureError(e, code)) {
  const maybe: boolean = e.maybeExecuted;
  void maybe;
}
declare const any: ErrorCode;
if (isInfrastructureError(e, any)) {
  const base: InfrastructureError = e;
  void base;
}
`,
  foreignCodesAreStillReadable: `${HEAD}
if (isInfrastructureError(e) && e.code === 'REDIS_REPLY') {
  const code: string = e.code;
  void code;
}
`,
};

const BAD: Record<string, { snippet: string; codes: number[] }> = {
  misspeltCode: { snippet: `${HEAD}\nisInfrastructureError(e, 'TIMEOUTT');\n`, codes: [2345] },
  adapterCodeThroughTheContractsGuard: {
    snippet: `${HEAD}\nisInfrastructureError(e, 'REDIS_REPLY');\n`,
    codes: [2345],
  },
  wideString: { snippet: `${HEAD}\ndeclare const s: string;\nisInfrastructureError(e, s);\n`, codes: [2345] },
  fieldOfAnotherClass: {
    snippet: `${HEAD}\nif (isInfrastructureError(e, 'TIMEOUT')) e.status;\n`,
    codes: [2339],
  },
  fieldWithoutACode: { snippet: `${HEAD}\nif (isInfrastructureError(e)) e.status;\n`, codes: [2339] },
  // "not assignable… Did you mean 'TIMEOUT'?"
  unknownErrorCode: { snippet: `${HEAD}\nconst code: ErrorCode = 'TIMEOUTT';\nvoid code;\n`, codes: [2820] },
};

describe('error guard types (type-checked snippets)', () => {
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
