// @voelgoed/storage (S3 driver) against raw minio putObject/getObject on the same S3 server
// started here by the test kit (MinIO when a Docker engine answers, else Ceph's radosgw when
// installed, else s3rver, a fake server), in one run: 1 KiB × 1,000 objects (put, then get,
// c=16), presigning 10,000 GET URLs (local: signing only) and large objects (256 MiB and 1 GiB by default, `BENCH_LARGE_MIB=256,1024`): put with
// the size known and with unknown length, then get; ratios and peak RSS. Rounds are interleaved
// and their order rotated (whoever runs after a contender inherits its garbage, sockets and the
// server's work); the median round counts.
// Each large-object run happens in its own child process so that one contender's memory cannot
// hide in another's peak. On a real S3 server (radosgw, MinIO) both sides run with their
// defaults: ours against minio's own `putObject` (its multipart upload), size known against size
// known, unknown against unknown. On s3rver minio's multipart path does not work (it starts with
// ListMultipartUploads), so there the old like-for-like rows stay, labelled as a fake server:
// both told the size and sending one PUT (raw minio buffering the whole object). Downloads are
// ours `get` against minio `getObject`. @aws-sdk/lib-storage is compared when installed (not here).
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import os from 'node:os';
import { Readable } from 'node:stream';
import { createS3Storage } from '@voelgoed/storage';
import { type S3Server, startS3, stopAll } from '@voelgoed/testkit';
import { Client } from 'minio';
import { printTable, type Row, writeResults } from './harness.ts';

const MiB = 1024 * 1024;
const SMALL = 1024;
const COUNT = 1000;
const PRESIGNS = 10_000;
const CONCURRENCY = 16;
const LARGES = (process.env.BENCH_LARGE_MIB ?? '256,1024').split(',').map((m) => Number(m) * MiB);
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
// Small-object rounds are short (a second or two each): more of them steady the median.
const smallRounds = Number(process.env.BENCH_SMALL_ROUNDS ?? 7);

type Op = (i: number) => Promise<unknown>;

/** Client CPU (user + system, µs) per object of the last {@link batch}. */
let lastCpuUsPerOp = 0;

/** Runs op(0..COUNT-1) from CONCURRENCY loops; objects per second (and sets lastCpuUsPerOp). */
async function batch(op: Op): Promise<number> {
  let next = 0;
  const cpu = process.cpuUsage();
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < COUNT) await op(next++);
    }),
  );
  const elapsed = performance.now() - started;
  const used = process.cpuUsage(cpu);
  lastCpuUsPerOp = (used.user + used.system) / COUNT;
  return COUNT / (elapsed / 1000);
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;

/** `total` bytes in 64 KiB chunks from a ring of buffers (the source makes no garbage). */
function generated(total: number): Readable {
  const ring = Array.from({ length: 16 }, (_, i) => createHash('sha512').update(String(i)).digest());
  const chunk = Buffer.alloc(64 * 1024);
  for (let i = 0; i < chunk.length; i += 64) ring[(i / 64) % 16]!.copy(chunk, i);
  const buffers = Array.from({ length: 16 }, () => Buffer.from(chunk));
  let sent = 0;
  let n = 0;
  return new Readable({
    read() {
      if (sent >= total) return void this.push(null);
      const size = Math.min(chunk.length, total - sent);
      const b = buffers[n++ % 16]!.subarray(0, size);
      b.writeUInt32LE(n, 0);
      sent += size;
      this.push(b);
    },
  });
}

async function drain(body: AsyncIterable<unknown>): Promise<number> {
  let n = 0;
  for await (const c of body) n += (c as Buffer).length;
  return n;
}

