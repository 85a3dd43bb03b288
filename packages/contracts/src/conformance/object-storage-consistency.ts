import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { type ErrorCode, ErrorCodes, isInfrastructureError } from '../errors.js';
import type { ObjectStorage } from '../ports/storage.js';
import { type ConformanceCheck, collect, randomKey, readAll } from './shared.js';

/**
 * Checks that every `ObjectStorage` driver answers alike where S3 servers, the filesystem and
 * memory would naturally differ: a copy onto itself, the etag of a large (multipart) upload, and
 * signed URLs for keys whose characters a browser or `fetch` would otherwise rewrite.
 * Plain async functions on `node:assert`, so that any test runner can call them.
 */

/** Options of {@link objectStorageConsistencyChecks}: the suite's own options pass through. */
export interface ObjectStorageConsistencyOptions<T extends ObjectStorage = ObjectStorage> {
  /** Start of every key the checks write (default `conformance`). */
  keyPrefix?: string;
  /** Whether the driver has signed URLs (default true); the signed-URL check runs only then. */
  signedUrl?: boolean;
  /** Fetches a signed URL as its bearer would (default: global `fetch`, for http/https URLs). */
  fetchSignedUrl?: (
    impl: T,
    url: string,
    init: { method: 'GET' | 'PUT'; body?: Buffer; contentType?: string },
  ) => Promise<{ status: number; body: Uint8Array }>;
}

/** Rejects unless `action` rejects with an `InfrastructureError` of `code`. */
async function rejectsWith(action: () => Promise<unknown>, code: ErrorCode, what: string): Promise<void> {
  await assert.rejects(action, (error: unknown) => {
    assert.ok(isInfrastructureError(error, code), `${what}: expected ${code}, got ${String(error)}`);
    return true;
  });
}

/**
 * `copy(k, k)` is a no-op that succeeds: bytes, content type, metadata, etag and last-modified
 * time stay as they were, and the info returned is `head(k)`'s. A missing source is NOT_FOUND.
 * (S3 refuses a plain CopyObject onto itself; a driver must not pass that on.)
 */
export async function checkCopyOntoItself(impl: ObjectStorage, keyPrefix = 'conformance'): Promise<void> {
  const key = randomKey(keyPrefix);
  const put = await impl.put(key, 'copied onto itself', {
    contentType: 'text/x-self',
    cacheControl: 'no-store',
    metadata: { keep: 'me' },
  });
  const before = await impl.head(key);
  const copied = await impl.copy(key, key);
  assert.deepEqual(copied, before);
  assert.equal(copied.etag, put.etag);
  assert.deepEqual(await impl.head(key), before);
  assert.equal((await readAll((await impl.get(key)).body)).toString(), 'copied onto itself');
  const missing = randomKey(keyPrefix);
  await rejectsWith(
    () => impl.copy(missing, missing),
    ErrorCodes.NOT_FOUND,
    'copy of a missing key onto itself',
  );
  assert.equal(await impl.exists(missing), false);
}

/**
 * A streamed put of unknown length past common multipart sizes (8 MiB + a bit) resolves with
 * a non-empty etag, and head, get and list give the same one.
 */
export async function checkLargePutEtag(impl: ObjectStorage, keyPrefix = 'conformance'): Promise<void> {
  const key = randomKey(keyPrefix);
  const size = 9 * 1024 * 1024 + 7;
  const chunk = Buffer.alloc(64 * 1024 + 1, 0x5a);
  const body = Readable.from(
    (function* () {
      for (let sent = 0; sent < size; sent += chunk.length)
        yield chunk.subarray(0, Math.min(chunk.length, size - sent));
    })(),
  );
  const put = await impl.put(key, body);
  assert.equal(put.size, size);
  assert.equal(typeof put.etag, 'string');
  assert.ok(put.etag.length > 0, 'put resolved with an empty etag');
  assert.doesNotMatch(put.etag, /"/);
  assert.equal((await impl.head(key)).etag, put.etag);
  const got = await impl.get(key);
  got.body.destroy();
  assert.equal(got.etag, put.etag);
  assert.deepEqual(
    (await collect(impl.list(key))).map((o) => [o.key, o.etag]),
    [[key, put.etag]],
  );
  await impl.delete(key);
}

/**
 * Keys a browser sends unchanged in a signed URL (dots that are not whole segments, spaces,
 * `?`, `#`, `%`, `\`, unicode) can be written and read through signed URLs, and the object
 * reached is the one signed for.
 */
export async function checkSignedUrlKeys<T extends ObjectStorage>(
  impl: T,
  fetchSigned: NonNullable<ObjectStorageConsistencyOptions<T>['fetchSignedUrl']>,
  keyPrefix = 'conformance',
): Promise<void> {
  const base = randomKey(keyPrefix);
  const names = ['.hidden', 'a..b', '...', 'x.', 'sp ace', 'q?h#p%25&a=b', 'back\\slash', 'ünï ✓'];
  for (const name of names) {
    const key = `${base}/${name}/end`;
    const putUrl = await impl.signedUrl(key, { method: 'PUT', expiresInS: 300 });
    const put = await fetchSigned(impl, putUrl, { method: 'PUT', body: Buffer.from(`via url: ${name}`) });
    assert.equal(put.status, 200, `signed PUT of a key with '${name}'`);
    assert.equal((await readAll((await impl.get(key)).body)).toString(), `via url: ${name}`);
    await impl.put(key, `direct: ${name}`);
    const got = await fetchSigned(impl, await impl.signedUrl(key, { expiresInS: 300 }), { method: 'GET' });
    assert.equal(got.status, 200, `signed GET of a key with '${name}'`);
    assert.equal(Buffer.from(got.body).toString(), `direct: ${name}`);
  }
  assert.equal((await collect(impl.list(`${base}/`))).length, names.length);
}

async function globalFetch(
  _impl: ObjectStorage,
  url: string,
  init: { method: 'GET' | 'PUT'; body?: Buffer; contentType?: string },
): Promise<{ status: number; body: Uint8Array }> {
  assert.match(url, /^https?:/, 'the signed URL is not http(s): pass fetchSignedUrl');
  const response = await fetch(url, {
    method: init.method,
    ...(init.body === undefined ? {} : { body: init.body }),
    ...(init.contentType === undefined ? {} : { headers: { 'content-type': init.contentType } }),
  });
  return { status: response.status, body: new Uint8Array(await response.arrayBuffer()) };
}

/** The checks above as named conformance checks (registered by `objectStorageChecks`). */
export function objectStorageConsistencyChecks<T extends ObjectStorage>(
  options: ObjectStorageConsistencyOptions<T> = {},
): ConformanceCheck<T>[] {
  const keyPrefix = options.keyPrefix ?? 'conformance';
  const checks: ConformanceCheck<T>[] = [
    {
      name: 'copy onto itself is a no-op: bytes, metadata, etag and last-modified stay; a missing source is NOT_FOUND',
      run: (impl) => checkCopyOntoItself(impl, keyPrefix),
    },
    {
      name: 'a streamed put past multipart size resolves with the etag head, get and list give',
      timeoutMs: 120_000,
      run: (impl) => checkLargePutEtag(impl, keyPrefix),
    },
  ];
  if (options.signedUrl !== false) {
    const fetchSigned = options.fetchSignedUrl ?? globalFetch;
    checks.push({
      name: 'signed URLs carry keys with dots, spaces, ?, #, %, \\ and unicode to the object signed for',
      run: (impl) => checkSignedUrlKeys(impl, fetchSigned, keyPrefix),
    });
  }
  return checks;
}
