import { ErrorCodes } from '../errors.js';
import type { ObjectStorage } from '../ports/storage.js';
import { expect } from './assert.js';
import { type ObjectStorageTopicContext, pattern, readAll } from './object-storage-support.js';
import { type ConformanceCheck, expectInfrastructureError } from './shared.js';

// ObjectStorage suite, partial and failed reads: byte ranges and missing objects.

const { INVALID_ARGUMENT, NOT_FOUND } = ErrorCodes;

/** getRange's ranges, good and bad, and NOT_FOUND from every read of a missing object. */
export function rangeChecks<T extends ObjectStorage>(
  context: ObjectStorageTopicContext<T>,
): ConformanceCheck<T>[] {
  const k = context.newKey;
  return [
    {
      name: 'getRange returns inclusive byte ranges, cut at the end of the object',
      async run(impl) {
        const key = k();
        const data = pattern(100);
        await impl.put(key, data);
        const cases: [number, number, Buffer][] = [
          [0, 0, data.subarray(0, 1)],
          [10, 19, data.subarray(10, 20)],
          [99, 99, data.subarray(99, 100)],
          [0, 99, data],
          [90, 1000, data.subarray(90)],
        ];
        for (const [start, end, expected] of cases) {
          const got = await impl.getRange(key, start, end);
          expect((await readAll(got.body)).equals(expected)).toBe(true);
          expect(got.size).toBe(100);
          expect(got.key).toBe(key);
        }
      },
    },
    {
      name: 'getRange rejects bad ranges with INVALID_ARGUMENT',
      async run(impl) {
        const key = k();
        await impl.put(key, pattern(100));
        const bad: [number, number][] = [
          [5, 4],
          [-1, 3],
          [0, -1],
          [1.5, 3],
          [0, 2.5],
          [Number.NaN, 3],
          [0, Number.POSITIVE_INFINITY],
          [100, 200],
          [1000, 1000],
        ];
        for (const [start, end] of bad) {
          await expectInfrastructureError(() => impl.getRange(key, start, end), INVALID_ARGUMENT);
        }
      },
    },
    {
      name: 'missing objects reject with NOT_FOUND (get, getRange, head, copy)',
      async run(impl) {
        const missing = k();
        await expectInfrastructureError(() => impl.get(missing), NOT_FOUND);
        await expectInfrastructureError(() => impl.getRange(missing, 0, 10), NOT_FOUND);
        await expectInfrastructureError(() => impl.head(missing), NOT_FOUND);
        await expectInfrastructureError(() => impl.copy(missing, k()), NOT_FOUND);
        expect(await impl.exists(missing)).toBe(false);
      },
    },
  ];
}