/** Child process: one large put or get by one contender; prints JSON { mibPerSec, peakRssMiB }. */
async function child(
  contender: string,
  op: string,
  clientJson: string,
  bucket: string,
  kind: string,
  large: number,
) {
  const LARGE = large;
  const clientOptions = JSON.parse(clientJson);
  const start = process.memoryUsage.rss();
  let peak = start;
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage.rss());
  }, 20);
  // One key per client (known and unknown length share it; the get reads it): few objects held
  // at once, as radosgw keeps them in RAM and leaves overwritten data to its GC for 10-20 s.
  const key = `large-${LARGE}-${contender.replace(/-unknown$/, '')}`;
  const began = performance.now();
  if (!contender.startsWith('minio')) {
    // ours: size declared, one streamed PUT (multipartThreshold above the size; s3rver rows);
    // ours-default: size declared, default options (a multipart upload of 8 MiB parts × 4);
    // ours-unknown: a stream of unknown length (the same multipart upload).
    const s = createS3Storage({
      ...clientOptions,
      bucket,
      ...(contender === 'ours' ? { multipartThreshold: 2 * LARGE } : {}),
    });
    if (op === 'put') await s.put(key, generated(LARGE), contender === 'ours-unknown' ? {} : { size: LARGE });
    else await drain((await s.get(key)).body);
    s.close();
  } else {
    if (kind === 's3rver') {
      // minio's multipart path starts with ListMultipartUploads (to resume), which s3rver lacks
      // (NotImplemented): the only way raw minio stores 256 MiB there is one buffered PUT, with
      // the size declared and a part size above it.
      const c = new Client({ ...clientOptions, partSize: 2 * LARGE });
      if (op === 'put') await c.putObject(bucket, key, generated(LARGE), LARGE);
      else await drain(await c.getObject(bucket, key));
    } else {
      // Defaults against defaults: minio's own putObject (its multipart upload), size given
      // (`minio`) or not (`minio-unknown`).
      const c = new Client(clientOptions);
      if (op === 'put' && contender === 'minio') await c.putObject(bucket, key, generated(LARGE), LARGE);
      else if (op === 'put') await c.putObject(bucket, key, generated(LARGE));
      else await drain(await c.getObject(bucket, key));
    }
  }
  const seconds = (performance.now() - began) / 1000;
  clearInterval(timer);
  peak = Math.max(peak, process.memoryUsage.rss());
  console.log(JSON.stringify({ mibPerSec: LARGE / MiB / seconds, peakRssMiB: (peak - start) / MiB }));
}

function runChild(contender: string, op: string, server: S3Server, bucket: string, large: number) {
  const out = spawnSync(
    process.execPath,
    [
      import.meta.filename,
      '--child',
      contender,
      op,
      JSON.stringify(server.clientOptions),
      bucket,
      server.kind,
      String(large),
    ],
    { encoding: 'utf8', maxBuffer: 16 * MiB },
  );
  const line = out.stdout.trim().split('\n').at(-1) ?? '';
  try {
    return JSON.parse(line) as { mibPerSec: number; peakRssMiB: number };
  } catch {
    throw new Error(`child ${contender} ${op} failed: ${out.stderr.slice(-2000)}`);
  }
}

