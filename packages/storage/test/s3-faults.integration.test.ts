// Failure modes a real S3 server does not produce on demand (5xx and 429 answers, a response body
// that stalls, a 200 carrying an <Error>, a listing that is no listing), answered by a local
// node:http server that speaks just enough S3 for each test.
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { type InfrastructureError, isInfrastructureError } from '@voelgoed/contracts';
import { readAll, until } from '@voelgoed/testkit';
import type { S3Storage, S3StorageOptions } from '../src/index.js';
import { bytes, chunks, collect, fakeS3Storage } from './helpers.js';

type Handler = (req: http.IncomingMessage, res: http.ServerResponse, url: URL) => void;

let handler: Handler = (_req, res) => res.end();
let server: http.Server;
let port: number;
const sockets = new Set<Socket>();
const opened: S3Storage[] = [];
const agents: http.Agent[] = [];
const requests: { method: string; url: URL }[] = [];

beforeAll(async () => {
  server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://s3.test');
      requests.push({ method: req.method ?? 'GET', url });
      handler(req, res, url);
    });
  });
  // Idle keep-alive connections stay open (as behind many proxies): a socket the client does not
  // give back is not rescued by the server closing it.
  server.keepAliveTimeout = 0;
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});

afterEach(() => {
  requests.length = 0;
});

afterAll(async () => {
  for (const s of opened) await s.close();
  for (const a of agents) a.destroy();
  for (const socket of sockets) socket.destroy();
  await new Promise((resolve) => server.close(resolve));
});

function storage(options: Partial<S3StorageOptions> = {}): S3Storage {
  const s = fakeS3Storage(port, 'fault-bucket', { retryBaseDelayMs: 1, ...options });
  opened.push(s);
  return s;
}

function agent(maxSockets: number): http.Agent {
  const a = new http.Agent({ keepAlive: true, maxSockets });
  agents.push(a);
  return a;
}

/** Sockets of `a` given to a request and not yet given back. */
function busy(a: http.Agent): number {
  return Object.values(a.sockets).reduce((n, list) => n + (list?.length ?? 0), 0);
}

async function rejection(promise: Promise<unknown>): Promise<InfrastructureError> {
  try {
    await promise;
  } catch (error) {
    if (isInfrastructureError(error)) return error;
    throw error;
  }
  throw new Error('expected a rejection');
}

const OK_HEAD = {
  etag: '"d41d8cd98f00b204e9800998ecf8427e"',
  'content-length': '0',
  'last-modified': new Date(0).toUTCString(),
};

describe('S3 5xx and 429 answers', () => {
  it('give their sockets back: after more of them than maxSockets, the recovered server answers', async () => {
    const pool = agent(4);
    const s = storage({ agent: pool, requestTimeoutMs: 5000 });
    const statuses = [503, 500, 502, 429, 504];
    let healthy = false;
    let n = 0;
    handler = (_req, res) => {
      if (healthy) {
        res.writeHead(200, OK_HEAD);
        res.end();
        return;
      }
      const status = statuses[n++ % statuses.length] as number;
      res.writeHead(status, { 'content-type': 'application/xml' });
      res.end('<?xml version="1.0"?><Error><Code>SlowDown</Code><Message>slow down</Message></Error>');
    };
    for (let i = 0; i < 3 * 4; i++) {
      const error = await rejection(s.head('k'));
      expect(error.code).toBe('S3_ERROR');
      expect(error.retryable).toBe(true);
      expect(error.message).toMatch(/HTTP (429|50[0234])/);
    }
    // Each failed answer's body is read to its end: its socket goes back to the pool.
    await until(() => busy(pool) === 0, { timeoutMs: 5000 });
    healthy = true;
    await expect(s.head('k')).resolves.toMatchObject({ size: 0 });
    await until(() => busy(pool) === 0, { timeoutMs: 5000 });
  }, 20_000);

  it("with the storage's own agent, more 503s than its 64 sockets leave it working", async () => {
    const s = storage({ requestTimeoutMs: 5000, retries: 1 });
    let healthy = false;
    handler = (_req, res) => {
      if (healthy) {
        res.writeHead(200, OK_HEAD);
        res.end();
        return;
      }
      res.writeHead(503, { 'content-type': 'application/xml' });
      res.end('<?xml version="1.0"?><Error><Code>SlowDown</Code><Message>slow down</Message></Error>');
    };
    for (let i = 0; i < 40; i++) expect((await rejection(s.head('k'))).code).toBe('S3_ERROR');
    healthy = true;
    await expect(s.head('k')).resolves.toMatchObject({ size: 0 });
  }, 20_000);
});

