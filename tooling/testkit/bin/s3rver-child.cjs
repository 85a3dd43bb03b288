// Runs s3rver (a fake S3 server) in a process of its own for @voelgoed/testkit (src/s3rver-process.ts),
// so that it can be killed and reaped like redis-server. Started as
//   node --openssl-legacy-provider s3rver-child.cjs <port> <directory> [bucket...]
// The flag matters: s3rver encrypts ListObjectsV2 continuation tokens with DES, which OpenSSL 3
// offers only in its legacy provider; without it, listing past the first 1,000 keys fails.
'use strict';
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const { Transform } = require('node:stream');
const { pipeline } = require('node:stream/promises');
const S3rver = require('s3rver');
const FilesystemStore = require('s3rver/lib/stores/filesystem');

// s3rver writes an object straight into its final file and answers once the body has been
// read, not written. Two concurrent PUTs of one key then interleave in that file, and a GET right
// after a PUT can see a short file. S3 (and MinIO) replace an object atomically, so the test kit
// does too: write to a temp file beside it, wait until it is on disk, then rename it into place
// (with the object's md5 and metadata, one key at a time). A GET opens the file and reads its
// metadata in that key's turn, so its size, etag and bytes all belong to one PUT.
const keyTurns = new Map();
function inTurn(objectPath, fn) {
  const previous = keyTurns.get(objectPath) ?? Promise.resolve();
  const next = previous.then(fn, fn);
  const settled = next.catch(() => undefined);
  keyTurns.set(objectPath, settled);
  settled.then(() => {
    if (keyTurns.get(objectPath) === settled) keyTurns.delete(objectPath);
  });
  return next;
}
FilesystemStore.prototype.putObject = async function putObject(object) {
  const objectPath = this.getResourcePath(object.bucket, object.key, 'object');
  await fs.promises.mkdir(path.dirname(objectPath), { recursive: true });
  // Not the `._S3rver_object` suffix, so listing never shows it.
  const tempPath = `${objectPath}.${process.pid}-${crypto.randomBytes(6).toString('hex')}.partial`;
  const md5Context = crypto.createHash('md5');
  let size = 0;
  try {
    // s3rver hands every PUT over as a stream (the request, a form upload, joined parts).
    const count = new Transform({
      transform(chunk, encoding, callback) {
        md5Context.update(chunk, encoding);
        size += chunk.length;
        callback(null, chunk);
      },
    });
    await pipeline(object.content, count, fs.createWriteStream(tempPath));
  } catch (error) {
    await fs.promises.rm(tempPath, { force: true });
    throw error;
  }
  const md5 = md5Context.digest('hex');
  await inTurn(objectPath, async () => {
    await fs.promises.rename(tempPath, objectPath);
    await this.putMetadata(object.bucket, object.key, object.metadata, md5);
  });
  return { size, md5 };
};
const originalGetObject = FilesystemStore.prototype.getObject;
FilesystemStore.prototype.getObject = function getObject(bucket, key, options) {
  // s3rver's own reads the metadata, then waits until the file is open: in the key's turn, both
  // are of one PUT (an open file keeps its bytes when a later PUT renames another over it).
  return inTurn(this.getResourcePath(bucket, key, 'object'), () =>
    originalGetObject.call(this, bucket, key, options),
  );
};

const [port, directory, ...buckets] = process.argv.slice(2);

new S3rver({
  address: '127.0.0.1',
  port: Number(port),
  directory,
  silent: true,
  // s3rver never checks SigV4 signatures; this also lets SigV2 ones with any secret through.
  allowMismatchedSignatures: true,
  vhostBuckets: false,
  configureBuckets: buckets.map((name) => ({ name, configs: [] })),
})
  .run()
  .then((address) => process.stdout.write(`${JSON.stringify({ listening: address.port })}\n`))
  .catch((error) => {
    process.stderr.write(`${error?.stack || error}\n`);
    process.exit(1);
  });
