// Consumer projects built from the tarballs, as a user's project would be: one per test runner
// (Jest 30 with its default configuration, Vitest, node:test) under one install of every tarball,
// and one TypeScript project per module setting a user may have.
import { cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { consumerEnv, NPM_INSTALL, npmEnv, readJson, record, runAsync } from './util.mjs';

const here = path.dirname(new URL(import.meta.url).pathname);
const fixtures = path.join(here, '..', 'consumers');
const packageCheck = path.join(here, '..');

/** Jest at the workspace's catalog version (the one this repository tests with). */
function jestVersion(root) {
  const workspace = readFileSync(path.join(root, 'pnpm-workspace.yaml'), 'utf8');
  return /^\s+jest:\s*(\S+)\s*$/m.exec(workspace)?.[1] ?? '30';
}

/** Every entry point a user can import: each package's `exports` keys (not ./package.json). */
export function consumerEntries(root, published) {
  return published.flatMap((name) => {
    const pkg = readJson(path.join(root, 'packages', name, 'package.json'));
    return Object.keys(pkg.exports)
      .filter((key) => key !== './package.json')
      .map((key) => `@voelgoed/${name}${key.slice(1)}`);
  });
}

/** One directory per runner, each with its own package.json, all under one installed project. */
const RUNNERS = {
  // No "type": Jest users' test files are CommonJS unless they configure otherwise.
  jest: { type: undefined, tests: ['consumer.test.js'] },
  vitest: { type: 'module', tests: ['consumer.test.ts'] },
  'node-test': { type: 'module', tests: ['consumer.test.mjs', 'consumer-cjs.test.cjs'] },
};

/**
 * One npm install of every tarball plus Jest and Vitest (from npm's cache after the first run),
 * shared by the runner directories below it, which resolve their packages from the parent's
 * node_modules as a monorepo's packages would. Resolves to the project directory, or undefined.
 */
export async function installConsumers(root, work, tarballs, published) {
  const started = performance.now();
  const project = path.join(work, 'consumers');
  mkdirSync(project, { recursive: true });
  writeFileSync(
    path.join(project, 'package.json'),
    JSON.stringify({ name: 'consumers', private: true }, null, 2),
  );
  for (const [runner, spec] of Object.entries(RUNNERS)) {
    const dir = path.join(project, runner);
    mkdirSync(dir, { recursive: true });
    writeFileSync(
      path.join(dir, 'package.json'),
      JSON.stringify({ name: `consumer-${runner}`, private: true, type: spec.type }, null, 2),
    );
    for (const test of spec.tests) cpSync(path.join(fixtures, runner, test), path.join(dir, test));
  }
  const runners = [`jest@${jestVersion(root)}`, 'vitest@5.1.2'];
  const out = await runAsync('npm', [...NPM_INSTALL, ...published.map((n) => tarballs[n]), ...runners], {
    cwd: project,
    env: npmEnv(),
    timeout: 300_000,
    logFile: path.join(work, 'install-consumers.log'),
  });
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  record(
    `consumers: a project installs every tarball with ${runners.join(' and ')}`,
    out.status === 0,
    out.status === 0
      ? `${seconds} s`
      : `${out.output.slice(-600)}${out.status === null ? ' (no finish within 300 s)' : ''}`,
  );
  return out.status === 0 ? project : undefined;
}

const RUN = {
  jest: (project) => [
    process.execPath,
    [path.join(project, 'node_modules', 'jest', 'bin', 'jest.js'), '--ci'],
  ],
  vitest: (project) => [
    process.execPath,
    [path.join(project, 'node_modules', 'vitest', 'vitest.mjs'), 'run'],
  ],
  'node-test': () => [process.execPath, ['--test']],
};
/** The runner's own count of passed tests, from its summary. */
const PASSED = {
  jest: /Tests:\s+(?:\d+ \w+, )*?(\d+) passed/,
  vitest: /Tests\s+(\d+) passed/,
  'node-test': /^(?:#|ℹ) pass (\d+)/m,
};

/** Runs each project's tests with its runner as installed, with a Redis at REDIS_URL. */
export async function runConsumerTests(work, project, { redisUrl, entries }) {
  await Promise.all(
    Object.keys(RUNNERS).map(async (runner) => {
      const [cmd, args] = RUN[runner](project);
      const out = await runAsync(cmd, args, {
        cwd: path.join(project, runner),
        env: consumerEnv({
          REDIS_URL: redisUrl,
          VOELGOED_ENTRIES: JSON.stringify(entries),
          CI: '1',
          NO_COLOR: '1',
        }),
        timeout: 180_000,
        logFile: path.join(work, `run-${runner}.log`),
      });
      const passed = Number(PASSED[runner].exec(out.output)?.[1] ?? 0);
      record(
        `consumers: under ${runner === 'node-test' ? 'node:test' : runner} (default config, no NODE_OPTIONS) every entry point loads; memory-twin, conformance-suite and real-adapter tests pass`,
        // entry points, 4 of our own, and the rate limiter's conformance checks
        out.status === 0 && passed >= entries.length + 8,
        out.status === 0 && passed > 0 ? `${passed} tests passed` : out.output.slice(-1500),
      );
    }),
  );
}

/** TypeScript settings a consumer project may have; each compiles files importing every entry. */
const TS_PROFILES = [
  // allowSyntheticDefaultImports as NestJS's default tsconfig has it: @redis/client's own
  // declarations (`import net from 'node:net'`) need it under module commonjs.
  {
    name: 'module commonjs (node10 resolution)',
    module: 'commonjs',
    moduleResolution: 'node10',
    files: ['consumer.ts'],
    extra: { allowSyntheticDefaultImports: true },
  },
  {
    name: 'module node16 (ESM and CJS files)',
    module: 'node16',
    moduleResolution: 'node16',
    files: ['consumer.mts', 'consumer.cts'],
  },
  {
    name: 'module nodenext (ESM and CJS files)',
    module: 'nodenext',
    moduleResolution: 'nodenext',
    files: ['consumer.mts', 'consumer.cts'],
  },
  { name: 'moduleResolution bundler', module: 'esnext', moduleResolution: 'bundler', files: ['consumer.ts'] },
];

function consumerSource(entries) {
  const imports = entries.map((entry, i) => `import * as entry${i} from '${entry}';`);
  return [
    '// Every entry point of every package, as a TypeScript user imports it.',
    ...imports,
    "import type { KeyValueStore, RateLimiter } from '@voelgoed/contracts';",
    "import { MemoryKeyValueStore, MemoryRateLimiter } from '@voelgoed/contracts/memory';",
    '',
    'export const kv: KeyValueStore = new MemoryKeyValueStore();',
    'export const limiter: RateLimiter = new MemoryRateLimiter({ limit: 1, periodMs: 1000 });',
    `export const modules: object[] = [${entries.map((_, i) => `entry${i}`).join(', ')}];`,
    '',
  ].join('\n');
}

/**
 * `tsc` in the installed project for each module setting: strict and without
 * skipLibCheck, so the packages' own declarations (their imports of each other's subpaths) are
 * compiled under that setting too.
 */
export async function typeCheckConsumers(work, project, entries) {
  const tsc = path.join(packageCheck, 'node_modules', 'typescript', 'bin', 'tsc');
  const source = consumerSource(entries);
  await Promise.all(
    TS_PROFILES.map(async (profile) => {
      const dir = path.join(project, `tsc-${profile.module}`);
      mkdirSync(dir, { recursive: true });
      for (const file of profile.files) writeFileSync(path.join(dir, file), source);
      const compilerOptions = {
        strict: true,
        noEmit: true,
        skipLibCheck: false,
        target: 'es2022',
        lib: ['es2023'],
        module: profile.module,
        moduleResolution: profile.moduleResolution,
        types: ['node'],
        typeRoots: [path.join(packageCheck, 'node_modules', '@types')],
        ...profile.extra,
      };
      writeFileSync(
        path.join(dir, 'tsconfig.json'),
        JSON.stringify({ compilerOptions, files: profile.files }, null, 2),
      );
      const out = await runAsync(process.execPath, [tsc, '-p', dir], {
        cwd: dir,
        timeout: 180_000,
        logFile: path.join(work, `tsc-${profile.module}.log`),
      });
      record(
        `consumers: tsc, ${profile.name}, strict, no skipLibCheck: every entry point type-checks`,
        out.status === 0,
        out.status === 0 ? `${entries.length} entry points` : out.output.slice(-1500),
      );
    }),
  );
}
