import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import { Client, CopyDestinationOptions, CopySourceOptions } from 'minio';
import {
  containerRuntimeAvailable,
  isAlive,
  liveChildPids,
  radosgwInstalled,
  readAll,
  type S3Server,
  startS3,
  stopAll,
} from '../src/index.js';

afterAll(async () => {
  await stopAll();
});

function tryConnect(port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve('connected');
    });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? 'error'));
  });
}

/** Resolves true when `operation` succeeds, false when the server refuses it. */
async function succeeds(operation: () => Promise<unknown>): Promise<boolean> {
  try {
    await operation();
    return true;
  } catch {
    return false;
  }
}

async function withEnv<T>(value: string | undefined, fn: () => Promise<T>): Promise<T> {
  const before = process.env.VOELGOED_S3;
  const reportDir = process.env.VOELGOED_REPORT_DIR;
  if (value === undefined) delete process.env.VOELGOED_S3;
  else process.env.VOELGOED_S3 = value;
  // A kind forced here is not the run's S3 server: keep it off `./dev test`'s closing line.
  if (value !== undefined) delete process.env.VOELGOED_REPORT_DIR;
  try {
    return await fn();
  } finally {
    if (before === undefined) delete process.env.VOELGOED_S3;
    else process.env.VOELGOED_S3 = before;
    if (reportDir !== undefined) process.env.VOELGOED_REPORT_DIR = reportDir;
  }
}

