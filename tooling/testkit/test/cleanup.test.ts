import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { reap } from '../reaper.cjs';
import { isAlive } from '../src/index.js';

const fixture = path.join(__dirname, 'fixtures', 'start-servers.cjs');

interface Started {
  pids: number[];
  dirs: string[];
  stateDir: string;
}

function startFixture(
  mode: 'throw' | 'hang',
  env: NodeJS.ProcessEnv,
  servers: 'redis-and-s3rver' | 'radosgw' = 'redis-and-s3rver',
): { child: ChildProcess; started: Promise<Started> } {
  const child = spawn(process.execPath, [fixture, mode, servers], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const started = new Promise<Started>((resolve, reject) => {
    let stdout = '';
    child.stdout!.on('data', (d: Buffer) => {
      stdout += d.toString();
      const line = stdout.split('\n')[0];
      if (stdout.includes('\n') && line) resolve(JSON.parse(line) as Started);
    });
    child.once('exit', (code) =>
      reject(new Error(`fixture exited (${code}) before starting servers: ${stderr}`)),
    );
  });
  return { child, started };
}

/** The pids still alive after up to 5 s of waiting for them to go. */
async function stillAliveAfter(pids: number[]): Promise<number[]> {
  const deadline = Date.now() + 5000;
  while (pids.some(isAlive) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
  return pids.filter(isAlive);
}

const exited = (child: ChildProcess) =>
  child.exitCode !== null || child.signalCode !== null
    ? Promise.resolve()
    : new Promise<void>((resolve) => child.once('exit', () => resolve()));

describe('clean-up of what the kit started', () => {
  it('a process that crashes after starting servers (one paused, one s3rver) takes them all down with it', async () => {
    const { VOELGOED_TESTKIT_STATE_DIR: _perRun, ...env } = process.env;
    const { child, started } = startFixture('throw', env);
    const info = await started;
    await exited(child);
    expect(child.exitCode).not.toBe(0);
    expect(info.pids).toHaveLength(6); // 2 redis masters, 3 cluster nodes, 1 s3rver
    // SIGKILL is delivered at once but a loaded machine may take a moment to tear a process down.
    expect(await stillAliveAfter(info.pids)).toEqual([]);
    expect(info.dirs.filter(existsSync)).toEqual([]);
    expect(existsSync(info.stateDir)).toBe(false);
  }, 60_000);

  it('servers orphaned by a SIGKILLed process (s3rver too) are found and killed by the reaper', async () => {
    const runDir = mkdtempSync(path.join(os.tmpdir(), 'voelgoed-reaper-test-'));
    const { child, started } = startFixture('hang', { ...process.env, VOELGOED_TESTKIT_STATE_DIR: runDir });
    const info = await started;
    expect(info.stateDir).toBe(runDir);
    child.kill('SIGKILL');
    await exited(child);
    // No exit hook ran: the servers outlive their parent. This is what the reaper is for.
    expect(info.pids.filter(isAlive)).toEqual(info.pids);
    expect(readdirSync(runDir).sort()).toEqual(info.pids.map((p) => `${p}.json`).sort());
    const killed = reap(runDir);
    expect(killed.sort()).toEqual([...info.pids].sort());
    expect(await stillAliveAfter(info.pids)).toEqual([]);
    expect(info.dirs.filter(existsSync)).toEqual([]);
    expect(existsSync(runDir)).toBe(false);
  }, 60_000);

  it('radosgw: a crash takes its three processes down; after a SIGKILL the reaper kills them', async () => {
    const { VOELGOED_TESTKIT_STATE_DIR: _perRun, ...env } = process.env;
    const crashing = startFixture('throw', env, 'radosgw');
    const crashed = await crashing.started;
    await exited(crashing.child);
    expect(crashed.pids).toHaveLength(3);
    expect(await stillAliveAfter(crashed.pids)).toEqual([]);
    expect(crashed.dirs.filter(existsSync)).toEqual([]);

    const runDir = mkdtempSync(path.join(os.tmpdir(), 'voelgoed-reaper-test-'));
    const hanging = startFixture('hang', { ...process.env, VOELGOED_TESTKIT_STATE_DIR: runDir }, 'radosgw');
    const info = await hanging.started;
    hanging.child.kill('SIGKILL');
    await exited(hanging.child);
    expect(info.pids.filter(isAlive)).toEqual(info.pids);
    expect(reap(runDir).sort()).toEqual([...info.pids].sort());
    expect(await stillAliveAfter(info.pids)).toEqual([]);
    expect(info.dirs.filter(existsSync)).toEqual([]);
  }, 120_000);
});
