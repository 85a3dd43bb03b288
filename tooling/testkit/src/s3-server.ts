import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { containerRuntimeAvailable, startMinioContainer } from './minio-container.js';
import { radosgwInstalled, radosgwInstallHint, startRadosgwProcess } from './radosgw-process.js';
import { type Stoppable, trackStoppable, untrackStoppable } from './registry.js';
import type { S3Backend, S3Capabilities, S3Kind } from './s3-types.js';
import { startS3rverProcess } from './s3rver-process.js';
import { signS3Request } from './sigv4.js';

export type { S3Backend, S3Capabilities, S3Kind } from './s3-types.js';

export interface StartS3Options {
  /**
   * Force one kind. Default: `VOELGOED_S3` if set, else MinIO when a Docker engine answers, else
   * radosgw when its Debian packages are installed, else s3rver.
   */
  kind?: S3Kind;
  /** Buckets to create before the server is handed over. */
  buckets?: string[];
  /** MinIO image for testcontainers. Default `minio/minio`. */
  minioImage?: string;
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

/**
 * A running S3-compatible server: MinIO in a container, Ceph's RADOS Gateway (radosgw, a real
 * S3 implementation) as child processes, or s3rver (a partial fake) as a child process.
 */
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
  /** Every process of the server still running (one for s3rver, three for radosgw, none for MinIO). */
  get pids(): number[] {
    const { pid, pids } = this.backend;
    return pids ?? (pid === undefined ? [] : [pid]);
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
    // radosgw, like AWS in us-east-1, answers 200 to re-creating one's own bucket; MinIO and
    // s3rver answer 409. Every kind says 409 here, so a test cannot reuse a bucket by mistake.
    const head = await send('HEAD', url, signS3Request({ method: 'HEAD', url, ...this.clientOptions }));
    if (head.status === 200) {
      throw new Error(
        `[testkit] creating bucket '${name}' on ${this.kind} failed (HTTP 409 BucketAlreadyOwnedByYou): it exists`,
      );
    }
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
  if (value === 'minio' || value === 'radosgw' || value === 's3rver') return value;
  throw new Error(`[testkit] VOELGOED_S3 must be 'minio', 'radosgw' or 's3rver', got '${value}'`);
}

async function chooseKind(options: StartS3Options): Promise<S3Kind> {
  const forced = options.kind ?? kindFromEnv();
  const how = (kind: S3Kind) => (options.kind ? `kind: '${kind}'` : `VOELGOED_S3=${kind}`);
  if (forced === 's3rver') return 's3rver';
  if (forced === 'radosgw') {
    if (radosgwInstalled()) return 'radosgw';
    throw new Error(
      `[testkit] radosgw was asked for (${how('radosgw')}) but it is not installed: ${radosgwInstallHint()}.`,
    );
  }
  const runtime = await containerRuntimeAvailable();
  if (runtime.available) return 'minio';
  if (forced === 'minio') {
    throw new Error(
      `[testkit] MinIO was asked for (${how('minio')}) but it ` +
        `needs a Docker engine for testcontainers, and none answers (${runtime.reason}). ` +
        'Start a Docker engine, or leave the kind unset to use radosgw or s3rver.',
    );
  }
  return radosgwInstalled() ? 'radosgw' : 's3rver';
}

/**
 * Notes the kind a test got without asking for one, for `./dev test`'s closing line
 * (tooling/scripts/test.mjs reads the `s3-<kind>` files beside the Jest reports).
 */
function recordKind(kind: S3Kind): void {
  const dir = process.env.VOELGOED_REPORT_DIR;
  if (!dir) return;
  try {
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, `s3-${kind}`), '');
  } catch {
    // a missed note only shortens the closing line
  }
}

/**
 * Starts an S3-compatible server: MinIO via testcontainers when a Docker engine answers, else
 * radosgw (one monitor, one in-memory OSD, the gateway) when its Debian packages are installed,
 * else s3rver; the child processes run on free ports with their own temp dir.
 * `options.kind` or `VOELGOED_S3=minio|radosgw|s3rver` forces one.
 */
export async function startS3(options: StartS3Options = {}): Promise<S3Server> {
  const kind = await chooseKind(options);
  const backend =
    kind === 'minio'
      ? await startMinioContainer(options.minioImage ?? 'minio/minio')
      : kind === 'radosgw'
        ? await startRadosgwProcess()
        : await startS3rverProcess(options.buckets ?? []);
  const server = new S3Server(backend);
  try {
    if (kind !== 's3rver') for (const bucket of options.buckets ?? []) await server.createBucket(bucket);
  } catch (error) {
    await server.stop();
    throw error;
  }
  trackStoppable(server);
  if (!options.kind) recordKind(kind);
  return server;
}
