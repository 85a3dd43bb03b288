// Runs s3rver (a fake S3 server) in a process of its own for @voelgoed/testkit (src/s3rver-process.ts),
// so that it can be killed and reaped like redis-server. Started as
//   node --openssl-legacy-provider s3rver-child.cjs <port> <directory> [bucket...]
// The flag matters: s3rver encrypts ListObjectsV2 continuation tokens with DES, which OpenSSL 3
// offers only in its legacy provider; without it, listing past the first 1,000 keys fails.
'use strict';
const S3rver = require('s3rver');

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
