import { describe, expect, it } from '@jest/globals';
import {
  checkCopyOntoItself,
  checkLargePutEtag,
  checkSignedUrlKeys,
} from '../src/conformance/object-storage-consistency.js';
import { InfrastructureError } from '../src/errors.js';
import { MemoryObjectStorage } from '../src/memory.js';
import type { ObjectInfo, PutBody, PutOptions, PutResult, SignedUrlOptions } from '../src/ports/storage.js';

const fetchSigned = (
  impl: MemoryObjectStorage,
  url: string,
  init: Parameters<MemoryObjectStorage['fetchSigned']>[1],
) => impl.fetchSigned(url, init);

/** What S3 does with a plain CopyObject onto itself. */
class CopyOntoItselfFails extends MemoryObjectStorage {
  override copy(fromKey: string, toKey: string): Promise<ObjectInfo> {
    if (fromKey === toKey) return Promise.reject(new InfrastructureError('S3_ERROR', 'InvalidRequest'));
    return super.copy(fromKey, toKey);
  }
}

/** Copies onto itself by writing the object again: a new etag and last-modified time. */
class CopyOntoItselfRewrites extends MemoryObjectStorage {
  override async copy(fromKey: string, toKey: string): Promise<ObjectInfo> {
    if (fromKey !== toKey) return super.copy(fromKey, toKey);
    await new Promise((r) => setTimeout(r, 5));
    await this.put(toKey, 'rewritten');
    return this.head(toKey);
  }
}

/** A radosgw 16 multipart upload passed through: the put resolves with an empty etag. */
class EmptyEtagForLargePuts extends MemoryObjectStorage {
  override async put(key: string, body: PutBody, options?: PutOptions): Promise<PutResult> {
    const result = await super.put(key, body, options);
    return result.size > 8 * 1024 * 1024 ? { ...result, etag: '' } : result;
  }
}

/** Signs the key as a browser would fold it: what follows a '?' or '#' is lost. */
class SignsAFoldedKey extends MemoryObjectStorage {
  override signedUrl(key: string, options?: SignedUrlOptions): Promise<string> {
    return super.signedUrl(key.replace(/[?#].*$/, ''), options);
  }
}

describe('the consistency checks', () => {
  it('pass on the memory driver', async () => {
    const impl = new MemoryObjectStorage();
    await checkCopyOntoItself(impl);
    await checkLargePutEtag(impl);
    await checkSignedUrlKeys(impl, fetchSigned);
  });

  it('fail a copy onto itself that is refused or that rewrites the object', async () => {
    await expect(checkCopyOntoItself(new CopyOntoItselfFails())).rejects.toThrow(/InvalidRequest/);
    await expect(checkCopyOntoItself(new CopyOntoItselfRewrites())).rejects.toThrow();
  });

  it('fail a large put that resolves with an empty etag', async () => {
    await expect(checkLargePutEtag(new EmptyEtagForLargePuts())).rejects.toThrow(/empty etag/);
  });

  it('fail signed URLs that reach another key than the one signed for', async () => {
    await expect(checkSignedUrlKeys(new SignsAFoldedKey(), fetchSigned)).rejects.toThrow();
  });
});
