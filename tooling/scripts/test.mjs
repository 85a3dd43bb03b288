#!/usr/bin/env node
// `./dev test`: builds, type-checks, lints and tests every workspace package through turbo,
// then prints one closing line summed over every package's tests: `N passed, N failed[, N skipped]`,
// followed by the S3 server kinds the tests ran on, e.g. `(S3 tests on radosgw and s3rver)`.
// A package whose tests did not run (its build failed, Jest crashed) and any failed
// build/typecheck/lint task count as failures too, so the line can never look green by omission.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..', '..');
const reportDir = path.join(root, '.reports');
const runsDir = path.join(root, '.turbo', 'runs');
rmSync(reportDir, { recursive: true, force: true });
rmSync(runsDir, { recursive: true, force: true });

const tasks = ['build', 'typecheck', 'lint', 'test'];
const turbo = spawnSync(
  'pnpm',
  [
    'exec',
    'turbo',
    'run',
    ...tasks,
    '--continue',
    '--summarize',
    '--output-logs=new-only',
    ...process.argv.slice(2),
  ],
  { cwd: root, stdio: 'inherit', env: { ...process.env, VOELGOED_REPORT_DIR: reportDir } },
);

/** Workspace packages with a `test` script, by name. */
function packagesWithTests() {
  const names = [];
  for (const group of ['packages', 'tooling', 'examples', 'bench', 'package-check']) {
    const dir = path.join(root, group);
    if (!existsSync(dir)) continue;
    const candidates = existsSync(path.join(dir, 'package.json'))
      ? [dir]
      : readdirSync(dir).map((d) => path.join(dir, d));
    for (const candidate of candidates) {
      const file = path.join(candidate, 'package.json');
      if (!existsSync(file)) continue;
      const pkg = JSON.parse(readFileSync(file, 'utf8'));
      if (pkg.scripts?.test) names.push(pkg.name);
    }
  }
  return names;
}

function readReports() {
  const reports = new Map();
  if (!existsSync(reportDir)) return reports;
  for (const file of readdirSync(reportDir)) {
    if (!file.endsWith('.json')) continue;
    const report = JSON.parse(readFileSync(path.join(reportDir, file), 'utf8'));
    reports.set(report.package, report);
  }
  return reports;
}

/** The S3 servers the tests ran on: the test kit leaves an `s3-<kind>` file per kind it started. */
function s3Kinds() {
  if (!existsSync(reportDir)) return [];
  return readdirSync(reportDir)
    .filter((f) => f.startsWith('s3-') && !f.endsWith('.json'))
    .map((f) => f.slice(3))
    .sort();
}

/** Failed non-test tasks from turbo's run summary. */
function failedTasks() {
  if (!existsSync(runsDir)) return [];
  const summaries = readdirSync(runsDir).filter((f) => f.endsWith('.json'));
  const failed = [];
  for (const file of summaries) {
    const summary = JSON.parse(readFileSync(path.join(runsDir, file), 'utf8'));
    for (const task of summary.tasks ?? []) {
      if (task.task !== 'test' && task.execution && task.execution.exitCode !== 0) failed.push(task.taskId);
    }
  }
  return failed;
}

/** Processes still running in a test-kit temp dir: servers nobody stopped. */
function strayServers() {
  const stray = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      if (stat.charAt(stat.lastIndexOf(')') + 2) === 'Z') continue;
      if (readlinkSync(`/proc/${entry}/cwd`).includes('voelgoed-testkit')) stray.push(Number(entry));
    } catch {
      // process ended or not ours to read
    }
  }
  return stray;
}

let passed = 0;
let failed = 0;
let skipped = 0;
const problems = [];
const reports = readReports();
for (const name of packagesWithTests()) {
  const report = reports.get(name);
  if (!report) {
    failed += 1;
    problems.push(`${name}: tests did not run (see its build or test output above)`);
    continue;
  }
  passed += report.passed;
  failed += report.failed + report.suitesFailedToRun;
  skipped += report.skipped;
  if (report.suitesFailedToRun > 0)
    problems.push(`${name}: ${report.suitesFailedToRun} test file(s) failed to run`);
  for (const failure of report.failures ?? []) {
    const message = failure.message ? `\n    ${failure.message.split('\n').join('\n    ')}` : '';
    problems.push(`${name}: ${failure.test}${message}`);
  }
}
for (const task of failedTasks()) {
  failed += 1;
  problems.push(`${task} failed`);
}
const stray = strayServers();
if (stray.length > 0) {
  failed += 1;
  problems.push(`servers left running after the tests: pids ${stray.join(', ')}`);
}
if (turbo.status !== 0 && failed === 0) {
  failed += 1;
  problems.push(`turbo exited with ${turbo.status ?? turbo.signal}`);
}

for (const problem of problems) console.log(`✗ ${problem}`);
const kinds = s3Kinds();
const s3 = kinds.length > 0 ? ` (S3 tests on ${kinds.join(' and ')})` : '';
console.log(`${passed} passed, ${failed} failed${skipped > 0 ? `, ${skipped} skipped` : ''}${s3}`);
process.exit(failed > 0 ? 1 : 0);
