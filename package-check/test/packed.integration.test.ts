import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';

// Runs `pnpm check:packages` (scripts/check-packages.mjs) once and turns its results into tests,
// so CI runs it as part of the README's test command.
const PUBLISHED = ['contracts', 'redis', 'lock', 'http', 'storage', 'telemetry', 'queue'] as const;
const script = path.join(__dirname, '..', 'scripts', 'check-packages.mjs');

interface CheckResult {
  name: string;
  ok: boolean;
  detail: string;
}

let results: CheckResult[] = [];
let output = '';
const dir = mkdtempSync(path.join(os.tmpdir(), 'voelgoed-packed-'));

beforeAll(() => {
  const file = path.join(dir, 'results.json');
  const run = spawnSync(process.execPath, [script, '--json', file], {
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  output = `${run.stdout}${run.stderr}`;
  try {
    results = JSON.parse(readFileSync(file, 'utf8')) as CheckResult[];
  } catch {
    throw new Error(`check-packages wrote no results:\n${output.slice(-2000)}`);
  }
}, 900_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

const failures = (prefix: string) =>
  results.filter((r) => r.name.startsWith(prefix) && !r.ok).map((r) => `${r.name}: ${r.detail}`);

describe.each(PUBLISHED)('@voelgoed/%s packed and installed alone', (name) => {
  it('packs with LICENSE and repository fields, passes publint and attw (every profile), installs alone, imports as ESM and CJS, runs its smoke script, brings no other vendor', () => {
    const mine = results.filter((r) => r.name.startsWith(`${name}:`));
    const names = mine.map((r) => r.name).join('\n');
    expect(names).toMatch(/smoke script works/);
    expect(names).toMatch(/ships LICENSE/);
    expect(names).toMatch(/no @internal member/);
    expect(mine.length).toBeGreaterThanOrEqual(11);
    expect(failures(`${name}:`)).toEqual([]);
  });
});

describe('consumer projects built from the tarballs', () => {
  const consumers = (pattern: RegExp) =>
    results.filter((r) => r.name.startsWith('consumers:') && pattern.test(r.name));

  it.each(['jest', 'vitest', 'node:test'])(
    'under %s (default config, no NODE_OPTIONS): every entry point loads; memory-twin, conformance-suite and real-adapter (HTTP, Redis) tests pass',
    (runner) => {
      const mine = consumers(new RegExp(`under ${runner} `));
      expect(mine).toHaveLength(1);
      expect(mine.filter((r) => !r.ok).map((r) => r.detail)).toEqual([]);
    },
  );

  it.each(['module commonjs', 'module node16', 'module nodenext', 'moduleResolution bundler'])(
    'tsc with %s (strict, no skipLibCheck) compiles every entry point',
    (setting) => {
      const mine = consumers(new RegExp(`tsc, ${setting}`));
      expect(mine).toHaveLength(1);
      expect(mine.filter((r) => !r.ok).map((r) => r.detail)).toEqual([]);
    },
  );

  it('installs every tarball with the test runners once', () => {
    const mine = consumers(/installs every tarball/);
    expect(mine).toHaveLength(1);
    expect(failures('consumers:')).toEqual([]);
  });
});

describe('changesets', () => {
  it('a changeset for one package bumps only that package, and a contracts release never forces adapter majors (dry runs in a clone)', () => {
    expect(results.some((r) => r.name.startsWith('changesets:'))).toBe(true);
    expect(failures('changesets:')).toEqual([]);
  });
});