describe('startS3 (whichever kind this machine gets)', () => {
  let s3: S3Server;
  let client: Client;

  it('gives a server the minio client can create a bucket on, put to and get from byte for byte', async () => {
    s3 = await withEnv(undefined, () => startS3());
    const runtime = await containerRuntimeAvailable();
    expect(s3.kind).toBe(runtime.available ? 'minio' : radosgwInstalled() ? 'radosgw' : 's3rver');
    expect(s3.url).toBe(`http://${s3.endPoint}:${s3.port}`);
    expect(s3.region).toBe('us-east-1');
    client = new Client({
      endPoint: s3.endPoint,
      port: s3.port,
      useSSL: false,
      accessKey: s3.accessKey,
      secretKey: s3.secretKey,
      region: s3.region,
    });
    const bucket = await s3.createBucket();
    expect(await client.bucketExists(bucket)).toBe(true);
    const bytes = randomBytes(300_000);
    await client.putObject(bucket, 'dir/blob.bin', bytes);
    const back = await readAll(await client.getObject(bucket, 'dir/blob.bin'));
    expect(back.equals(bytes)).toBe(true);
    expect((await client.statObject(bucket, 'dir/blob.bin')).size).toBe(bytes.length);
    const range = await readAll(await client.getPartialObject(bucket, 'dir/blob.bin', 10, 5));
    expect(range.equals(bytes.subarray(10, 15))).toBe(true);
  });

  it('createBucket() makes a fresh randomly named bucket each time, or the one it is given', async () => {
    const [a, b] = [await s3.createBucket(), await s3.createBucket()];
    expect(a).not.toBe(b);
    expect(a).toMatch(/^test-[0-9a-f]{16}$/);
    expect(await s3.createBucket('named-one')).toBe('named-one');
    const names = (await client.listBuckets()).map((x) => x.name);
    expect(names).toEqual(expect.arrayContaining([a, b, 'named-one']));
    await expect(s3.createBucket('named-one')).rejects.toThrow(/named-one.*HTTP 409/);
    await expect(s3.createBucket('Not_Valid')).rejects.toThrow(/HTTP 400/);
  });

  it('signs presigned GET URLs that plain fetch can use (client with region: no network call)', async () => {
    const bucket = await s3.createBucket();
    await client.putObject(bucket, 'hello.txt', 'hello, presigned');
    const url = await client.presignedGetObject(bucket, 'hello.txt', 60);
    const response = await fetch(url);
    expect(response.status).toBe(200);
    expect(await response.text()).toBe('hello, presigned');
  });

  it('replaces an object atomically: concurrent PUTs of one key leave one whole value, a GET after a PUT sees all of it', async () => {
    const bucket = await s3.createBucket();
    const values = Array.from({ length: 10 }, (_, i) => Buffer.alloc(1024 * 1024 + i, 65 + i));
    for (let round = 0; round < 3; round++) {
      const key = `same-${round}`;
      await Promise.all(
        values.map(async (value) => {
          await client.putObject(bucket, key, value);
          // Whatever a GET sees now is a whole value: this PUT's or a later one's.
          const seen = await readAll(await client.getObject(bucket, key));
          expect(values.some((v) => v.equals(seen))).toBe(true);
        }),
      );
      const stored = await readAll(await client.getObject(bucket, key));
      expect(values.some((v) => v.equals(stored))).toBe(true);
      expect((await client.statObject(bucket, key)).size).toBe(stored.length);
    }
    const listed: string[] = [];
    for await (const item of client.listObjectsV2(bucket, '', true)) listed.push(item.name as string);
    expect(listed.sort()).toEqual(['same-0', 'same-1', 'same-2']);
  });

  it('capabilities say truly what the server does', async () => {
    const bucket = await s3.createBucket();
    const wrongSecret = new Client({ ...s3.clientOptions, secretKey: 'not-the-secret' });
    expect(await succeeds(() => wrongSecret.putObject(bucket, 'w', 'x'))).toBe(
      !s3.capabilities.checksSecretKey,
    );

    expect(await succeeds(() => readAll(client.listIncompleteUploads(bucket, '', true)))).toBe(
      s3.capabilities.listMultipartUploads,
    );
    const uploadId = await client.initiateNewMultipartUpload(bucket, 'multi', {});
    expect(uploadId).toEqual(expect.any(String));
    expect(await succeeds(() => client.abortMultipartUpload(bucket, 'multi', uploadId))).toBe(
      s3.capabilities.abortMultipart,
    );

    // Compose sources other than the last must be at least 5 MiB (checked by the client).
    await client.putObject(bucket, 'head', Buffer.alloc(5 * 1024 * 1024 + 1, 7));
    await client.putObject(bucket, 'tail', 'tail');
    const composed = await succeeds(() =>
      client.composeObject(new CopyDestinationOptions({ Bucket: bucket, Object: 'joined' }), [
        new CopySourceOptions({ Bucket: bucket, Object: 'head' }),
        new CopySourceOptions({ Bucket: bucket, Object: 'tail' }),
      ]),
    );
    expect(composed).toBe(s3.capabilities.compose);

    const keys = Array.from({ length: 1005 }, (_, i) => `many/${String(i).padStart(5, '0')}`);
    for (let i = 0; i < keys.length; i += 25)
      await Promise.all(keys.slice(i, i + 25).map((key) => client.putObject(bucket, key, 'x')));
    const listed = await succeeds(async () => {
      const seen: string[] = [];
      for await (const item of client.listObjectsV2(bucket, 'many/', true)) seen.push(String(item.name));
      if (seen.length !== keys.length) throw new Error(`listed ${seen.length} of ${keys.length}`);
    });
    expect(listed).toBe(s3.capabilities.pagesPast1000);
  }, 120_000);

  it('stop() makes the port refuse connections', async () => {
    await s3.stop();
    if (s3.endPoint === '127.0.0.1') expect(await tryConnect(s3.port)).toBe('ECONNREFUSED');
    await expect(s3.createBucket()).rejects.toThrow();
  });
});

