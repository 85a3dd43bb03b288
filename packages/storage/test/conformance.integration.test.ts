import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe } from '@jest/globals';
import { describeObjectStorage } from '@voelgoed/contracts/conformance';
import { type S3Server, startS3 } from '@voelgoed/testkit';
import {
  createFsStorage,
  createMemoryStorage,
  createS3Storage,
  type FsStorage,
  type MemoryObjectStorage,
  type S3Storage,
} from '../src/index.js';

let server: S3Server;
let bucket: string;
const roots: string[] = [];
const opened: S3Storage[] = [];
beforeAll(async () => {
  server = await startS3();
  bucket = await server.createBucket();
});
afterAll(async () => {
  for (const s of opened) s.close();
  await server?.stop();
  for (const root of roots) rmSync(root, { recursive: true, force: true });
});

describe('conformance', () => {
  describeObjectStorage(
    'S3Storage (test kit S3 server)',
    () => {
      const s = createS3Storage({ ...server.clientOptions, bucket });
      opened.push(s);
      return s;
    },
    {
      // Another storage on the same bucket: the after-close check reads through it.
      reopen: () => {
        const s = createS3Storage({ ...server.clientOptions, bucket });
        opened.push(s);
        return s;
      },
      badInput: {
        // s3rver parses the DeleteObjects XML with number coercion: a key such as '0' or '1.5'
        // reaches its store as a number and it answers 500 (a real S3 server deletes the key).
        alsoAccept: (error, call) =>
          call.startsWith('deleteMany(') && error.code === 'S3_ERROR' && error.retryable,
      },
    },
  );
  describeObjectStorage(
    'FsStorage',
    (): FsStorage => {
      const root = mkdtempSync(path.join(os.tmpdir(), 'voelgoed-fs-storage-'));
      roots.push(root);
      return createFsStorage({ root });
    },
    // Another storage on the same root: the after-close check reads through it.
    { signedUrl: false, reopen: (closed) => createFsStorage({ root: closed.root }) },
  );
  describeObjectStorage('MemoryObjectStorage (re-exported)', () => createMemoryStorage(), {
    fetchSignedUrl: (
      impl: MemoryObjectStorage,
      url: string,
      init: Parameters<MemoryObjectStorage['fetchSigned']>[1],
    ) => impl.fetchSigned(url, init),
  });
});
