import { type ChildProcess, execFile, spawn, spawnSync } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { getFreePort } from './ports.js';
import { terminate } from './process.js';
import { makeTempDir, removeTempDir, trackChild } from './registry.js';
import type { S3Backend } from './s3-types.js';

/** The Debian packages that bring every command below (`ceph` and `monmaptool` come along). */
export const RADOSGW_PACKAGES = ['radosgw', 'ceph-mon', 'ceph-osd'] as const;
const COMMANDS = ['ceph-mon', 'ceph-osd', 'radosgw', 'radosgw-admin', 'monmaptool', 'ceph'];

let installed: boolean | undefined;

/** True when every Ceph command the radosgw backend runs is on PATH (asked once per process). */
export function radosgwInstalled(): boolean {
  installed ??=
    spawnSync('sh', ['-c', COMMANDS.map((c) => `command -v ${c}`).join(' && ')], { stdio: 'ignore' })
      .status === 0;
  return installed;
}

/** What to tell someone whose machine lacks the packages. */
export function radosgwInstallHint(): string {
  return (
    `install the Debian packages ${RADOSGW_PACKAGES.join(' ')} ` +
    `(apt-get install -y --no-install-recommends ${RADOSGW_PACKAGES.join(' ')}; ./dev test does it ` +
    'when run as root)'
  );
}

function cephConf(dir: string, fsid: string, monPort: number, rgwPort: number): string {
  return `[global]
fsid = ${fsid}
mon host = v2:127.0.0.1:${monPort}
public addr = 127.0.0.1
auth cluster required = none
auth service required = none
auth client required = none
# radosgw still checks S3 signatures; with cephx off its monitor client must allow crc mode
# (the default, secure only, makes it wait forever).
ms mon client mode = crc secure
ms bind msgr1 = false
ms bind msgr2 = true
run dir = ${dir}/run
admin socket = ${dir}/run/$name.asok
pid file = ${dir}/run/$name.pid
log file = ${dir}/log/$name.log
keyring = ${dir}/keyring
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd crush chooseleaf type = 0
mon allow pool size one = true
mon allow pool delete = true
[mon]
mon data = ${dir}/mon/$name
# The default 1 s wait on every map change makes each pool creation take about 2 s.
paxos propose interval = 0.05
[osd]
osd data = ${dir}/osd/$id
osd objectstore = memstore
# memstore counts against a 1 GiB "device" by default: a 1 GiB object would fill it and every
# write would then wait forever. Only what is stored takes memory.
memstore device bytes = 8589934592
[client.rgw]
# tcp_nodelay: without it every small GET waited ~40 ms (Nagle's algorithm against the client's
# delayed ACK), capping 1 KiB gets at ~360/s at c=16 for any client; with it ~1,450/s.
rgw frontends = beast endpoint=127.0.0.1:${rgwPort} tcp_nodelay=1
rgw data = ${dir}/rgw
# Deleted data is otherwise kept (in RAM, memstore) for two hours.
rgw gc obj min wait = 10
rgw gc processor period = 10
`;
}

/**
 * How long one attempt to start may take (a start takes about 2.5 s, ten on a loaded machine). An
 * attempt past it (a daemon that could not bind its port, a monitor that never answers) is
 * killed and the next one made on new ports, well within a test hook's 60 s.
 */
const ATTEMPT_MS = 18_000;

/** Runs a short Ceph command; rejects with its output when it fails, takes over `timeoutMs` or `signal` aborts. */
function run(
  command: string,
  args: string[],
  cwd: string,
  signal?: AbortSignal,
  timeoutMs = ATTEMPT_MS,
): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      command,
      args,
      { cwd, timeout: timeoutMs, encoding: 'utf8', signal },
      (error, stdout, stderr) => {
        if (error) {
          const output = `${stderr}\n${stdout}`.trim().slice(-1500);
          reject(
            new Error(`${command} ${args.join(' ')} failed (${error.message.split('\n')[0]}): ${output}`),
          );
        } else resolve(stdout);
      },
    );
  });
}

interface Daemon {
  child: ChildProcess;
  stderr: () => string;
}

function daemon(command: string, args: string[], dir: string): Daemon {
  const child = spawn(command, args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'], detached: false });
  trackChild(child, command, dir);
  let stderr = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-2000);
  });
  return { child, stderr: () => stderr.trim() };
}

function exited(d: Daemon): boolean {
  return d.child.exitCode !== null || d.child.signalCode !== null;
}

function logTail(dir: string, name: string): string {
  try {
    return readFileSync(path.join(dir, 'log', `${name}.log`), 'utf8').slice(-1500);
  } catch {
    return '';
  }
}

/** Resolves with the HTTP status of `GET /` (any status means the gateway answers). */
function probe(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/', agent: false, timeout: 2000 }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('timeout', () => req.destroy(new Error('no answer within 2 s')));
    req.on('error', reject);
  });
}

