import { ErrorCodes } from '../errors.js';
import type { ObjectStorage } from '../ports/storage.js';
import { expect } from './assert.js';
import { collect, type ObjectStorageTopicContext, readAll } from './object-storage-support.js';
import { type ConformanceCheck, expectInfrastructureError } from './shared.js';

// ObjectStorage suite, a closed storage: every call refuses, before it reads a body or reaches
// the store.

const { INVALID_ARGUMENT } = ErrorCodes;

/** A live abort signal that records in `touched` whether a listener was added to it. */
function watchedSignal(touched: string[]): AbortSignal {
  const signal = new AbortController().signal;
  const add = signal.addEventListener.bind(signal);
  signal.addEventListener = ((...args: Parameters<AbortSignal['addEventListener']>) => {
    touched.push('a listener was added to the signal');
    add(...args);
  }) as AbortSignal['addEventListener'];
  return signal;
}

/** After `close()`, every method rejects with INVALID_ARGUMENT, saying it is closed, and changes nothing. */
export function closedChecks<T extends ObjectStorage>(
  context: ObjectStorageTopicContext<T>,
): ConformanceCheck<T>[] {
  return [
    {
      name: 'after close(), every call rejects with INVALID_ARGUMENT and touches nothing',
      timeoutMs: 20_000,
      async run(impl) {
        const prefix = context.newKey();
        const kept = `${prefix}/a`;
        const other = `${prefix}/b`;
        const fresh = `${prefix}/new`;
        const before = await impl.put(kept, 'before close', { contentType: 'text/x-before' });
        await impl.put(other, 'also before close');
        // A listing under way when the storage closes: its next next() refuses too.
        const listing = impl.list(prefix)[Symbol.asyncIterator]();
        expect((await listing.next()).value?.key).toBe(kept);

        await impl.close();
        // What a refused call must leave alone: a body it must not start reading, a progress
        // callback it must not call, an abort signal it must not listen to.
        const touched: string[] = [];
        const body: AsyncIterable<Uint8Array> = {
          [Symbol.asyncIterator]() {
            touched.push('the put body was read');
            return (async function* () {
              yield new TextEncoder().encode('after close');
            })();
          },
        };
        const signal = watchedSignal(touched);
        const calls: [string, () => Promise<unknown>][] = [
          ['put', () => impl.put(kept, 'after close')],
          ['put of a new key', () => impl.put(fresh, 'after close')],
          [
            'put of a stream, with options',
            () =>
              impl.put(kept, body, {
                contentType: 'text/x-after',
                signal,
                onProgress: () => touched.push('put reported progress'),
              }),
          ],
          ['get', () => impl.get(kept)],
          ['get with options', () => impl.get(kept, { signal })],
          ['getRange', () => impl.getRange(kept, 0, 1)],
          ['getRange with options', () => impl.getRange(kept, 0, 1, { signal })],
          ['head', () => impl.head(kept)],
          ['exists', () => impl.exists(kept)],
          ['delete', () => impl.delete(kept)],
          ['deleteMany', () => impl.deleteMany([kept, other])],
          ['copy', () => impl.copy(kept, fresh)],
          ['copy onto itself', () => impl.copy(kept, kept)],
          ['signedUrl', () => impl.signedUrl(kept)],
          ['signedUrl with options', () => impl.signedUrl(fresh, { method: 'PUT', expiresInS: 60 })],
          ['list', () => collect(impl.list(prefix))],
          ['list with options', () => collect(impl.list(prefix, { limit: 5 }))],
          ['list under way', () => listing.next()],
        ];
        for (const [name, call] of calls) {
          const error = await expectInfrastructureError(call, INVALID_ARGUMENT).catch((e: Error) => {
            throw new Error(`${name}: ${e.message}`);
          });
          expect({ name, closed: /closed/.test(error.message), retryable: error.retryable }).toEqual({
            name,
            closed: true,
            retryable: false,
          });
        }
        expect(touched).toEqual([]);
        // Still idempotent, and still down.
        expect(await impl.close()).toBeUndefined();
        expect((await impl.health()).status).toBe('down');

        // Through another instance over the same objects (when the suite has one): nothing changed.
        const reopened = await context.reopen?.(impl);
        if (!reopened) return;
        try {
          const head = await reopened.head(kept);
          expect({ etag: head.etag, contentType: head.contentType }).toEqual({
            etag: before.etag,
            contentType: 'text/x-before',
          });
          expect((await readAll((await reopened.get(kept)).body)).toString()).toBe('before close');
          expect(await reopened.exists(fresh)).toBe(false);
          expect((await collect(reopened.list(prefix))).map((o) => o.key)).toEqual([kept, other]);
        } finally {
          await reopened.close();
        }
      },
    },
  ];
}