describe('startS3 as an s3rver child process', () => {
  it('runs s3rver in its own process (node --openssl-legacy-provider) with its own temp dir', async () => {
    const s3 = await startS3({ kind: 's3rver' });
    const pid = s3.pid!;
    const dir = s3.dir!;
    expect(s3.kind).toBe('s3rver');
    expect(s3.endPoint).toBe('127.0.0.1');
    expect(s3.accessKey).toBe('S3RVER');
    expect(s3.secretKey).toBe('S3RVER');
    expect(s3.capabilities).toEqual({
      listMultipartUploads: false,
      abortMultipart: false,
      compose: false,
      checksSecretKey: false,
      pagesPast1000: true,
    });
    expect(pid).not.toBe(process.pid);
    expect(isAlive(pid)).toBe(true);
    expect(liveChildPids()).toContain(pid);
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    expect(argv).toContain('--openssl-legacy-provider');
    expect(argv.some((arg) => arg.endsWith('s3rver-child.cjs'))).toBe(true);
    expect(existsSync(dir)).toBe(true);

    const client = new Client(s3.clientOptions);
    const bucket = await s3.createBucket();
    await client.putObject(bucket, 'k', 'v');
    expect((await readAll(await client.getObject(bucket, 'k'))).toString()).toBe('v');

    await s3.stop();
    expect(isAlive(pid)).toBe(false);
    expect(liveChildPids()).not.toContain(pid);
    expect(existsSync(dir)).toBe(false);
    expect(await tryConnect(s3.port)).toBe('ECONNREFUSED');
    expect(s3.pid).toBeUndefined();
  });

  it('s3rver checks the access key, though never the secret', async () => {
    const s3 = await startS3({ kind: 's3rver', buckets: ['made-at-start'] });
    const client = new Client(s3.clientOptions);
    expect(await client.bucketExists('made-at-start')).toBe(true);
    const unknownKey = new Client({ ...s3.clientOptions, accessKey: 'SOMEONE' });
    await expect(unknownKey.putObject('made-at-start', 'k', 'v')).rejects.toMatchObject({
      code: 'InvalidAccessKeyId',
    });
    await s3.stop();
  });

  it('stopAll() stops an s3rver nobody stopped', async () => {
    const s3 = await startS3({ kind: 's3rver' });
    const pid = s3.pid!;
    await stopAll();
    expect(isAlive(pid)).toBe(false);
    expect(existsSync(s3.dir!)).toBe(false);
  });
});

