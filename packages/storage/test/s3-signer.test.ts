import { createRequire } from 'node:module';
import { describe, expect, it } from '@jest/globals';
import { EMPTY_SHA256, SigV4Signer } from '../src/s3-signer.js';

// minio's own signer (its package exports dist/main/* to require): the lean client's requests
// must carry the signature minio would have given them.
const { signV4 } = createRequire(__filename)('minio/dist/main/signing.js') as {
  signV4(
    request: { method: string; path: string; headers: Record<string, string> },
    accessKey: string,
    secretKey: string,
    region: string,
    date: Date,
    sha256sum: string,
  ): string;
};

const credentials = {
  accessKey: 'AKIDEXAMPLE',
  secretKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
  region: 'eu-west-1',
};

/** Signs like minio's makeRequestStreamAsync: date and payload headers first, then signV4. */
function minioSigned(
  method: string,
  path: string,
  headers: Record<string, string>,
  hash: string,
  date: Date,
  token?: string,
) {
  const h: Record<string, string> = { ...headers };
  const iso = date.toISOString();
  h['x-amz-date'] =
    `${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 13)}${iso.slice(14, 16)}${iso.slice(17, 19)}Z`;
  h['x-amz-content-sha256'] = hash;
  if (token !== undefined) h['x-amz-security-token'] = token;
  h.authorization = signV4(
    { method, path, headers: h },
    credentials.accessKey,
    credentials.secretKey,
    credentials.region,
    date,
    hash,
  );
  return h;
}

const cases: [string, string, string, Record<string, string>, string][] = [
  [
    'GET of an object',
    'GET',
    '/bucket/a/b.txt',
    { host: '127.0.0.1:9000', 'user-agent': 'MinIO (linux; x64) minio-js/8.0.7' },
    EMPTY_SHA256,
  ],
  [
    'HEAD with a range and spaces in a value',
    'HEAD',
    '/bucket/k',
    { host: 'h', range: 'bytes=0-9', 'x-amz-meta-note': 'a  b   c' },
    EMPTY_SHA256,
  ],
  [
    'list with a query out of order and a bare flag',
    'GET',
    '/bucket?list-type=2&prefix=a%2Fb&encoding-type=url&max-keys=1000&uploads',
    { host: 'h' },
    EMPTY_SHA256,
  ],
  [
    'PUT with content headers left unsigned',
    'PUT',
    '/bucket/%C3%A9%20x',
    { host: 'h', 'content-type': 'text/plain', 'content-length': '5', 'cache-control': 'no-cache' },
    'a'.repeat(64),
  ],
  [
    'copy with a source header',
    'PUT',
    '/bucket/to',
    { host: 'h', 'x-amz-copy-source': '/bucket/from%20x' },
    EMPTY_SHA256,
  ],
  ['unsigned payload', 'PUT', '/bucket/k?partNumber=1&uploadId=abc', { host: 'h' }, 'UNSIGNED-PAYLOAD'],
  ['a path ending in ?', 'GET', '/bucket/k?', { host: 'h' }, EMPTY_SHA256],
];

describe('SigV4Signer signs as minio does', () => {
  it.each(cases)('%s', (_title, method, path, headers, hash) => {
    const date = new Date('2026-12-06T20:14:24.123Z');
    const ours = { ...headers };
    new SigV4Signer(credentials).sign(method, path, ours, hash, date);
    expect(ours).toEqual(minioSigned(method, path, headers, hash, date));
  });

  it('adds the session token and signs it', () => {
    const date = new Date('2026-01-31T23:59:59.999Z');
    const ours: Record<string, string> = { host: 'h' };
    new SigV4Signer({ ...credentials, sessionToken: 'token/with+chars' }).sign(
      'GET',
      '/b/k',
      ours,
      EMPTY_SHA256,
      date,
    );
    expect(ours).toEqual(minioSigned('GET', '/b/k', { host: 'h' }, EMPTY_SHA256, date, 'token/with+chars'));
    expect(ours.authorization).toContain('x-amz-security-token');
  });

  it('derives a new signing key when the day changes', () => {
    const signer = new SigV4Signer(credentials);
    for (const at of ['2026-12-06T23:59:59.999Z', '2026-12-07T00:00:00.000Z', '2026-12-06T12:00:00.000Z']) {
      const date = new Date(at);
      const ours: Record<string, string> = { host: 'h' };
      signer.sign('GET', '/b/k', ours, EMPTY_SHA256, date);
      expect(ours).toEqual(minioSigned('GET', '/b/k', { host: 'h' }, EMPTY_SHA256, date));
      expect(ours.authorization).toContain(
        `/${at.slice(0, 10).replaceAll('-', '')}/eu-west-1/s3/aws4_request`,
      );
    }
  });
});
