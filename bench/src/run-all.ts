// `pnpm bench`: runs every side-by-side benchmark (src/*.bench.ts), one process each, one after
// another (they share the machine's two cores), then writes bench/results/latest.json and
// bench/results/latest.md: every row with its ratio against the library a user would otherwise
// pick. Exits non-zero if a bench failed, after running the others.
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Row } from './harness.ts';

const src = import.meta.dirname;
const resultsDir = path.join(src, '..', 'results');
const only = process.argv.slice(2);
const benches = readdirSync(src)
  .filter((f) => f.endsWith('.bench.ts'))
  .map((f) => f.replace('.bench.ts', ''))
  .filter((name) => only.length === 0 || only.includes(name))
  .sort();

interface BenchResult {
  name: string;
  ok: boolean;
  seconds: number;
  file?: string;
  rows: Row[];
  extra: Record<string, unknown>;
}

function newestResult(name: string, since: number): string | undefined {
  let files: string[] = [];
  try {
    files = readdirSync(resultsDir).filter((f) => f.startsWith(`${name}-`) && f.endsWith('.json'));
  } catch {
    return undefined;
  }
  const fresh = files
    .map((f) => path.join(resultsDir, f))
    .filter((f) => {
      const { at } = JSON.parse(readFileSync(f, 'utf8')) as { at?: string };
      return at !== undefined && Date.parse(at) >= since;
    })
    .sort();
  return fresh.at(-1);
}

const results: BenchResult[] = [];
const startedAll = Date.now();
for (const name of benches) {
  const started = Date.now();
  console.log(`\n=== ${name} ===`);
  const run = spawnSync(process.execPath, [path.join(src, `${name}.bench.ts`)], {
    stdio: 'inherit',
    // bench:lock runs worker processes for a minute per contender and W: about 8 minutes.
    timeout: 900_000,
  });
  const file = run.status === 0 ? newestResult(name, started) : undefined;
  const data = file
    ? (JSON.parse(readFileSync(file, 'utf8')) as { rows: Row[] } & Record<string, unknown>)
    : undefined;
  const { rows = [], ...extra } = data ?? {};
  results.push({
    name,
    ok: run.status === 0 && file !== undefined,
    seconds: Math.round((Date.now() - started) / 1000),
    ...(file ? { file: path.relative(path.join(src, '..'), file) } : {}),
    rows,
    extra,
  });
}

const machine = {
  node: process.version,
  cpus: os.cpus().length,
  cpu: os.cpus()[0]?.model,
  platform: `${os.platform()} ${os.release()}`,
};
const latest = {
  writtenAt: new Date().toISOString(),
  seconds: Math.round((Date.now() - startedAll) / 1000),
  machine,
  benches: results,
};
writeFileSync(path.join(resultsDir, 'latest.json'), `${JSON.stringify(latest, null, 2)}\n`);

const md: string[] = [
  '# Benchmark results',
  '',
  `Run ${latest.writtenAt} on ${machine.cpus} × ${machine.cpu ?? 'unknown CPU'}, Node ${machine.node}; ${latest.seconds} s in all. See ../README.md for how it is measured.`,
  '',
];
for (const b of results) {
  md.push(
    `## ${b.name}${b.ok ? '' : ' (FAILED)'}`,
    '',
    '| scenario | contender | value | ratio |',
    '|---|---|---:|---|',
  );
  for (const r of b.rows) {
    md.push(
      `| ${r.scenario} | ${r.contender} | ${typeof r.value === 'number' ? r.value.toLocaleString('en-US') : String(r.value ?? '')} ${r.unit ?? ''} | ${typeof r.ratio === 'number' ? `${r.ratio.toFixed(2)}× vs ${r.baseline}` : ''} |`,
    );
  }
  md.push('');
}
writeFileSync(path.join(resultsDir, 'latest.md'), `${md.join('\n')}\n`);
// The whole ratio table once more, in one place, at the end.
console.log(`\n${md.join('\n')}`);
console.log(`\nwrote ${path.join('bench', 'results', 'latest.json')} and latest.md (${latest.seconds} s)`);
const failed = results.filter((r) => !r.ok).map((r) => r.name);
if (failed.length) {
  console.error(`failed: ${failed.join(', ')}`);
  process.exitCode = 1;
}
