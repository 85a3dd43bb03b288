import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';

// Runs `pnpm check:packages` (scripts/check-packages.mjs) once and turns its results into tests,
// so CI runs it as part of the README's test command.
const PUBLISHED = ['contracts', 'redis', 'lock', 'http', 'storage', 'telemetry'] as const;
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
}, 600_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

const failures = (prefix: string) =>
  results.filter((r) => r.name.startsWith(prefix) && !r.ok).map((r) => `${r.name}: ${r.detail}`);

describe.each(PUBLISHED)('@voelgoed/%s packed and installed alone', (name) => {
  it('packs, passes publint and attw, installs alone, imports as ESM and CJS, runs its smoke script, brings no other vendor', () => {
    const mine = results.filter((r) => r.name.startsWith(`${name}:`));
    expect(mine.map((r) => r.name).join('\n')).toMatch(/smoke script works/);
    expect(mine.length).toBeGreaterThanOrEqual(7);
    expect(failures(`${name}:`)).toEqual([]);
  });
});

describe('changesets', () => {
  it('a changeset for one package bumps only that package, and a contracts release never forces adapter majors (dry runs in a clone)', () => {
    expect(results.some((r) => r.name.startsWith('changesets:'))).toBe(true);
    expect(failures('changesets:')).toEqual([]);
  });
});