async function main() {
  const loadBefore = os.loadavg().map((n) => n.toFixed(2));
  const server = await startS3();
  const bucket = await server.createBucket();
  const ours = createS3Storage({ ...server.clientOptions, bucket });
  const raw = new Client(server.clientOptions);
  const body = Buffer.alloc(SMALL, 7);
  const hasLibStorage = (() => {
    try {
      createRequire(import.meta.url).resolve('@aws-sdk/lib-storage');
      return true;
    } catch {
      return false;
    }
  })();

  const small: Record<string, Record<string, number[]>> = {
    put: { ours: [], minio: [] },
    get: { ours: [], minio: [] },
  };
  const smallCpu: Record<string, Record<string, number[]>> = {
    put: { ours: [], minio: [] },
    get: { ours: [], minio: [] },
  };
  const contenders: Record<string, { put: Op; get: Op }> = {
    ours: {
      put: (i) => ours.put(`small-ours/${i}`, body),
      get: async (i) => drain((await ours.get(`small-ours/${i}`)).body),
    },
    minio: {
      put: (i) => raw.putObject(bucket, `small-minio/${i}`, body),
      get: async (i) => drain(await raw.getObject(bucket, `small-minio/${i}`)),
    },
  };
  // Warm-up, then rounds with the order rotated (so neither always runs first).
  for (const c of Object.values(contenders)) await batch(c.put);
  const names = Object.keys(contenders);
  for (let r = 0; r < smallRounds; r++) {
    const order = r % 2 ? [...names].reverse() : names;
    for (const op of ['put', 'get'] as const) {
      for (const name of order) {
        small[op]![name]!.push(await batch(contenders[name]![op]));
        smallCpu[op]![name]!.push(lastCpuUsPerOp);
      }
    }
  }
  // The same comparison two more ways, less sensitive to load from other processes: the ratio
  // within each round (both contenders ran back to back), and the client's CPU time per object.
  const smallDetail = (['put', 'get'] as const).map((op) => {
    const pairs = small[op]!.ours!.map((v, i) => v / small[op]!.minio![i]!);
    return {
      op,
      perRoundRatios: pairs.map((x) => Number(x.toFixed(3))),
      medianRoundRatio: Number(median(pairs).toFixed(3)),
      cpuUsPerOp: {
        ours: Math.round(median(smallCpu[op]!.ours!)),
        minio: Math.round(median(smallCpu[op]!.minio!)),
      },
    };
  });

  const rows: Row[] = [];
  for (const op of ['put', 'get'] as const) {
    const base = median(small[op]!.minio!);
    for (const name of names) {
      const value = median(small[op]![name]!);
      rows.push({
        scenario: `${op} 1 KiB × ${COUNT} (c=${CONCURRENCY}) on ${server.kind === 's3rver' ? 's3rver (a fake server)' : server.kind}`,
        contender: name === 'ours' ? '@voelgoed/storage' : 'minio',
        value: Math.round(value),
        unit: 'obj/s',
        ratio: Number((value / base).toFixed(3)),
        baseline: 'minio',
      });
    }
  }

  // Presigning (local, no request): 10,000 GET URLs, rounds alternating; median.
  const presign: Record<string, number[]> = { ours: [], minio: [] };
  const presigners: Record<string, (i: number) => Promise<string>> = {
    ours: (i) => ours.signedUrl(`small-ours/${i}`, { expiresInS: 3600 }),
    minio: (i) => raw.presignedGetObject(bucket, `small-minio/${i}`, 3600),
  };
  for (let r = 0; r < smallRounds; r++) {
    for (const name of r % 2 ? ['minio', 'ours'] : ['ours', 'minio']) {
      const started = performance.now();
      for (let i = 0; i < PRESIGNS; i++) await presigners[name]!(i);
      presign[name]!.push(PRESIGNS / ((performance.now() - started) / 1000));
    }
  }
  for (const name of ['ours', 'minio']) {
    const value = median(presign[name]!);
    rows.push({
      scenario: `signedUrl (GET, 1 h) × ${PRESIGNS}, local`,
      contender: name === 'ours' ? '@voelgoed/storage' : 'minio',
      value: Math.round(value),
      unit: 'URLs/s',
      ratio: Number((value / median(presign.minio!)).toFixed(3)),
      baseline: 'minio',
    });
  }

  // Large objects: every contender once per round, in a rotated order; median of the rounds.
  const real = server.kind !== 's3rver';
  const serverLabel = real ? server.kind : 's3rver (a fake server)';
  const largeNames: Record<'put' | 'get', string[]> = real
    ? { put: ['ours-default', 'minio', 'ours-unknown', 'minio-unknown'], get: ['ours', 'minio'] }
    : { put: ['ours', 'minio', 'ours-default', 'ours-unknown'], get: ['ours', 'minio'] };
  const large: Record<string, { mibPerSec: number[]; peakRssMiB: number[] }> = {};
  for (const size of LARGES) {
    for (let r = 0; r < rounds; r++) {
      for (const op of ['put', 'get'] as const) {
        const list = largeNames[op];
        for (let k = 0; k < list.length; k++) {
          const name = list[(r + k) % list.length]!;
          const result = runChild(name, op, server, bucket, size);
          large[`${size}:${op}:${name}`] ??= { mibPerSec: [], peakRssMiB: [] };
          const slot = large[`${size}:${op}:${name}`]!;
          slot.mibPerSec.push(result.mibPerSec);
          slot.peakRssMiB.push(result.peakRssMiB);
        }
      }
    }
    // Free the server's memory (radosgw keeps objects in RAM) before the next size.
    await ours.deleteMany(['ours', 'ours-default', 'minio'].map((c) => `large-${size}-${c}`));
  }
  const largeLabel: Record<string, string> = real
    ? {
        'put:ours-default': 'size known, defaults (multipart 8 MiB × 4)',
        'put:minio': 'size known, minio putObject defaults',
        'put:ours-unknown': 'unknown length, defaults (multipart 8 MiB × 4)',
        'put:minio-unknown': 'unknown length, minio putObject defaults',
      }
    : {
        'put:ours': 'size declared, 1 streamed PUT (multipartThreshold above the size)',
        'put:minio': 'size declared, 1 buffered PUT (partSize above the size)',
        'put:ours-default': 'size declared, default options: multipart 8 MiB × 4',
        'put:ours-unknown': 'unknown length: multipart 8 MiB × 4',
      };
  // Each of ours against minio told the same about the size.
  const baselineOf = (name: string) => (real && name.endsWith('-unknown') ? 'minio-unknown' : 'minio');
  for (const size of LARGES) {
    for (const op of ['put', 'get'] as const) {
      for (const name of largeNames[op]) {
        const r = large[`${size}:${op}:${name}`]!;
        const baseline = baselineOf(name);
        const base = median(large[`${size}:${op}:${baseline}`]!.mibPerSec);
        const value = median(r.mibPerSec);
        const label = largeLabel[`${op}:${name}`];
        rows.push({
          scenario: `${op} ${size / MiB} MiB on ${serverLabel}${label ? `, ${label}` : ''} (peak RSS +${Math.max(...r.peakRssMiB).toFixed(0)} MiB)`,
          contender: name.startsWith('minio') ? 'minio' : '@voelgoed/storage',
          value: Number(value.toFixed(1)),
          unit: 'MiB/s',
          ratio: Number((value / base).toFixed(3)),
          baseline,
        });
      }
    }
  }
  const loadAfter = os.loadavg().map((n) => n.toFixed(2));

  printTable(
    `@voelgoed/storage vs minio 8.0.7 on ${server.kind} (one run, same server, rounds interleaved (small ${smallRounds}, large ${rounds}), median; ` +
      `load average ${loadBefore.join(' ')} before, ${loadAfter.join(' ')} after, ${os.cpus().length} cores)`,
    rows,
  );
  for (const d of smallDetail) {
    console.log(
      `${d.op} 1 KiB: ours/minio per round ${d.perRoundRatios.join(' ')} (median ${d.medianRoundRatio}); ` +
        `client CPU per object: ours ${d.cpuUsPerOp.ours} µs, minio ${d.cpuUsPerOp.minio} µs`,
    );
  }
  if (!hasLibStorage) console.log('\n@aws-sdk/lib-storage is not installed here: not compared.');
  const file = writeResults('storage', rows, {
    server: server.kind,
    rounds,
    smallRounds,
    small: smallDetail,
    loadavgBefore: loadBefore,
    loadavgAfter: loadAfter,
    large,
    awsLibStorage: hasLibStorage ? 'installed but not wired' : 'not installed',
  });
  console.log(`\nresults: ${file}`);
  ours.close();
  await server.stop();
  await stopAll();
}

if (process.argv[2] === '--child') {
  await child(
    process.argv[3]!,
    process.argv[4]!,
    process.argv[5]!,
    process.argv[6]!,
    process.argv[7]!,
    Number(process.argv[8]),
  );
} else {
  await main();
}