describe('S3 request deadline', () => {
  it('covers the wait for a socket: a call queued behind a body nobody reads fails with TIMEOUT', async () => {
    const pool = agent(1);
    const s = storage({ agent: pool, requestTimeoutMs: 300 });
    handler = (req, res) => {
      res.writeHead(200, { ...OK_HEAD, 'content-length': '5', 'content-type': 'text/plain' });
      res.end(req.method === 'HEAD' ? undefined : 'hello');
    };
    // The only socket stays with this body until it is read.
    const held = await s.get('held');
    const error = await rejection(s.head('k'));
    expect(error.code).toBe('TIMEOUT');
    expect(error.retryable).toBe(true);
    // The held body is intact (a get's body has no idle deadline), and the socket serves again.
    expect((await readAll(held.body)).toString()).toBe('hello');
    await expect(s.head('k')).resolves.toMatchObject({ size: 5 });
  }, 20_000);

  it('a call queued for a socket ends with ABORTED when its signal aborts, without any deadline', async () => {
    const pool = agent(1);
    const s = storage({ agent: pool, requestTimeoutMs: 0 });
    handler = (req, res) => {
      res.writeHead(200, { ...OK_HEAD, 'content-length': '5', 'content-type': 'text/plain' });
      res.end(req.method === 'HEAD' ? undefined : 'hello');
    };
    const held = await s.get('held');
    const controller = new AbortController();
    const queued = s.getRange('k', 0, 1, { signal: controller.signal });
    // The request waits in the agent's queue behind the held body.
    await until(() => Object.values(pool.requests).some((list) => (list?.length ?? 0) > 0), {
      timeoutMs: 5000,
    });
    controller.abort();
    expect((await rejection(queued)).code).toBe('ABORTED');
    expect((await readAll(held.body)).toString()).toBe('hello');
  }, 20_000);

  it('covers a response body that stops: a put answered 200 whose body stalls fails with TIMEOUT', async () => {
    const s = storage({ requestTimeoutMs: 300 });
    handler = (_req, res) => {
      res.writeHead(200, { etag: '"abc"', 'content-length': '100' });
      res.write('x');
    };
    const error = await rejection(s.put('k', 'v'));
    expect(error.code).toBe('TIMEOUT');
    expect(error.message).toContain('put');
  }, 20_000);

  it('covers a listing whose body stalls, with retries spent on it', async () => {
    const s = storage({ requestTimeoutMs: 300, retries: 1 });
    handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/xml', 'content-length': '4096' });
      res.write('<?xml version="1.0"?><ListBucketResult>');
    };
    expect((await rejection(collect(s.list('')))).code).toBe('TIMEOUT');
    expect(requests.filter((r) => r.method === 'GET')).toHaveLength(2);
  }, 20_000);

  it("leaves a get's body alone while the caller does not read it, past the deadline", async () => {
    const s = storage({ requestTimeoutMs: 300 });
    const body = Buffer.alloc(256 * 1024, 7);
    handler = (req, res) => {
      if (req.method === 'PUT') {
        // Stalls: its TIMEOUT shows that the deadline has passed for the get below too.
        res.writeHead(200, { etag: '"abc"', 'content-length': '100' });
        res.write('x');
        return;
      }
      res.writeHead(200, { ...OK_HEAD, 'content-length': String(body.length) });
      res.end(body);
    };
    const got = await s.get('big');
    expect((await rejection(s.put('stall', 'v'))).code).toBe('TIMEOUT');
    expect((await readAll(got.body)).equals(body)).toBe(true);
  }, 20_000);
});

