import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { repoRoot } from './readme-code-checker.js';

/**
 * Imports between the top-level folders point one way: examples, bench and package-check use the
 * packages; the packages use contracts (and the lock and queue use redis); tooling serves the tests
 * and imports none of the published packages.
 */

const SOURCE = /\.(ts|mts|cts|js|mjs|cjs)$/;
const SKIPPED = new Set(['node_modules', 'dist', '.turbo', 'results', 'coverage']);
/** Tests whose import-like strings are samples they compile or scan, not imports. */
const SAMPLES = new Set(['layout.test.ts', 'readme-code.test.ts']);

const published = readdirSync(path.join(repoRoot, 'packages'))
  .filter((dir) => existsSync(path.join(repoRoot, 'packages', dir, 'package.json')))
  .map((dir) => ({
    dir,
    name: (
      JSON.parse(readFileSync(path.join(repoRoot, 'packages', dir, 'package.json'), 'utf8')) as {
        name: string;
      }
    ).name,
  }));
const publishedNames = new Set(published.map((p) => p.name));

/** The published packages a package's src may import: contracts; redis too for the lock and the queue. */
function mayUse(dir: string): Set<string> {
  return new Set(['@voelgoed/contracts', ...(dir === 'lock' || dir === 'queue' ? ['@voelgoed/redis'] : [])]);
}

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (current: string) => {
    for (const entry of readdirSync(current, { withFileTypes: true })) {
      if (SKIPPED.has(entry.name) || SAMPLES.has(entry.name)) continue;
      const full = path.join(current, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (SOURCE.test(entry.name)) out.push(full);
    }
  };
  walk(dir);
  return out;
}

/** The module specifiers a source text imports, re-exports or requires. */
function specifiersOf(source: string): string[] {
  // Comments may quote an import (`pass import * as contracts from '…'`); they are not imports.
  const text = source.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
  const found: string[] = [];
  const patterns = [
    /\bfrom\s*['"]([^'"]+)['"]/g,
    /\bimport\s*['"]([^'"]+)['"]/g,
    /\bimport\(\s*['"]([^'"]+)['"]\s*\)/g,
    /\brequire\(\s*['"]([^'"]+)['"]\s*\)/g,
  ];
  for (const pattern of patterns) for (const match of text.matchAll(pattern)) found.push(match[1] as string);
  return found;
}

/** `@scope/name` of a bare specifier (`@voelgoed/contracts/memory` → `@voelgoed/contracts`). */
function packageOf(specifier: string): string {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : (parts[0] as string);
}

interface Violation {
  file: string;
  specifier: string;
}

/** Every import in `dir` that `allowed` refuses, with the file relative to the repository. */
function violations(dir: string, allowed: (specifier: string, file: string) => boolean): Violation[] {
  const out: Violation[] = [];
  for (const file of sourceFiles(dir)) {
    for (const specifier of specifiersOf(readFileSync(file, 'utf8'))) {
      if (!allowed(specifier, file)) out.push({ file: path.relative(repoRoot, file), specifier });
    }
  }
  return out;
}

const inside = (file: string, specifier: string, root: string) =>
  !path.relative(root, path.resolve(path.dirname(file), specifier)).startsWith('..');

describe('layout: imports point one way', () => {
  it('finds imports, re-exports and requires (the scanner can see a violation)', () => {
    const text = [
      "import { a } from '@voelgoed/redis';",
      "export * from '../../packages/lock/src/index.js';",
      "const b = await import('@voelgoed/http');",
      "const c = require('@voelgoed/storage/package.json');",
      "import './side-effect.js';",
      "/** e.g. import { x } from '@voelgoed/queue' */",
      "// const d = require('@voelgoed/lock');",
    ].join('\n');
    expect(specifiersOf(text)).toEqual(
      expect.arrayContaining([
        '@voelgoed/redis',
        '../../packages/lock/src/index.js',
        '@voelgoed/http',
        '@voelgoed/storage/package.json',
        './side-effect.js',
      ]),
    );
    expect(specifiersOf(text)).toHaveLength(5);
  });

  it('tooling imports none of the published packages and nothing outside tooling', () => {
    const tooling = path.join(repoRoot, 'tooling');
    const found = violations(tooling, (specifier, file) =>
      specifier.startsWith('.')
        ? inside(file, specifier, tooling)
        : !publishedNames.has(packageOf(specifier)),
    );
    expect(found).toEqual([]);
  });

  it('no tooling package depends on a published package', () => {
    const found: string[] = [];
    for (const dir of readdirSync(path.join(repoRoot, 'tooling'))) {
      const file = path.join(repoRoot, 'tooling', dir, 'package.json');
      if (!existsSync(file)) continue;
      const pkg = JSON.parse(readFileSync(file, 'utf8')) as Record<
        string,
        Record<string, string> | undefined
      >;
      for (const field of ['dependencies', 'devDependencies', 'peerDependencies', 'optionalDependencies']) {
        for (const name of Object.keys(pkg[field] ?? {}))
          if (publishedNames.has(name)) found.push(`${dir}: ${name}`);
      }
    }
    expect(found).toEqual([]);
  });

  it.each(published.map((p) => [p.name, p.dir]))(
    '%s: src imports stay in its src and reach only contracts (and redis, for lock and queue) through their public entries',
    (_name, dir) => {
      const src = path.join(repoRoot, 'packages', dir, 'src');
      const found = violations(src, (specifier, file) => {
        // Its own package.json (a version read at run time) is the one file outside src it may read.
        if (specifier.startsWith('.'))
          return (
            inside(file, specifier, src) ||
            path.resolve(path.dirname(file), specifier) === path.join(src, '..', 'package.json')
          );
        const name = packageOf(specifier);
        if (!name.startsWith('@voelgoed/')) return true;
        // Contracts (and, for the lock and the queue, redis), by name, without reaching into its
        // files (subpath exports are fine).
        return mayUse(dir).has(name) && !/\/(src|dist)\//.test(`${specifier}/`);
      });
      expect(found).toEqual([]);
    },
  );

  it('contracts imports no other @voelgoed package', () => {
    const src = path.join(repoRoot, 'packages', 'contracts', 'src');
    const found = violations(src, (specifier) => !specifier.startsWith('@voelgoed/'));
    expect(found).toEqual([]);
  });

  it.each(published.map((p) => [p.name, p.dir]))(
    "%s: tests do not reach into another package's, bench's, examples' or package-check's files",
    (_name, dir) => {
      const packageDir = path.join(repoRoot, 'packages', dir);
      const found = violations(path.join(packageDir, 'test'), (specifier, file) =>
        specifier.startsWith('.') ? inside(file, specifier, packageDir) : true,
      );
      expect(found).toEqual([]);
    },
  );

  it.each(['bench', 'examples', 'package-check'])(
    '%s uses the packages by name only, never by a path into their files',
    (folder) => {
      const root = path.join(repoRoot, folder);
      const found = violations(root, (specifier, file) =>
        specifier.startsWith('.')
          ? inside(file, specifier, root)
          : !(publishedNames.has(packageOf(specifier)) && /\/(src|dist)\//.test(`${specifier}/`)),
      );
      expect(found).toEqual([]);
    },
  );
});
