#!/usr/bin/env node
// `pnpm check:packages`: every published package as a stranger meets it on the registry.
//   1. `pnpm pack` each one (workspace: ranges become versions, only `files` ship);
//   2. publint and @arethetypeswrong/cli (every resolution profile) on each tarball;
//   3. for each package, an empty project that installs ONLY that tarball (plus the tarballs of
//      the @voelgoed packages it needs, which are not on the registry) with npm, then imports it
//      by name as ESM and as CommonJS (no internal helper among its exports) and runs its smoke
//      script (smoke/<name>.mjs);
//   4. checks that no other adapter's vendor library came along (installing @voelgoed/http must
//      not bring redis, minio or prom-client);
//   5. each tarball carries LICENSE and the repository, homepage and bugs fields; vendor
//      libraries take caret ranges except those whose internals we use; no @internal declaration;
//   6. consumer projects (consumers.mjs): Jest 30 with its default config, Vitest and node:test
//      each load every entry point and run tests on a memory twin and on real adapters; tsc
//      compiles every entry point under module commonjs (node10), node16, nodenext and bundler;
//   7. a changesets dry run in a throw-away clone: a changeset that touches one package bumps
//      that package and only what depends on it, per .changeset/config.json.
// Prints one line per check and ends with `N passed, N failed`; exits 1 on any failure.
// `--json FILE` also writes the results as JSON (the jest wrapper reads it).
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { consumerEntries, installConsumers, runConsumerTests, typeCheckConsumers } from './consumers.mjs';
import { checkTarball } from './tarball.mjs';
import { NPM_INSTALL, npmEnv, readJson, record, results, run } from './util.mjs';

const here = path.dirname(new URL(import.meta.url).pathname);
const root = path.resolve(here, '..', '..');
const bin = (name) => path.join(here, '..', 'node_modules', '.bin', name);

export const PUBLISHED = ['contracts', 'redis', 'lock', 'http', 'storage', 'telemetry', 'queue'];
/** Vendor libraries each adapter brings; no other adapter may bring them. */
const VENDOR = {
  redis: ['@redis/client', 'redis'],
  http: ['got', 'undici'],
  storage: ['minio'],
  telemetry: ['prom-client'],
};
/** Libraries no package may bring: the queue stands on @voelgoed/redis, not on BullMQ's client. */
const NEVER = ['ioredis', 'bullmq'];
/** Packages that take @voelgoed/redis as a peer, and so may bring its vendor library. */
const ON_REDIS = ['lock', 'queue'];

/** Factories and constants the packages share internally: users get the error classes instead. */
const INTERNAL_HELPERS = ['invalidArgument', 'MESSAGE_PREFIX', 'connectionError'];

/** The @voelgoed packages `name` needs at install time (dependencies and peers), transitively. */
function voelgoedClosure(name, seen = new Set()) {
  if (seen.has(name)) return seen;
  seen.add(name);
  const pkg = readJson(path.join(root, 'packages', name, 'package.json'));
  for (const dep of Object.keys({ ...pkg.dependencies, ...pkg.peerDependencies })) {
    if (dep.startsWith('@voelgoed/')) voelgoedClosure(dep.slice('@voelgoed/'.length), seen);
  }
  return seen;
}

function pack(work) {
  const tarballs = {};
  for (const name of PUBLISHED) {
    const dir = path.join(root, 'packages', name);
    if (!existsSync(path.join(dir, 'dist'))) {
      record(`${name}: built`, false, 'no dist/ (run the build first: pnpm turbo run build)');
      continue;
    }
    const out = run('pnpm', ['pack', '--pack-destination', work], { cwd: dir });
    const file = readdirSync(work).find((f) => f.startsWith(`voelgoed-${name}-`) && f.endsWith('.tgz'));
    record(
      `${name}: pnpm pack`,
      out.status === 0 && file !== undefined,
      out.status === 0 ? file : out.output.slice(-400),
    );
    if (file) tarballs[name] = path.join(work, file);
  }
  return tarballs;
}

