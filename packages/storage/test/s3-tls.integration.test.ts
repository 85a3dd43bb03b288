// The S3 driver over TLS (`useSSL: true`, its default) against the test kit's real S3 server,
// behind a local TLS terminator with a self-signed certificate (test/fixtures/tls, made with
// `openssl req -x509 … -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1`, valid to 2126).
// Over TLS the driver sends other headers than on plain HTTP (payloads UNSIGNED-PAYLOAD, a
// Content-MD5 per PUT and part): the whole conformance suite, a multipart upload, a streamed
// single PUT and a wrong secret key run here through https. The terminator's sockets have
// Nagle off (`noDelay`): with it on, small replies waited for delayed ACKs and the suite took 4×.
import { readFileSync } from 'node:fs';
import https from 'node:https';
import net from 'node:net';
import path from 'node:path';
import { Readable } from 'node:stream';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { isInfrastructureError } from '@voelgoed/contracts';
import { describeObjectStorage } from '@voelgoed/contracts/conformance';
import { radosgwInstallHint, readAll, type S3Server, startS3 } from '@voelgoed/testkit';
import { createS3Storage, isStorageError, type S3Storage, type S3StorageOptions } from '../src/index.js';
import { bytes, collect } from './helpers.js';

const fixtures = path.join(__dirname, 'fixtures', 'tls');
const cert = readFileSync(path.join(fixtures, 'cert.pem'));
const key = readFileSync(path.join(fixtures, 'key.pem'));
const MiB = 1024 * 1024;

let server: S3Server;
let bucket: string;
let terminator: tls.Server;
let tlsPort: number;
/** TLS sessions the terminator accepted (the driver really spoke TLS). */
let handshakes = 0;
const agent = new https.Agent({ keepAlive: true, ca: cert });
const opened: S3Storage[] = [];

beforeAll(async () => {
  server = await startS3();
  bucket = await server.createBucket();
  terminator = tls.createServer({ key, cert, noDelay: true }, (socket) => {
    handshakes++;
    const upstream = net.connect({
      port: server.clientOptions.port,
      host: server.clientOptions.endPoint,
      noDelay: true,
    });
    socket.pipe(upstream).pipe(socket);
    socket.on('error', () => upstream.destroy());
    upstream.on('error', () => socket.destroy());
    socket.on('close', () => upstream.destroy());
    upstream.on('close', () => socket.destroy());
  });
  await new Promise<void>((resolve) => terminator.listen(0, '127.0.0.1', resolve));
  tlsPort = (terminator.address() as net.AddressInfo).port;
});

afterAll(async () => {
  for (const s of opened) await s.close();
  agent.destroy();
  await new Promise((resolve) => terminator?.close(resolve));
  await server?.stop();
});

function storage(options: Partial<S3StorageOptions> = {}): S3Storage {
  const s = createS3Storage({
    ...server.clientOptions,
    port: tlsPort,
    useSSL: true,
    agent,
    bucket,
    ...options,
  });
  opened.push(s);
  return s;
}

/** A signed URL fetched as its bearer would, trusting the fixture's certificate. */
function fetchOverTls(
  url: string,
  init: { method: 'GET' | 'PUT'; body?: Buffer; contentType?: string },
): Promise<{ status: number; body: Uint8Array }> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = {};
    if (init.contentType) headers['content-type'] = init.contentType;
    if (init.body) headers['content-length'] = String(init.body.length);
    const req = https.request(url, { method: init.method, agent, headers }, (res) => {
      readAll(res).then((body) => resolve({ status: res.statusCode ?? 0, body }), reject);
    });
    req.on('error', reject);
    req.end(init.body);
  });
}

describe('conformance over TLS', () => {
  describeObjectStorage('S3Storage over TLS (test kit S3 server behind a TLS terminator)', () => storage(), {
    keyPrefix: 'tls-conformance',
    fetchSignedUrl: (_impl, url, init) => fetchOverTls(url, init),
    badInput: {
      // As in conformance.integration.test.ts: s3rver answers 500 to some DeleteObjects keys.
      alsoAccept: (error, call) =>
        call.startsWith('deleteMany(') && error.code === 'S3_ERROR' && error.retryable,
    },
  });
});

describe('S3Storage over TLS', () => {
  it('speaks TLS to the server (the terminator saw handshakes)', async () => {
    const before = handshakes;
    const s = storage({ agent: new https.Agent({ keepAlive: false, ca: cert }) });
    await s.put('tls/probe', 'x');
    expect(handshakes).toBeGreaterThan(before);
  });

  it('a multipart upload (Content-MD5 per part) round-trips byte-exact', async () => {
    const s = storage({ partSize: 5 * MiB, multipartThreshold: 5 * MiB });
    const body = bytes(11 * MiB + 7);
    const put = await s.put(
      'tls/multipart',
      Readable.from([body.subarray(0, 3 * MiB), body.subarray(3 * MiB)]),
    );
    expect(put.size).toBe(body.length);
    expect(put.etag).toMatch(/-3$/);
    const got = await s.get('tls/multipart');
    expect(Buffer.from(await readAll(got.body)).equals(body)).toBe(true);
  });

  it('a stream of declared size goes in one streamed PUT and round-trips', async () => {
    const s = storage({ multipartThreshold: 64 * MiB });
    const body = bytes(9 * MiB + 1);
    const put = await s.put('tls/streamed', Readable.from([body]), { size: body.length });
    expect(put.size).toBe(body.length);
    expect(Buffer.from(await readAll((await s.get('tls/streamed')).body)).equals(body)).toBe(true);
  });

  it('a checksum that does not match is refused before the server stores anything', async () => {
    const s = storage();
    const error = await s
      .put('tls/bad-md5', Buffer.from('hello'), {
        checksum: { algorithm: 'md5', value: Buffer.alloc(16).toString('base64'), encoding: 'base64' },
      })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(isInfrastructureError(error, 'INTEGRITY')).toBe(true);
    expect(await s.exists('tls/bad-md5')).toBe(false);
  });

  it('a wrong secret key is refused with ACCESS_DENIED (get, put, list, signed URL)', async () => {
    if (!server.capabilities.checksSecretKey) {
      throw new Error(
        `this test needs an S3 server that checks signatures, but the test kit started ${server.kind}: ` +
          `${radosgwInstallHint()}, or start a Docker engine for MinIO`,
      );
    }
    const s = storage({ secretKey: `${server.clientOptions.secretKey}x`, retries: 0 });
    for (const call of [
      () => s.get('tls/probe'),
      () => s.put('tls/denied', 'x'),
      () => collect(s.list('tls/')),
    ]) {
      const error = await call().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(isStorageError(error, 'ACCESS_DENIED')).toBe(true);
    }
    const res = await fetchOverTls(await s.signedUrl('tls/probe'), { method: 'GET' });
    expect(res.status).toBe(403);
  });
});