describe('S3 answers 200 that are not what was asked', () => {
  it('a CompleteMultipartUpload answered with an <Error> is a retryable S3_ERROR naming the code', async () => {
    const s = storage({ partSize: 5 * 1024 * 1024 });
    handler = (req, res, url) => {
      if (req.method === 'POST' && url.searchParams.has('uploads')) {
        res.writeHead(200, { 'content-type': 'application/xml' });
        res.end(
          '<?xml version="1.0"?><InitiateMultipartUploadResult><Bucket>fault-bucket</Bucket><Key>k</Key><UploadId>UP1</UploadId></InitiateMultipartUploadResult>',
        );
        return;
      }
      if (req.method === 'PUT' && url.searchParams.has('partNumber')) {
        res.writeHead(200, { etag: `"${'a'.repeat(32)}"`, 'content-length': '0' });
        res.end();
        return;
      }
      if (req.method === 'POST' && url.searchParams.has('uploadId')) {
        res.writeHead(200, { 'content-type': 'application/xml' });
        res.end(
          '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>InternalError</Code><Message>We encountered an internal error. Please try again.</Message></Error>',
        );
        return;
      }
      res.writeHead(204);
      res.end();
    };
    const error = await rejection(s.put('k', Buffer.alloc(11 * 1024 * 1024)));
    expect(error.code).toBe('S3_ERROR');
    expect(error.retryable).toBe(true);
    expect(error.message).toContain('InternalError');
    // Only one Complete (it is not repeated), and the upload was aborted: a put again is safe.
    expect(requests.filter((r) => r.method === 'POST' && r.url.searchParams.has('uploadId'))).toHaveLength(1);
    expect(requests.some((r) => r.method === 'DELETE' && r.url.searchParams.get('uploadId') === 'UP1')).toBe(
      true,
    );
  }, 20_000);

  it('a listing answered with a page that is no ListBucketResult is S3_ERROR, not an empty list', async () => {
    const s = storage();
    handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end('<html><body>Please log in to the proxy</body></html>');
    };
    const error = await rejection(collect(s.list('')));
    expect(error.code).toBe('S3_ERROR');
    expect(error.retryable).toBe(false);
    expect(error.message).toContain('not a ListBucketResult');
  });

  it('a listing cut off mid-document, or with an entry lacking its Key or with a bad Size or LastModified, is S3_ERROR', async () => {
    const s = storage();
    const entry = (inner: string) =>
      `<?xml version="1.0"?><ListBucketResult><Name>fault-bucket</Name><IsTruncated>false</IsTruncated><Contents>${inner}</Contents></ListBucketResult>`;
    const good =
      '<Key>a</Key><LastModified>2020-01-01T00:00:00.000Z</LastModified><ETag>"x"</ETag><Size>1</Size>';
    const pages = {
      'cut off':
        '<?xml version="1.0"?><ListBucketResult><Name>fault-bucket</Name><IsTruncated>false</IsTruncated><Contents><Key>a</Key><Si',
      'no Key': entry('<LastModified>2020-01-01T00:00:00.000Z</LastModified><ETag>"x"</ETag><Size>1</Size>'),
      'bad Size': entry(good.replace('<Size>1</Size>', '<Size>lots</Size>')),
      'bad LastModified': entry(good.replace('2020-01-01T00:00:00.000Z', 'yesterday')),
      'bad key encoding': `${entry(good.replace('<Key>a</Key>', '<Key>%E0%A4%A</Key>'))}`.replace(
        '<Name>',
        '<EncodingType>url</EncodingType><Name>',
      ),
    };
    for (const [what, page] of Object.entries(pages)) {
      handler = (_req, res) => {
        res.writeHead(200, { 'content-type': 'application/xml' });
        res.end(page);
      };
      const error = await rejection(collect(s.list('')));
      expect({ what, code: error.code, retryable: error.retryable }).toEqual({
        what,
        code: 'S3_ERROR',
        retryable: false,
      });
      expect(error.message).toContain('malformed');
    }
    // The same page whole and well-formed lists its entry.
    handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/xml' });
      res.end(entry(good));
    };
    expect((await collect(s.list(''))).map((o) => [o.key, o.size])).toEqual([['a', 1]]);
  });

  it('a truncated listing page without NextContinuationToken is S3_ERROR, not the end', async () => {
    const s = storage();
    handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/xml' });
      res.end(
        '<?xml version="1.0"?><ListBucketResult><Name>fault-bucket</Name><Prefix></Prefix><KeyCount>1</KeyCount><MaxKeys>1000</MaxKeys><IsTruncated>true</IsTruncated><Contents><Key>a</Key><LastModified>2020-01-01T00:00:00.000Z</LastModified><ETag>"x"</ETag><Size>1</Size></Contents></ListBucketResult>',
      );
    };
    const seen: string[] = [];
    const error = await rejection(
      (async () => {
        for await (const item of s.list('')) seen.push(item.key);
      })(),
    );
    expect(error.code).toBe('S3_ERROR');
    expect(error.retryable).toBe(false);
    expect(error.message).toContain('NextContinuationToken');
  });
});

describe('S3 multipart upload aborted while it is being initiated', () => {
  it('rejects with ABORTED at once, and aborts the upload the server had created once its answer names it', async () => {
    const controller = new AbortController();
    const deletes: string[] = [];
    let answer: (() => void) | undefined;
    handler = (req, res, url) => {
      if (req.method === 'POST' && url.searchParams.has('uploads')) {
        // The server has created the upload; the caller aborts before its answer arrives.
        controller.abort();
        answer = () => {
          res.writeHead(200, { 'content-type': 'application/xml' });
          res.end(
            '<?xml version="1.0" encoding="UTF-8"?><InitiateMultipartUploadResult><Bucket>fault-bucket</Bucket>' +
              '<Key>big</Key><UploadId>upload-1</UploadId></InitiateMultipartUploadResult>',
          );
        };
        return;
      }
      if (req.method === 'DELETE' && url.searchParams.has('uploadId')) {
        deletes.push(url.searchParams.get('uploadId') ?? '');
        res.writeHead(204);
        res.end();
        return;
      }
      res.writeHead(500);
      res.end();
    };
    const s = storage({ partSize: 5 * 1024 * 1024 });
    const put = s.put('big', chunks(bytes(12 * 1024 * 1024), 65536), { signal: controller.signal });
    // Rejected before the server answered the initiate.
    await expect(put).rejects.toMatchObject({ code: 'ABORTED' });
    expect(answer).toBeDefined();
    answer?.();
    await until(() => deletes.length > 0, { timeoutMs: 5000 });
    expect(deletes).toEqual(['upload-1']);
    expect(requests.filter((r) => r.method === 'PUT')).toEqual([]);
  });
});