function lintTarball(name, tarball) {
  const publint = run(bin('publint'), ['run', '--strict', tarball], { cwd: root });
  record(
    `${name}: publint`,
    publint.status === 0 && !/warning|error/i.test(publint.stdout.replace(/No issues found/i, '')),
    publint.output.trim().split('\n').slice(-3).join(' | '),
  );
  // Every profile: node10 (module commonjs), node16 ESM and CJS, bundler.
  const attw = run(bin('attw'), [tarball, '--format', 'ascii'], { cwd: root });
  record(
    `${name}: @arethetypeswrong/cli (every resolution profile)`,
    attw.status === 0,
    attw.status === 0 ? 'no problems' : attw.output.trim().split('\n').slice(-12).join(' | '),
  );
}

function installAlone(name, tarballs, work) {
  const project = path.join(work, `consumer-${name}`);
  mkdirSync(project, { recursive: true });
  writeFileSync(
    path.join(project, 'package.json'),
    JSON.stringify({ name: `consumer-${name}`, private: true, type: 'module' }, null, 2),
  );
  const needed = [...voelgoedClosure(name)];
  const missing = needed.filter((n) => !tarballs[n]);
  if (missing.length) {
    record(`${name}: installs alone`, false, `no tarball for ${missing.join(', ')}`);
    return undefined;
  }
  const install = run('npm', [...NPM_INSTALL, ...needed.map((n) => tarballs[n])], {
    cwd: project,
    timeout: 300_000,
    env: npmEnv(),
  });
  if (install.status === null) {
    install.output += ' (npm install did not finish within 300 s: is the npm registry reachable?)';
  }
  record(
    `${name}: installs alone from its tarball (with ${
      needed
        .filter((n) => n !== name)
        .map((n) => `@voelgoed/${n}`)
        .join(', ') || 'nothing else'
    })`,
    install.status === 0,
    install.status === 0 ? '' : install.output.slice(-600),
  );
  return install.status === 0 ? project : undefined;
}

function importByName(name, project) {
  const specifier = `@voelgoed/${name}`;
  const esm = run(
    process.execPath,
    [
      '--input-type=module',
      '-e',
      `const m = await import(${JSON.stringify(specifier)}); console.log(JSON.stringify(Object.keys(m).sort()))`,
    ],
    { cwd: project },
  );
  const cjs = run(
    process.execPath,
    ['-e', `console.log(JSON.stringify(Object.keys(require(${JSON.stringify(specifier)})).sort()))`],
    { cwd: project },
  );
  const same = esm.status === 0 && cjs.status === 0 && esm.stdout.trim() === cjs.stdout.trim();
  const names = esm.status === 0 ? JSON.parse(esm.stdout.trim()) : [];
  record(
    `${name}: import (ESM) and require (CJS) by name give the same named exports`,
    same && names.length > 0 && !names.includes('default'),
    same ? `${names.length} exports` : `${esm.output.slice(-300)} ${cjs.output.slice(-300)}`,
  );
  const helpers = names.filter((n) => INTERNAL_HELPERS.includes(n));
  record(
    `${name}: exports none of the internal helpers (${INTERNAL_HELPERS.join(', ')})`,
    esm.status === 0 && helpers.length === 0,
    helpers.join(', '),
  );
  const smoke = path.join(here, 'smoke', `${name}.mjs`);
  if (!existsSync(smoke)) {
    record(`${name}: smoke script`, false, `missing ${path.relative(root, smoke)}`);
    return;
  }
  cpSync(smoke, path.join(project, 'smoke.mjs'));
  const viaEsm = run(process.execPath, ['smoke.mjs'], { cwd: project, timeout: 60_000 });
  record(
    `${name}: smoke script works (ESM)`,
    viaEsm.status === 0,
    (viaEsm.status === 0 ? viaEsm.stdout : viaEsm.output).trim().split('\n').slice(-3).join(' | '),
  );
  typeCheckAsConsumer(name, project);
}

