import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from '@jest/globals';

// The conformance suites run under node:test, from the built package as a consumer gets it:
// these tests spawn `node --test` on a fixture that imports @voelgoed/contracts' dist.

const packageDir = path.join(__dirname, '..');
const dist = path.join(packageDir, 'dist');
const fixture = path.join(__dirname, 'fixtures', 'node-test-conformance.mjs');

interface Run {
  code: number | null;
  output: string;
}

function runFixture(mode: string, args: string[]): Promise<Run> {
  if (!existsSync(path.join(dist, 'conformance.js'))) {
    throw new Error(`${dist} has no conformance.js: build @voelgoed/contracts first`);
  }
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...args, fixture], {
      cwd: packageDir,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, NODE_OPTIONS: '', CONFORMANCE_FIXTURE: mode },
    });
    let output = '';
    child.stdout.on('data', (d: Buffer) => {
      output += d;
    });
    child.stderr.on('data', (d: Buffer) => {
      output += d;
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output }));
  });
}

const nodeTest = (mode: string) => runFixture(mode, ['--test', '--test-reporter=tap']);

describe('conformance suites under node:test', () => {
  it('the memory twins pass (key-value store, expiring set, HTTP client with its local server)', async () => {
    const run = await nodeTest('twins');
    expect({ code: run.code, failed: run.output.match(/^\s*not ok .*/gm) }).toEqual({
      code: 0,
      failed: null,
    });
    expect(run.output).toMatch(/^# fail 0$/m);
    for (const check of [
      'NX sets only a missing key',
      'tryAdd adds only an absent member and changes nothing otherwise',
      'a GET answered 503 (Retry-After: 0) is retried until it succeeds',
    ]) {
      expect(run.output).toContain(`- ${check}`);
    }
    // Every suite registered its tests: none of them is empty.
    expect(Number(/^# tests (\d+)$/m.exec(run.output)?.[1])).toBeGreaterThan(40);
  });

  it('a broken implementation fails, naming the failing check and the assertion', async () => {
    const run = await nodeTest('broken');
    expect(run.code).not.toBe(0);
    expect(run.output).toMatch(/^\s*not ok \d+ - NX sets only a missing key$/m);
    expect(run.output).toContain('expect(received).toBe(expected)');
    // Only the defect's checks fail: the rest of the suite still ran and passed.
    expect(run.output).toMatch(/^\s*ok \d+ - XX sets only an existing key$/m);
  });

  it('without `runner` and without globals, the suite throws INVALID_ARGUMENT saying what to pass', async () => {
    const run = await runFixture('no-runner', []);
    expect(run.code).toBe(0);
    expect(run.output).toContain('NO-RUNNER: InvalidArgumentError INVALID_ARGUMENT');
    expect(run.output).toContain("import { describe, it, beforeEach, afterEach } from 'node:test'");
  });

  it('the built conformance entry loads no test framework', () => {
    const files = readdirSync(dist).filter((f) => /\.(c|m)?js$/.test(f));
    expect(files.length).toBeGreaterThan(0);
    // An import or require of Jest, Vitest or any @jest/ package (the runner hint in messages is no import).
    const loadsRunner =
      /^\s*import\b[^;]*?['"](@jest\/[^'"]*|jest|vitest)['"]|require\(['"](@jest\/[^'"]*|jest|vitest)['"]\)/m;
    const offenders = files.filter((f) => loadsRunner.test(readFileSync(path.join(dist, f), 'utf8')));
    expect(offenders).toEqual([]);
    const pkg = JSON.parse(readFileSync(path.join(packageDir, 'package.json'), 'utf8'));
    const needs = Object.keys({ ...pkg.dependencies, ...pkg.peerDependencies });
    expect(needs.filter((name) => /^(@jest\/|jest$|vitest$)/.test(name))).toEqual([]);
  });
});
