import { ErrorCodes } from '../errors.js';
import type { ObjectStorage } from '../ports/storage.js';
import { expect } from './assert.js';
import {
  chunked,
  getBytes,
  type ObjectStorageTopicContext,
  pattern,
  readAll,
} from './object-storage-support.js';
import { type ConformanceCheck, expectInfrastructureError } from './shared.js';

// ObjectStorage suite, the caller's side of a call: abort signals, progress reports, and the
// caller's buffers.

const { ABORTED, INVALID_ARGUMENT } = ErrorCodes;

/** Aborted signals, progress callbacks, and buffers the caller changes afterwards. */
export function callerChecks<T extends ObjectStorage>(
  context: ObjectStorageTopicContext<T>,
): ConformanceCheck<T>[] {
  const k = context.newKey;
  return [
    {
      name: 'an aborted signal rejects put, get and getRange with ABORTED',
      async run(impl) {
        const key = k();
        const controller = new AbortController();
        controller.abort();
        await expectInfrastructureError(() => impl.put(key, 'x', { signal: controller.signal }), ABORTED);
        expect(await impl.exists(key)).toBe(false);
        await impl.put(key, 'xyz');
        await expectInfrastructureError(() => impl.get(key, { signal: controller.signal }), ABORTED);
        await expectInfrastructureError(
          () => impl.getRange(key, 0, 1, { signal: controller.signal }),
          ABORTED,
        );
        // A live signal, and a field getRange does not have.
        const live = new AbortController();
        const range = await impl.getRange(key, 1, 2, { signal: live.signal });
        expect((await readAll(range.body)).toString()).toBe('yz');
        await expectInfrastructureError(
          () => impl.getRange(key, 0, 1, { sginal: live.signal } as never),
          INVALID_ARGUMENT,
        );
      },
    },
    {
      name: 'put reports progress, ending at the full size',
      async run(impl) {
        const data = pattern(200_000);
        const seen: number[] = [];
        await impl.put(k(), chunked(data), { onProgress: (n) => seen.push(n) });
        expect(seen.length).toBeGreaterThan(0);
        expect(seen[seen.length - 1]).toBe(data.length);
        // Never decreasing: the reports are already in ascending order.
        expect(seen).toEqual([...seen].sort((a, b) => a - b));
      },
    },
    {
      name: 'what is stored cannot be changed through the caller’s buffers',
      async run(impl) {
        const key = k();
        const input = new Uint8Array([1, 2, 3, 4]);
        await impl.put(key, input);
        input[0] = 99;
        const first = await getBytes(impl, key);
        expect([...first]).toEqual([1, 2, 3, 4]);
        first[1] = 99;
        expect([...(await getBytes(impl, key))]).toEqual([1, 2, 3, 4]);
      },
    },
  ];
}