/**
 * Type-checks `smoke/<name>.types.mts` (where there is one) inside the installed project, strict
 * and without skipLibCheck: the bundled declarations are what a TypeScript user compiles against,
 * and a fault in them (a type that resolves differently once bundled) shows only here.
 */
function typeCheckAsConsumer(name, project) {
  const source = path.join(here, 'smoke', `${name}.types.mts`);
  if (!existsSync(source)) return;
  cpSync(source, path.join(project, 'types.mts'));
  const tsc = path.join(here, '..', 'node_modules', '.bin', 'tsc');
  const checked = run(
    tsc,
    [
      '--noEmit',
      '--strict',
      '--skipLibCheck',
      'false',
      '--module',
      'nodenext',
      '--target',
      'es2022',
      '--types',
      'node',
      '--typeRoots',
      path.join(here, '..', 'node_modules', '@types'),
      'types.mts',
    ],
    { cwd: project, timeout: 120_000 },
  );
  record(
    `${name}: its declarations type-check in a consumer (strict, nodenext, no skipLibCheck)`,
    checked.status === 0,
    checked.status === 0 ? '' : checked.output.slice(-800),
  );
}

function noForeignVendors(name, project) {
  const foreign = Object.entries(VENDOR)
    .filter(([owner]) => owner !== name && !(ON_REDIS.includes(name) && owner === 'redis'))
    .flatMap(([, libs]) => libs)
    .concat(NEVER)
    .filter((lib) => existsSync(path.join(project, 'node_modules', lib, 'package.json')));
  record(
    `${name}: brings no other adapter's vendor library`,
    foreign.length === 0,
    foreign.length ? `found ${foreign.join(', ')}` : '',
  );
}

function changesetsDryRun(work) {
  const clone = path.join(work, 'changesets-clone');
  const cloned = run('git', ['clone', '--quiet', '--no-hardlinks', root, clone]);
  if (cloned.status !== 0) {
    record('changesets: dry run', false, cloned.output.slice(-300));
    return;
  }
  cpSync(path.join(root, 'node_modules'), path.join(clone, 'node_modules'), {
    recursive: true,
    verbatimSymlinks: true,
  });
  const changeset = path.join(root, 'node_modules', '.bin', 'changeset');
  const versions = () =>
    Object.fromEntries(
      PUBLISHED.map((n) => [n, readJson(path.join(clone, 'packages', n, 'package.json')).version]),
    );
  /** Versions before and after `changeset version` with only the given changeset, then reset. */
  const dryRun = (pkg, bump) => {
    // Only this one changeset: the repo's pending ones would blur what it bumps.
    for (const f of readdirSync(path.join(clone, '.changeset'))) {
      if (f.endsWith('.md') && f !== 'README.md') rmSync(path.join(clone, '.changeset', f));
    }
    writeFileSync(
      path.join(clone, '.changeset', 'dry-run.md'),
      `---\n"@voelgoed/${pkg}": ${bump}\n---\n\nDry run.\n`,
    );
    const before = versions();
    const status = run(changeset, ['status'], { cwd: clone });
    const version = run(changeset, ['version'], { cwd: clone });
    const after = versions();
    console.log(
      status.stdout
        .trim()
        .split('\n')
        .map((l) => `     ${l}`)
        .join('\n'),
    );
    run('git', ['checkout', '--quiet', '--', '.'], { cwd: clone });
    run('git', ['clean', '--quiet', '-fd', '--', 'packages', '.changeset'], { cwd: clone });
    const ok = status.status === 0 && version.status === 0;
    const bumped = PUBLISHED.filter((n) => before[n] !== after[n]);
    const detail = `bumped: ${bumped.map((n) => `@voelgoed/${n} ${before[n]} -> ${after[n]}`).join(', ') || 'nothing'}${version.status === 0 ? '' : ` ${version.output.slice(-300)}`}`;
    return { ok, before, after, bumped, detail };
  };

  const http = dryRun('http', 'minor');
  record(
    'changesets: a changeset for @voelgoed/http bumps only @voelgoed/http',
    http.ok && http.bumped.length === 1 && http.bumped[0] === 'http',
    http.detail,
  );
  // The adapters peer on contracts with workspace:^ (published as ^<version>): a contracts
  // release must re-release them with the new range (a patch), never force a major on them.
  const contracts = dryRun('contracts', 'minor');
  const major = (v) => v.split('.')[0];
  const patch = (from, to) => {
    const [a, b, c] = from.split('.').map(Number);
    return to === `${a}.${b}.${c + 1}`;
  };
  const adapters = PUBLISHED.filter((n) => n !== 'contracts');
  record(
    'changesets: a minor for @voelgoed/contracts gives each adapter a patch, not a major',
    contracts.ok &&
      contracts.before.contracts !== contracts.after.contracts &&
      major(contracts.before.contracts) === major(contracts.after.contracts) &&
      adapters.every((n) => patch(contracts.before[n], contracts.after[n])),
    contracts.detail,
  );
}

