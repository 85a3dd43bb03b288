import { ErrorCodes, isInfrastructureError } from '../errors.js';
import type { ObjectStorage } from '../ports/storage.js';
import { expect } from './assert.js';
import {
  BAD_KEYS,
  collect,
  getBytes,
  longestKey,
  type ObjectStorageTopicContext,
} from './object-storage-support.js';
import { type ConformanceCheck, expectInfrastructureError } from './shared.js';

// ObjectStorage suite, keys: which the port refuses, which it accepts, and that no alias of a
// key reaches another object.

const { INVALID_ARGUMENT } = ErrorCodes;

/** Bad keys refused by every operation; the longest and oddest good keys accepted. */
export function keyValidityChecks<T extends ObjectStorage>(
  context: ObjectStorageTopicContext<T>,
): ConformanceCheck<T>[] {
  const { newKey: k, signedUrl } = context;
  return [
    {
      name: 'bad keys reject with INVALID_ARGUMENT in every operation',
      async run(impl) {
        const good = k();
        await impl.put(good, 'x');
        for (const [why, key] of BAD_KEYS) {
          const bad = key as string;
          const ops: [string, () => Promise<unknown>][] = [
            ['put', () => impl.put(bad, 'x')],
            ['get', () => impl.get(bad)],
            ['getRange', () => impl.getRange(bad, 0, 0)],
            ['head', () => impl.head(bad)],
            ['exists', () => impl.exists(bad)],
            ['delete', () => impl.delete(bad)],
            ['deleteMany', () => impl.deleteMany([good, bad])],
            ['copy from', () => impl.copy(bad, k())],
            ['copy to', () => impl.copy(good, bad)],
          ];
          if (signedUrl) ops.push(['signedUrl', () => impl.signedUrl(bad)]);
          for (const [op, run] of ops) {
            try {
              const error = await expectInfrastructureError(run, INVALID_ARGUMENT);
              // The message names the field, never the key itself.
              expect(error.message).toMatch(/key/);
              if (typeof key === 'string' && key.length > 2) expect(error.message).not.toContain(key);
            } catch (error) {
              throw new Error(`${op} with a bad key (${why}): ${(error as Error).message}`);
            }
          }
        }
        // A failed deleteMany deleted nothing.
        expect(await impl.exists(good)).toBe(true);
      },
    },
    {
      name: 'a key of exactly 1024 UTF-8 bytes, and keys with spaces, unicode and dots, are accepted',
      async run(impl) {
        const keys = [longestKey(k()), `${k()}/with space/ünïcödé ✓/file.tar.gz`, `${k()}/b/.hidden/c..d`];
        for (const key of keys) {
          await impl.put(key, key);
          expect((await getBytes(impl, key)).toString()).toBe(key);
          await impl.delete(key);
        }
      },
    },
  ];
}

/** Keys with dot or empty segments never reach the object their folded form names. */
export function keyAliasChecks<T extends ObjectStorage>(
  context: ObjectStorageTopicContext<T>,
): ConformanceCheck<T>[] {
  const k = context.newKey;
  return [
    {
      name: 'dot and empty segments never reach another key: a/./b, ./x, a//b, a/ are refused or stay apart',
      async run(impl) {
        const base = k();
        const target = `${base}/a/b`;
        const original = await impl.put(target, 'the object at a/b');
        const source = `${base}/source`;
        await impl.put(source, 'copied over?');
        // S3 servers and HTTP clients fold these paths onto a/b; the port's rule refuses them.
        const aliases = [`${base}/a/./b`, `${base}/./a/b`, `${base}/a//b`, `${base}/a/b/`, `${base}/a/b/.`];
        // Refused with INVALID_ARGUMENT (true) or done to an object of its own (false).
        const refused = async (op: string, run: () => Promise<unknown>): Promise<boolean> => {
          try {
            await run();
            return false;
          } catch (error) {
            if (isInfrastructureError(error, INVALID_ARGUMENT)) return true;
            throw new Error(
              `${op} of a key with a dot or empty segment: expected INVALID_ARGUMENT or a separate object, got ${String(error)}`,
            );
          }
        };
        for (const alias of aliases) {
          if (!(await refused('put', () => impl.put(alias, `written as ${alias}`))))
            expect((await getBytes(impl, alias)).toString()).toBe(`written as ${alias}`);
          await refused('copy to', () => impl.copy(source, alias));
          await refused('delete', () => impl.delete(alias));
        }
        expect((await getBytes(impl, target)).toString()).toBe('the object at a/b');
        expect((await impl.head(target)).etag).toBe(original.etag);
        const listed = (await collect(impl.list(`${base}/a/`))).filter((o) => o.key === target);
        expect(listed.map((o) => o.etag)).toEqual([original.etag]);
        for (const prefix of [`${base}/./`, `${base}//`, `${base}/a/../`]) {
          try {
            expect(await collect(impl.list(prefix))).toEqual([]);
          } catch (error) {
            if (!isInfrastructureError(error, INVALID_ARGUMENT)) throw error;
          }
        }
      },
    },
  ];
}