async function launch(dir: string, monPort: number, rgwPort: number, daemons: Daemon[], signal: AbortSignal) {
  const conf = path.join(dir, 'ceph.conf');
  const fsid = randomUUID();
  for (const sub of ['run', 'log', 'mon', 'osd/0', 'rgw'])
    mkdirSync(path.join(dir, sub), { recursive: true });
  writeFileSync(conf, cephConf(dir, fsid, monPort, rgwPort));
  const c = ['-c', conf];
  const monmap = path.join(dir, 'monmap');
  await run(
    'monmaptool',
    ['--create', '--add', 'a', `v2:127.0.0.1:${monPort}`, '--fsid', fsid, monmap],
    dir,
    signal,
  );
  await run('ceph-mon', [...c, '--mkfs', '-i', 'a', '--monmap', monmap], dir, signal);

  const mon = daemon('ceph-mon', [...c, '-f', '-i', 'a'], dir);
  daemons.push(mon);
  const ceph = (...args: string[]) => {
    if (exited(mon)) throw new Error(`ceph-mon exited (${mon.stderr()} ${logTail(dir, 'mon.a')})`);
    return run('ceph', [...c, '--connect-timeout', String(ATTEMPT_MS / 1000), ...args], dir, signal);
  };
  const osdUuid = randomUUID();
  // The OSD's entry in the map, its (in-memory) store, and radosgw's two busiest pools, made
  // before radosgw starts: otherwise its first bucket and first object each wait about 2 s.
  await Promise.all([
    ceph('osd', 'new', osdUuid, '0').then(() =>
      run('ceph-osd', [...c, '-i', '0', '--mkfs', '--osd-uuid', osdUuid], dir, signal),
    ),
    ceph('osd', 'pool', 'create', 'default.rgw.buckets.index', '8'),
    ceph('osd', 'pool', 'create', 'default.rgw.buckets.data', '8'),
  ]);
  const osd = daemon('ceph-osd', [...c, '-f', '-i', '0'], dir);
  daemons.push(osd);
  const rgw = daemon('radosgw', [...c, '-f', '-n', 'client.rgw'], dir);
  daemons.push(rgw);

  const accessKey = `VOELGOED${randomBytes(6).toString('hex').toUpperCase()}`;
  const secretKey = randomBytes(20).toString('hex');
  const admin = run(
    'radosgw-admin',
    [
      ...c,
      '-n',
      'client.admin',
      'user',
      'create',
      '--uid=voelgoed-test',
      '--display-name=voelgoed test',
      `--access-key=${accessKey}`,
      `--secret=${secretKey}`,
    ],
    dir,
    signal,
  );
  void admin.catch(() => undefined);
  // Polled until radosgw answers; a daemon that exited (its port taken) or the attempt's deadline
  // ends the attempt at once (waitFor would keep polling past a thrown error).
  for (;;) {
    for (const [d, name] of [
      [mon, 'mon.a'],
      [osd, 'osd.0'],
      [rgw, 'client.rgw'],
    ] as const) {
      if (exited(d))
        throw new Error(
          `${d.child.spawnfile} exited at start (${d.child.exitCode ?? d.child.signalCode}): ` +
            `${d.stderr()} ${logTail(dir, name)}`.trim(),
        );
    }
    if (signal.aborted)
      throw new Error(
        `radosgw on port ${rgwPort} did not answer within ${ATTEMPT_MS} ms: ${logTail(dir, 'client.rgw')}`,
      );
    // Refused until radosgw listens: not yet.
    if ((await probe(rgwPort).catch(() => 0)) > 0) break;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  await admin;
  return { accessKey, secretKey, rgw };
}

/**
 * Ceph's RADOS Gateway as a real S3 server: one monitor, one OSD keeping its data in RAM
 * (memstore) and radosgw on a free port, all child processes of this one, everything under
 * its own temp dir. About 2.5 s to start and 150 MB of memory.
 */
export async function startRadosgwProcess(): Promise<S3Backend> {
  if (!radosgwInstalled()) throw new Error(`[testkit] radosgw is not installed: ${radosgwInstallHint()}`);
  let lastError: unknown;
  // A free port can be taken by someone else before a daemon binds it: retry on new ones.
  for (let attempt = 0; attempt < 3; attempt++) {
    const rgwPort = await getFreePort();
    const monPort = await getFreePort();
    const dir = makeTempDir(`radosgw-${rgwPort}`);
    const daemons: Daemon[] = [];
    const stopDaemons = async () => {
      // memstore keeps nothing worth a clean shutdown.
      for (const d of [...daemons].reverse()) await terminate(d.child, 'SIGKILL');
      removeTempDir(dir);
    };
    const attempt = new AbortController();
    const timer = setTimeout(() => attempt.abort(), ATTEMPT_MS);
    try {
      const { accessKey, secretKey, rgw } = await launch(dir, monPort, rgwPort, daemons, attempt.signal);
      clearTimeout(timer);
      return {
        kind: 'radosgw',
        endPoint: '127.0.0.1',
        port: rgwPort,
        accessKey,
        secretKey,
        capabilities: {
          listMultipartUploads: true,
          abortMultipart: true,
          compose: true,
          checksSecretKey: true,
          pagesPast1000: true,
        },
        get pid() {
          return exited(rgw) ? undefined : rgw.child.pid;
        },
        get pids() {
          return daemons.filter((d) => !exited(d)).map((d) => d.child.pid as number);
        },
        dir,
        stop: stopDaemons,
      };
    } catch (error) {
      clearTimeout(timer);
      attempt.abort(); // the Ceph commands still running
      lastError = error;
      await stopDaemons();
    }
  }
  throw lastError instanceof Error ? lastError : new Error(String(lastError));
}
