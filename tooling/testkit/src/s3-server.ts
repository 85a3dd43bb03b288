import { randomBytes } from 'node:crypto';
import http from 'node:http';
import { containerRuntimeAvailable, startMinioContainer } from './minio-container.js';
import { type Stoppable, trackStoppable, untrackStoppable } from './registry.js';
import { startS3rverProcess } from './s3rver-process.js';
import { signS3Request } from './sigv4.js';

export type S3Kind = 'minio' | 's3rver';

/** What the running server really supports; tests of optional features check these. */
export interface S3Capabilities {
  /** ListMultipartUploads (`GET /bucket?uploads`, minio's `listIncompleteUploads`). */
  listMultipartUploads: boolean;
  /** AbortMultipartUpload. */
  abortMultipart: boolean;
  /** Server-side compose (UploadPartCopy, minio's `composeObject`). */
  compose: boolean;
  /** A request signed with a wrong secret key is rejected. */
  checksSecretKey: boolean;
  /** ListObjectsV2 pages past the first 1,000 keys (continuation tokens). */
  pagesPast1000: boolean;
}

export interface StartS3Options {
  /** Force one kind. Default: `VOELGOED_S3` if set, else MinIO when a Docker engine answers, else s3rver. */
  kind?: S3Kind;
  /** Buckets to create before the server is handed over. */
  buckets?: string[];
  /** MinIO image for testcontainers. Default `minio/minio`. */
  minioImage?: string;
}

/** What a backend (s3rver child process, MinIO container) hands to {@link S3Server}. @internal */
export interface S3Backend {
  readonly kind: S3Kind;
  readonly endPoint: string;
  readonly port: number;
  readonly accessKey: string;
  readonly secretKey: string;
  readonly capabilities: S3Capabilities;
  /** Pid of the server process; undefined for a container or once stopped. */
  readonly pid: number | undefined;
  /** The server's own temp dir (s3rver's data); undefined for a container. */
  readonly dir: string | undefined;
  stop(): Promise<void>;
}

/** Options for the `minio` npm client: `new Client(server.clientOptions)`. */
export interface S3ClientOptions {
  endPoint: string;
  port: number;
  useSSL: false;
  accessKey: string;
  secretKey: string;
  region: string;
}

/** A fresh, valid bucket name: `test-` and 16 random hex digits. */
export function randomBucketName(prefix = 'test'): string {
  return `${prefix}-${randomBytes(8).toString('hex')}`;
}

/** A running S3-compatible server: MinIO in a container or an s3rver child process. */
export class S3Server implements Stoppable {
  readonly region = 'us-east-1';
  #stopped: Promise<void> | undefined;

  /** @internal */
  constructor(private readonly backend: S3Backend) {}

  get kind(): S3Kind {
    return this.backend.kind;
  }
  get endPoint(): string {
    return this.backend.endPoint;
  }
  get port(): number {
    return this.backend.port;
  }
  get accessKey(): string {
    return this.backend.accessKey;
  }
  get secretKey(): string {
    return this.backend.secretKey;
  }
  get capabilities(): Readonly<S3Capabilities> {
    return this.backend.capabilities;
  }
  get pid(): number | undefined {
    return this.backend.pid;
  }
  get dir(): string | undefined {
    return this.backend.dir;
  }

  /** `http://<endPoint>:<port>` */
  get url(): string {
    return `http://${this.endPoint}:${this.port}`;
  }

  get clientOptions(): S3ClientOptions {
    const { endPoint, port, accessKey, secretKey, region } = this;
    return { endPoint, port, useSSL: false, accessKey, secretKey, region };
  }

  /** Creates a bucket (a fresh randomly named one by default) and resolves with its name. */
  async createBucket(name: string = randomBucketName()): Promise<string> {
    const url = new URL(`/${encodeURIComponent(name)}`, this.url);
    const headers = signS3Request({ method: 'PUT', url, ...this.clientOptions });
    const { status, body } = await send('PUT', url, headers);
    if (status !== 200) {
      const code = /<Code>([^<]*)<\/Code>/.exec(body)?.[1] ?? 'no error code';
      const message = /<Message>([^<]*)<\/Message>/.exec(body)?.[1] ?? body.slice(0, 200);
      throw new Error(
        `[testkit] creating bucket '${name}' on ${this.kind} failed (HTTP ${status} ${code}): ${message}`,
      );
    }
    return name;
  }

  /** Stops the server for good (kills the process or removes the container, and its data). */
  stop(): Promise<void> {
    untrackStoppable(this);
    this.#stopped ??= this.backend.stop();
    return this.#stopped;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}

function send(method: string, url: URL, headers: Record<string, string>) {
  return new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = http.request(url, { method, headers, agent: false, timeout: 10_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        body += chunk;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`no answer from ${url.host} within 10 s`)));
    req.on('error', reject);
    req.end();
  });
}

function kindFromEnv(): S3Kind | undefined {
  const value = process.env.VOELGOED_S3?.trim();
  if (!value) return undefined;
  if (value === 'minio' || value === 's3rver') return value;
  throw new Error(`[testkit] VOELGOED_S3 must be 'minio' or 's3rver', got '${value}'`);
}

/**
 * Starts an S3-compatible server: MinIO via testcontainers when a Docker engine answers,
 * otherwise s3rver as a child process on a free port with its own temp dir.
 * `options.kind` or `VOELGOED_S3=minio|s3rver` forces one.
 */
export async function startS3(options: StartS3Options = {}): Promise<S3Server> {
  const forced = options.kind ?? kindFromEnv();
  let kind: S3Kind = 's3rver';
  if (forced !== 's3rver') {
    const runtime = await containerRuntimeAvailable();
    if (runtime.available) kind = 'minio';
    else if (forced === 'minio') {
      throw new Error(
        `[testkit] MinIO was asked for (${options.kind ? "kind: 'minio'" : 'VOELGOED_S3=minio'}) but it ` +
          `needs a Docker engine for testcontainers, and none answers (${runtime.reason}). ` +
          'Start a Docker engine, or leave the kind unset (or set it to s3rver) to use s3rver.',
      );
    }
  }
  const backend =
    kind === 'minio'
      ? await startMinioContainer(options.minioImage ?? 'minio/minio')
      : await startS3rverProcess(options.buckets ?? []);
  const server = new S3Server(backend);
  try {
    if (kind === 'minio') for (const bucket of options.buckets ?? []) await server.createBucket(bucket);
  } catch (error) {
    await server.stop();
    throw error;
  }
  trackStoppable(server);
  return server;
}