describe('startS3 as radosgw child processes (a real S3 server)', () => {
  it('runs a monitor, an OSD and the gateway under one temp dir, checks signatures, stops them all', async () => {
    const s3 = await startS3({ kind: 'radosgw', buckets: ['made-at-start'] });
    const pids = s3.pids;
    const dir = s3.dir!;
    expect(s3.kind).toBe('radosgw');
    expect(s3.capabilities).toEqual({
      listMultipartUploads: true,
      abortMultipart: true,
      compose: true,
      checksSecretKey: true,
      pagesPast1000: true,
    });
    expect(pids).toHaveLength(3);
    const programs = pids.map((pid) => readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')[0]);
    expect(programs.sort()).toEqual(['ceph-mon', 'ceph-osd', 'radosgw']);
    for (const pid of pids) expect(liveChildPids()).toContain(pid);
    expect(s3.pid).toBe(pids[2]);
    expect(existsSync(`${dir}/ceph.conf`)).toBe(true);

    const client = new Client(s3.clientOptions);
    expect(await client.bucketExists('made-at-start')).toBe(true);
    await client.putObject('made-at-start', 'k', 'v');
    expect((await readAll(await client.getObject('made-at-start', 'k'))).toString()).toBe('v');
    const wrongSecret = new Client({ ...s3.clientOptions, secretKey: 'not-the-secret' });
    await expect(wrongSecret.putObject('made-at-start', 'k', 'w')).rejects.toMatchObject({
      code: 'SignatureDoesNotMatch',
    });

    await s3.stop();
    for (const pid of pids) {
      expect(isAlive(pid)).toBe(false);
      expect(liveChildPids()).not.toContain(pid);
    }
    expect(existsSync(dir)).toBe(false);
    expect(await tryConnect(s3.port)).toBe('ECONNREFUSED');
    expect(s3.pids).toEqual([]);
  }, 120_000);

  it('two run side by side, each with its own data', async () => {
    const [a, b] = await Promise.all([startS3({ kind: 'radosgw' }), startS3({ kind: 'radosgw' })]);
    expect(a.port).not.toBe(b.port);
    const bucket = await a.createBucket();
    expect(await new Client(b.clientOptions).bucketExists(bucket)).toBe(false);
    await Promise.all([a.stop(), b.stop()]);
  }, 120_000);
});

describe('choosing the kind', () => {
  it('VOELGOED_S3=s3rver forces s3rver', async () => {
    const s3 = await withEnv('s3rver', () => startS3());
    expect(s3.kind).toBe('s3rver');
    await s3.stop();
  });

  it('VOELGOED_S3=minio uses MinIO, and says a Docker engine is needed when none answers', async () => {
    const runtime = await containerRuntimeAvailable();
    if (runtime.available) {
      const s3 = await withEnv('minio', () => startS3());
      expect(s3.kind).toBe('minio');
      await s3.stop();
    } else {
      await expect(withEnv('minio', () => startS3())).rejects.toThrow(/needs a Docker engine/);
      await expect(startS3({ kind: 'minio' })).rejects.toThrow(/kind: 'minio'.*needs a Docker engine/);
    }
  }, 120_000);

  it('radosgw asked for where it is not installed is an error naming the Debian packages', () => {
    // A child with an empty PATH finds no Ceph command (the built kit, as the cleanup fixture uses it).
    const script =
      "require('@voelgoed/testkit').startS3({ kind: 'radosgw' }).then(() => process.exit(3), (e) => { console.log(e.message); process.exit(0); })";
    const out = spawnSync(process.execPath, ['-e', script], {
      cwd: path.join(__dirname, 'fixtures'),
      env: { ...process.env, PATH: '/nonexistent' },
      encoding: 'utf8',
    });
    expect(out.status).toBe(0);
    expect(out.stdout).toMatch(/radosgw was asked for \(kind: 'radosgw'\) but it is not installed/);
    expect(out.stdout).toMatch(/apt-get install -y --no-install-recommends radosgw ceph-mon ceph-osd/);
  });

  it('VOELGOED_S3=radosgw forces radosgw', async () => {
    const s3 = await withEnv('radosgw', () => startS3());
    expect(s3.kind).toBe('radosgw');
    await s3.stop();
  }, 120_000);

  it("notes the kind a test got without asking for one in VOELGOED_REPORT_DIR (for ./dev test's closing line)", async () => {
    const saved = { s3: process.env.VOELGOED_S3, dir: process.env.VOELGOED_REPORT_DIR };
    const chosen = mkdtempSync(path.join(os.tmpdir(), 'voelgoed-s3-note-'));
    const asked = mkdtempSync(path.join(os.tmpdir(), 'voelgoed-s3-note-'));
    try {
      process.env.VOELGOED_S3 = 's3rver';
      process.env.VOELGOED_REPORT_DIR = path.join(chosen, 'reports');
      await (await startS3()).stop();
      expect(readdirSync(path.join(chosen, 'reports'))).toEqual(['s3-s3rver']);
      process.env.VOELGOED_REPORT_DIR = asked;
      await (await startS3({ kind: 's3rver' })).stop();
      expect(readdirSync(asked)).toEqual([]);
    } finally {
      for (const [name, value] of [
        ['VOELGOED_S3', saved.s3],
        ['VOELGOED_REPORT_DIR', saved.dir],
      ] as const) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
      rmSync(chosen, { recursive: true, force: true });
      rmSync(asked, { recursive: true, force: true });
    }
  });

  it('an unknown VOELGOED_S3 value is an error, not a silent fallback', async () => {
    await expect(withEnv('localstack', () => startS3())).rejects.toThrow(/VOELGOED_S3 must be/);
  });
});
