import { join } from 'node:path';
import { beforeAll, describe, expect, it } from '@jest/globals';
import { type SnippetResult, typeCheckSnippets } from '@voelgoed/testkit/type-check';

/** Compile-time behaviour of this package's errors as a user imports them (type-checked snippets). */
const HEAD = `
import { ConnectionError, isRedisError, RedisReplyError, type RedisErrorCode } from '../src/index.js';
type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
declare const e: unknown;
`;

const GOOD: Record<string, string> = {
  narrowsOwnAndContractsCodes: `${HEAD}
if (isRedisError(e, 'REDIS_REPLY')) {
  const isReply: Equal<typeof e, RedisReplyError> = true;
  const reply: string = e.reply;
  void [isReply, reply];
}
if (isRedisError(e, 'CONNECTION')) {
  const isConnection: Equal<typeof e, ConnectionError> = true;
  const maybe: boolean = e.maybeExecuted;
  void [isConnection, maybe];
}
const code: RedisErrorCode = 'REDIS_REPLY';
void code;
`,
};

const BAD: Record<string, { snippet: string; codes: number[] }> = {
  misspeltCode: { snippet: `${HEAD}\nisRedisError(e, 'REDIS_REPLYY');\n`, codes: [2345] },
  fieldOfAnotherClass: { snippet: `${HEAD}\nif (isRedisError(e, 'TIMEOUT')) e.reply;\n`, codes: [2339] },
  // The factory is not public: the suggestion is the class ("did you mean 'ConnectionError'?").
  connectionErrorFactoryIsNotPublic: {
    snippet: `import { connectionError } from '../src/index.js';\nvoid connectionError;\n`,
    codes: [2724],
  },
};

describe('@voelgoed/redis error types (type-checked snippets)', () => {
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
