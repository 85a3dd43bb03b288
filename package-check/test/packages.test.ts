import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { publint } from 'publint';

const PUBLISHED = ['contracts', 'redis', 'lock', 'http', 'storage', 'telemetry', 'queue'] as const;
/** Packages that take @voelgoed/redis as a peer (and so may bring its vendor library). */
const ON_REDIS: readonly string[] = ['lock', 'queue'];
const here = path.join(__dirname, '..');
const localRequire = createRequire(path.join(here, 'package.json'));

interface PackageJson {
  name: string;
  private?: boolean;
  type?: string;
  sideEffects?: boolean;
  files?: string[];
  license?: string;
  repository?: { type?: string; url?: string; directory?: string };
  homepage?: string;
  bugs?: { url?: string };
  engines?: { node?: string };
  publishConfig?: { access?: string };
  exports?: Record<string, unknown>;
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
}

function packageDir(name: string): string {
  return path.dirname(localRequire.resolve(`@voelgoed/${name}/package.json`));
}

function readPackageJson(name: string): PackageJson {
  return JSON.parse(readFileSync(path.join(packageDir(name), 'package.json'), 'utf8')) as PackageJson;
}

/** Imports a package by name in a fresh Node process, as ESM, and lists its export names. */
function esmExportNames(specifier: string): string[] {
  const script = `const m = await import(${JSON.stringify(specifier)}); console.log(JSON.stringify(Object.keys(m)));`;
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
    cwd: here,
    encoding: 'utf8',
  });
  return JSON.parse(out.trim()) as string[];
}

/** Requires a package by name in a fresh Node process, as CommonJS, and lists its export names. */
function cjsExportNames(specifier: string): string[] {
  const script = `console.log(JSON.stringify(Object.keys(require(${JSON.stringify(specifier)}))));`;
  const out = execFileSync(process.execPath, ['-e', script], { cwd: here, encoding: 'utf8' });
  return JSON.parse(out.trim()) as string[];
}

describe.each(PUBLISHED)('@voelgoed/%s as a consumer sees it', (name) => {
  const pkg = readPackageJson(name);
  const specifier = `@voelgoed/${name}`;

  it('is importable by name as ESM and as CommonJS, with the same named exports and no default export', () => {
    const esm = esmExportNames(specifier);
    const cjs = cjsExportNames(specifier);
    expect(esm.length).toBeGreaterThan(0);
    expect(esm).not.toContain('default');
    expect([...cjs].sort()).toEqual([...esm].sort());
  });

  it('ships built JS and type declarations for both formats in dist', () => {
    const dist = path.join(packageDir(name), 'dist');
    for (const file of ['index.js', 'index.cjs', 'index.d.ts', 'index.d.cts']) {
      expect(existsSync(path.join(dist, file))).toBe(true);
    }
    expect(readFileSync(path.join(dist, 'index.d.ts'), 'utf8')).toMatch(/export/);
  });

  it('has the package.json fields of a published package', () => {
    expect(pkg.name).toBe(specifier);
    expect(pkg.private).toBeUndefined();
    expect(pkg.type).toBe('module');
    expect(pkg.sideEffects).toBe(false);
    expect(pkg.files).toEqual(['dist', 'LICENSE']);
    expect(pkg.license).toBe('MIT');
    expect(pkg.repository).toEqual({
      type: 'git',
      url: 'git+https://github.com/voelgoed/infrastructure.git',
      directory: `packages/${name}`,
    });
    expect(pkg.homepage).toBe(`https://github.com/voelgoed/infrastructure/tree/main/packages/${name}#readme`);
    expect(pkg.bugs).toEqual({ url: 'https://github.com/voelgoed/infrastructure/issues' });
    expect(readFileSync(path.join(packageDir(name), 'LICENSE'), 'utf8')).toContain(
      'Copyright (c) 2026 Voelgoed contributors',
    );
    expect(pkg.engines?.node).toBe('>=22');
    expect(pkg.publishConfig?.access).toBe('public');
    expect(Object.keys(pkg.exports ?? {})).toContain('.');
  });

  it('takes @voelgoed/contracts as a peer and pulls no other adapter or its vendor library', () => {
    const runtime = Object.keys(pkg.dependencies ?? {});
    const others = PUBLISHED.filter((n) => n !== name && !(ON_REDIS.includes(name) && n === 'redis'));
    expect(runtime.filter((d) => others.some((n) => d === `@voelgoed/${n}`))).toEqual([]);
    const vendors: Record<string, string[]> = {
      redis: ['redis', 'ioredis'],
      http: ['got', 'undici'],
      storage: ['minio'],
      telemetry: ['prom-client'],
    };
    const foreign = Object.entries(vendors)
      .filter(([owner]) => owner !== name && !(ON_REDIS.includes(name) && owner === 'redis'))
      .flatMap(([, libs]) => libs)
      .concat(['ioredis', 'bullmq']);
    expect(runtime.filter((d) => foreign.includes(d))).toEqual([]);
    if (name !== 'contracts') expect(pkg.peerDependencies?.['@voelgoed/contracts']).toBeDefined();
  });

  it('passes publint without errors or warnings', async () => {
    const { messages } = await publint({ pkgDir: packageDir(name), level: 'warning', strict: true });
    expect(messages.map((m) => `${m.type} ${m.code} ${JSON.stringify(m.args)}`)).toEqual([]);
  });
});
