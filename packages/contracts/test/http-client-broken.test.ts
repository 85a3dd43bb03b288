import { describe, expect, it } from '@jest/globals';
import {
  createConformanceHttpHandler,
  findCheck,
  type HttpConformanceTarget,
  httpClientChecks,
} from '../src/conformance.js';
import { FakeHttpClient } from '../src/memory.js';
import { BrokenHttpClient, type HttpDefects } from './support/broken-http-clients.js';

const baseUrl = 'http://conformance.invalid';

function target(defects: HttpDefects): HttpConformanceTarget {
  const inner = new FakeHttpClient({ baseUrl, handler: createConformanceHttpHandler() });
  return { client: new BrokenHttpClient(inner, defects), baseUrl };
}

async function run(name: string, defects: HttpDefects): Promise<void> {
  await findCheck(httpClientChecks, name).run(target(defects));
}

/** Each defect, the checks that must catch it. */
const cases: [keyof HttpDefects, string[]][] = [
  [
    'dropIdempotencyKey',
    [
      'a POST with idempotencyKey: true is retried, with the same Idempotency-Key on every attempt',
      'a given idempotency key is sent as the Idempotency-Key header',
    ],
  ],
  ['retryEverything', ['a POST without an idempotency key is not retried']],
  [
    'newKeyPerAttempt',
    ['a POST with idempotencyKey: true is retried, with the same Idempotency-Key on every attempt'],
  ],
  [
    'neverThrowHttpErrors',
    [
      'a 4xx rejects with HttpStatusError (HTTP_STATUS) carrying status, headers and body',
      'a 5xx rejects with a retryable HttpStatusError',
      'retry: false makes a single attempt',
      'stream() rejects an error status with HttpStatusError',
    ],
  ],
  ['ignoreTimeout', ['a response slower than timeoutMs rejects with TIMEOUT']],
  ['ignoreSignal', ['aborting the signal rejects with ABORTED (before and during the request)']],
  [
    'ignoreQuery',
    [
      'query values are encoded and added to the query already in the URL',
      'response.url is the absolute URL, query included',
    ],
  ],
];

describe('the HttpClient suite fails a broken client', () => {
  for (const [defect, failing] of cases) {
    for (const name of failing) {
      it(`${defect}: fails "${name}"`, async () => {
        await expect(run(name, { [defect]: true })).rejects.toThrow();
      });
    }
    it(`${defect}: still passes an unrelated check (the failures are specific)`, async () => {
      await run('every method reaches the server (helpers and request)', { [defect]: true });
    });
  }

  it('every check passes against the same wrapper without defects', async () => {
    for (const check of httpClientChecks) await check.run(target({}));
  });
});