/** The consumer projects' test runners, against a redis-server of the test kit. */
async function consumerTests(work, project, entries) {
  let redis;
  try {
    const { startRedis } = await import('@voelgoed/testkit');
    redis = await startRedis({ name: 'package-check' });
  } catch (error) {
    record('consumers: a redis-server from the test kit', false, String(error));
    return;
  }
  try {
    await runConsumerTests(work, project, { redisUrl: redis.url, entries });
  } finally {
    await redis.stop();
  }
}

async function main() {
  const started = performance.now();
  const jsonOut = process.argv.includes('--json')
    ? process.argv[process.argv.indexOf('--json') + 1]
    : undefined;
  const work = mkdtempSync(path.join(os.tmpdir(), 'voelgoed-check-packages-'));
  try {
    const tarballs = pack(work);
    const complete = PUBLISHED.every((name) => tarballs[name]);
    // The consumer projects install in the background while each package is checked alone.
    const installing = complete ? installConsumers(root, work, tarballs, PUBLISHED) : undefined;
    for (const name of PUBLISHED) {
      if (!tarballs[name]) continue;
      lintTarball(name, tarballs[name]);
      checkTarball(name, tarballs[name]);
      const project = installAlone(name, tarballs, work);
      if (!project) continue;
      importByName(name, project);
      noForeignVendors(name, project);
    }
    const seconds = () => ((performance.now() - started) / 1000).toFixed(1);
    console.log(`     each package alone: done at ${seconds()} s`);
    const project = installing ? await installing : undefined;
    if (!installing) record('consumers: projects with every tarball', false, 'a package did not pack');
    if (project) {
      const entries = consumerEntries(root, PUBLISHED);
      await typeCheckConsumers(work, project, entries);
      await consumerTests(work, project, entries);
    }
    console.log(`     consumer projects: done at ${seconds()} s`);
    changesetsDryRun(work);
  } finally {
    // VOELGOED_KEEP_CHECK_DIR=1 keeps the tarballs and consumer projects to look into.
    if (process.env.VOELGOED_KEEP_CHECK_DIR === '1') console.log(`     kept ${work}`);
    else rmSync(work, { recursive: true, force: true });
  }
  const passed = results.filter((r) => r.ok).length;
  const failed = results.length - passed;
  if (jsonOut) writeFileSync(jsonOut, JSON.stringify(results, null, 2));
  console.log(`check-packages took ${((performance.now() - started) / 1000).toFixed(1)} s`);
  console.log(`${passed} passed, ${failed} failed`);
  process.exitCode = failed ? 1 : 0;
}

await main();
