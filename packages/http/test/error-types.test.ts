import { join } from 'node:path';
import { beforeAll, describe, expect, it } from '@jest/globals';
import { type SnippetResult, typeCheckSnippets } from '@voelgoed/testkit/type-check';

/**
 * Compile-time behaviour of this package's errors as a user imports them: snippets type-checked
 * with the package's tsconfig. The good ones must compile; each bad one must fail as expected.
 */
const HEAD = `
import type { IncomingMessage } from 'node:http';
import {
  ConnectionError,
  ForbiddenTargetError,
  HttpStatusError,
  type HttpErrorCode,
  isHttpError,
  isInfrastructureError,
  TimeoutError,
  verifyHmacSignature,
  WebhookVerificationError,
} from '../src/index.js';
type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
declare const e: unknown;
`;

const GOOD: Record<string, string> = {
  reExportedClasses: `${HEAD}
const classes = [ConnectionError, HttpStatusError, TimeoutError, WebhookVerificationError];
if (e instanceof HttpStatusError) {
  const status: number = e.status;
  const json: unknown = e.response.body.json();
  void [status, json];
}
void classes;
`,
  ownCodesNarrowToOwnClasses: `${HEAD}
if (isHttpError(e, 'FORBIDDEN_TARGET')) {
  const isForbidden: Equal<typeof e, ForbiddenTargetError> = true;
  void isForbidden;
}
if (isHttpError(e, 'SIGNATURE_INVALID')) {
  const reason: string = e.reason;
  void reason;
}
if (isHttpError(e, 'TOO_MANY_REDIRECTS')) {
  const code: 'TOO_MANY_REDIRECTS' = e.code;
  void code;
}
`,
  contractsCodesNarrowThroughEitherGuard: `${HEAD}
if (isHttpError(e, 'HTTP_STATUS')) {
  const status: number = e.status;
  const text: string = e.response.body.text();
  void [status, text];
}
if (isInfrastructureError(e, 'HTTP_STATUS')) {
  const decoded: { error: string } = e.response.body.json<{ error: string }>();
  void decoded;
}
const code: HttpErrorCode = 'TIMEOUT';
void code;
`,
  hmacTakesNodeHeaderValues: `${HEAD}
declare const req: IncomingMessage;
verifyHmacSignature('{}', req.headers['x-signature'], 'secret', { algorithm: 'sha512' });
`,
};

const BAD: Record<string, { snippet: string; codes: number[] }> = {
  misspeltOwnCode: { snippet: `${HEAD}\nisHttpError(e, 'TOO_MANY_REDIRECT');\n`, codes: [2345] },
  ownCodeThroughTheContractsGuard: {
    snippet: `${HEAD}\nisInfrastructureError(e, 'FORBIDDEN_TARGET');\n`,
    codes: [2345],
  },
  fieldOfAnotherClass: {
    snippet: `${HEAD}\nif (isHttpError(e, 'FORBIDDEN_TARGET')) e.status;\n`,
    codes: [2339],
  },
  // "has no exported member" (2305), or the same with "did you mean…" (2724).
  invalidArgumentIsNotPublic: {
    snippet: `import { invalidArgument } from '../src/index.js';\nvoid invalidArgument;\n`,
    codes: [2724],
  },
  messagePrefixIsNotPublic: {
    snippet: `import { MESSAGE_PREFIX } from '../src/index.js';\nvoid MESSAGE_PREFIX;\n`,
    codes: [2305],
  },
  hmacVerifierNoLongerReturnsABoolean: {
    snippet: `${HEAD}\nconst ok: boolean = verifyHmacSignature('{}', 'ab', 'secret');\nvoid ok;\n`,
    codes: [2322],
  },
};

describe('@voelgoed/http error types (type-checked snippets)', () => {
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
