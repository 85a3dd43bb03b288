import { createRequire } from 'node:module';
import { describe, expect, it } from '@jest/globals';
import { Client } from 'minio';
import { EMPTY_SHA256, SigV4Signer, uriEscape } from '../src/s3-signer.js';

// minio's own signer (its package exports dist/main/* to require): the lean client's requests
// must carry the signature minio would have given them.
const { signV4, presignSignatureV4 } = createRequire(__filename)('minio/dist/main/signing.js') as {
  presignSignatureV4(
    request: { method: string; protocol: string; path: string; headers: Record<string, string> },
    accessKey: string,
    secretKey: string,
    sessionToken: string | undefined,
    region: string,
    date: Date,
    expires: number,
  ): string;
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

/** minio's request layout (protected in its types), as the storage's signedUrl uses it. */
function layout(client: Client, objectName: string, query?: string) {
  return (
    client as unknown as {
      getRequestOptions(o: object): {
        method: string;
        protocol: string;
        path: string;
        headers: Record<string, string>;
      };
    }
  ).getRequestOptions({ method: 'GET', region: credentials.region, bucketName: 'bucket', objectName, query });
}

describe('SigV4Signer presigns as minio does', () => {
  const date = new Date('2026-12-06T20:14:24.123Z');
  const clients = {
    'http, path style, a port': new Client({
      endPoint: '127.0.0.1',
      port: 9000,
      useSSL: false,
      accessKey: 'x',
      secretKey: 'y',
      region: credentials.region,
      pathStyle: true,
    }),
    'https, default port': new Client({
      endPoint: 'cdn.example.com',
      useSSL: true,
      accessKey: 'x',
      secretKey: 'y',
      region: credentials.region,
      pathStyle: true,
    }),
  };
  const keys = ['a/b.txt', "ü é/(x)*!'~.pdf", 'a+b=c&d?e#f', '%2F already'];
  for (const [title, client] of Object.entries(clients)) {
    it.each(keys)(`${title}: %s`, (key) => {
      for (const query of [undefined, `response-content-type=${uriEscape('text/plain; charset=utf-8')}`]) {
        for (const sessionToken of [undefined, 'token/with+chars']) {
          const request = layout(client, key, query);
          const ours = new SigV4Signer({ ...credentials, sessionToken }).presign(request, 3600, date);
          const theirs = presignSignatureV4(
            request,
            credentials.accessKey,
            credentials.secretKey,
            sessionToken,
            credentials.region,
            date,
            3600,
          );
          expect(ours).toBe(theirs);
        }
      }
    });
  }

  it("encodes response-content-type as minio's presignedUrl does", async () => {
    const client = new Client({
      endPoint: '127.0.0.1',
      port: 9000,
      useSSL: false,
      accessKey: credentials.accessKey,
      secretKey: credentials.secretKey,
      region: credentials.region,
      pathStyle: true,
    });
    for (const type of ['text/plain', "text/plain; charset=utf-8 (x)*!'~"]) {
      const theirs = await client.presignedUrl(
        'GET',
        'bucket',
        'k/ü',
        600,
        { 'response-content-type': type },
        date,
      );
      const ours = new SigV4Signer(credentials).presign(
        layout(client, 'k/ü', `response-content-type=${uriEscape(type)}`),
        600,
        date,
      );
      expect(ours).toBe(theirs);
    }
  });
});
