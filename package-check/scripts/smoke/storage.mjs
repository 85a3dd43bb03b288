// The filesystem driver: put, get, list, delete in a temp dir.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createFsStorage } from '@voelgoed/storage';

const root = await mkdtemp(path.join(os.tmpdir(), 'voelgoed-storage-smoke-'));
try {
  const storage = createFsStorage({ root });
  await storage.put('docs/hello.txt', 'hello', { contentType: 'text/plain' });
  const got = await storage.get('docs/hello.txt');
  const chunks = [];
  for await (const c of got.body) chunks.push(c);
  if (Buffer.concat(chunks).toString() !== 'hello' || got.contentType !== 'text/plain')
    throw new Error('round trip failed');
  const keys = [];
  for await (const o of storage.list('docs/')) keys.push(o.key);
  if (keys.join() !== 'docs/hello.txt') throw new Error(`list gave ${keys.join()}`);
  await storage.delete('docs/hello.txt');
  if (await storage.exists('docs/hello.txt')) throw new Error('delete failed');
  console.log('storage: filesystem driver put/get/list/delete work');
} finally {
  await rm(root, { recursive: true, force: true });
}
