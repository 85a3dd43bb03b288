import { readFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from '@jest/globals';
import {
  type BlockDiagnostic,
  type CodeBlock,
  checkBlocks,
  extractTsBlocks,
  findMarkdownFiles,
  formatDiagnostic,
  repoRoot,
  resolveFromBlock,
} from './readme-code-checker.js';
import {
  brokenRelativeLinks,
  brokenRepositoryLinks,
  extractLinks,
  REPOSITORY_BLOB,
  unshippedLinks,
} from './readme-links.js';

const PUBLISHED = ['contracts', 'redis', 'lock', 'http', 'storage', 'telemetry', 'queue'] as const;
const markdownFiles = findMarkdownFiles();
const read = (file: string): string => readFileSync(path.join(repoRoot, file), 'utf8');
const blocks: CodeBlock[] = markdownFiles.flatMap((file) => extractTsBlocks(file, read(file)));
const filesWithBlocks = [...new Set(blocks.map((block) => block.readme))];

/** Compiles one snippet the way README blocks are compiled. */
const check = (code: string, continued: CodeBlock[] = []): string[] =>
  checkBlocks([
    ...continued,
    { readme: 'synthetic/README.md', line: 10, code, continued: continued.length > 0 },
  ]).map(formatDiagnostic);

describe('README ts blocks, compiled verbatim as a strict NodeNext consumer against the built packages', () => {
  let diagnostics: BlockDiagnostic[] = [];
  beforeAll(() => {
    diagnostics = checkBlocks(blocks);
  });

  it('finds the READMEs of the root and of every published package, and their ts blocks', () => {
    expect(markdownFiles).toEqual(
      expect.arrayContaining([
        'README.md',
        'docs/architecture.md',
        ...PUBLISHED.map((p) => `packages/${p}/README.md`),
      ]),
    );
    expect(markdownFiles.some((file) => file.includes('node_modules'))).toBe(false);
    expect(filesWithBlocks).toEqual(
      expect.arrayContaining(['README.md', ...PUBLISHED.map((p) => `packages/${p}/README.md`)]),
    );
  });

  it('resolves @voelgoed/* to the packages’ built dist through their exports, as after npm install', () => {
    for (const specifier of [
      '@voelgoed/contracts',
      '@voelgoed/contracts/memory',
      '@voelgoed/redis/rate-limiter',
    ]) {
      const resolved = resolveFromBlock(specifier) ?? '';
      expect(path.relative(repoRoot, resolved)).toMatch(/^packages\/(contracts|redis)\/dist\/.*\.d\.ts$/);
    }
    expect(resolveFromBlock('@voelgoed/contracts/src/index')).toBeUndefined();
  });

  it.each(filesWithBlocks)('%s: every ts block compiles', (file) => {
    expect(diagnostics.filter((d) => d.readme === file).map(formatDiagnostic)).toEqual([]);
  });

  it('nothing else (compiler options, a declaration file) has a diagnostic', () => {
    const elsewhere = diagnostics.filter((d) => !filesWithBlocks.includes(d.readme));
    expect(elsewhere.map(formatDiagnostic)).toEqual([]);
  });
});

describe('the README block checker', () => {
  it('reports a type error at its README line, with the code and message', () => {
    expect(
      check("import type { KeyValueStore } from '@voelgoed/contracts';\n\nconst n: number = 'a';"),
    ).toEqual([
      "synthetic/README.md:12:7 (```ts block opened at line 9) TS2322: Type 'string' is not assignable to type 'number'.",
    ]);
  });

  it('adds no preamble: an undeclared name, a missing export or an unshipped path fails', () => {
    expect(check('await doSomething();').join('\n')).toMatch(/TS2304: Cannot find name 'doSomething'/);
    expect(check("import { notExported } from '@voelgoed/contracts';").join('\n')).toMatch(/TS2305/);
    expect(check("import { x } from '@voelgoed/contracts/src/errors.js';").join('\n')).toMatch(/TS2307/);
    expect(check("import { x } from 'no-such-package-anywhere';").join('\n')).toMatch(/TS2307/);
  });

  it('checks strictly: implicit any and possibly-undefined values fail', () => {
    expect(check('export const f = (x) => x;').join('\n')).toMatch(/TS7006/);
    expect(
      check('declare const s: string | undefined;\nexport const n: number = s.length;').join('\n'),
    ).toMatch(/TS18048/);
  });

  it('passes a correct block, and a `ts continued` block sees the block before it', () => {
    const port: CodeBlock = {
      readme: 'synthetic/README.md',
      line: 3,
      code: "import type { KeyValueStore } from '@voelgoed/contracts';\nexport const hit = (kv: KeyValueStore) => kv.incr('hits');",
      continued: false,
    };
    expect(
      check(
        "import { MemoryKeyValueStore } from '@voelgoed/contracts/memory';\nawait new MemoryKeyValueStore().set('a', 'b');",
      ),
    ).toEqual([]);
    expect(
      check(
        "import { MemoryKeyValueStore } from '@voelgoed/contracts/memory';\nconst n: number = await hit(new MemoryKeyValueStore());",
        [port],
      ),
    ).toEqual([]);
    expect(check('const n: string = await hit(null!);', [port])).toEqual([
      "synthetic/README.md:10:7 (```ts block opened at line 9) TS2322: Type 'number' is not assignable to type 'string'.",
    ]);
  });

  it('resolves a library our packages are built on, as a user who installed it next to ours', () => {
    expect(
      check("import { Registry } from 'prom-client';\nexport const r: Registry = new Registry();"),
    ).toEqual([]);
    expect(
      check("import { Registry } from 'prom-client';\nexport const r: number = new Registry();").join('\n'),
    ).toMatch(/TS2322/);
  });

  it('extracts ts and typescript fences verbatim, including indented ones, and no other language', () => {
    const markdown = [
      'text',
      '```ts',
      'const a = 1;',
      '```',
      '```sh',
      'ls',
      '```',
      '- item',
      '  ```typescript continued',
      '  const b = a;',
      '    nested();',
      '  ```',
    ].join('\n');
    expect(extractTsBlocks('x.md', markdown)).toEqual([
      { readme: 'x.md', line: 3, code: 'const a = 1;', continued: false },
      { readme: 'x.md', line: 10, code: 'const b = a;\n  nested();', continued: true },
    ]);
  });
});

describe('README links', () => {
  const packageFiles = (name: string): string[] =>
    (JSON.parse(read(`packages/${name}/package.json`)) as { files?: string[] }).files ?? [];

  it.each(PUBLISHED)(
    'packages/%s/README.md links only to what the tarball ships (others: absolute repository links)',
    (name) => {
      const file = `packages/${name}/README.md`;
      expect(unshippedLinks(file, read(file), packageFiles(name))).toEqual([]);
    },
  );

  it('every relative link in every README names an existing file inside the repository', () => {
    expect(markdownFiles.flatMap((file) => brokenRelativeLinks(repoRoot, file, read(file)))).toEqual([]);
  });

  it.each(PUBLISHED)('links to the repository that packages/%s/package.json names', (name) => {
    const pkg = JSON.parse(read(`packages/${name}/package.json`)) as { repository?: { url?: string } };
    expect(pkg.repository?.url?.replace(/^git\+/, '').replace(/\.git$/, '/blob/main/')).toBe(REPOSITORY_BLOB);
  });

  it('every link to the repository on GitHub names a path that exists in it', () => {
    expect(markdownFiles.flatMap((file) => brokenRepositoryLinks(repoRoot, file, read(file)))).toEqual([]);
  });

  it('the root README links the architecture inside the repository', () => {
    const targets = extractLinks(read('README.md')).map((link) => link.target);
    expect(targets).toContain('docs/architecture.md');
    expect(targets.filter((target) => target.startsWith('..'))).toEqual([]);
  });

  it('the link checks catch unshipped, outside and missing targets', () => {
    const markdown = [
      '[src](src/index.ts) [bench](../../bench/README.md) [dist](dist/index.d.ts) [lic](./LICENSE)',
      '[web](https://example.com) [anchor](#errors) `[code](src/x.ts)`',
      '```ts',
      '// [in a block](src/y.ts)',
      '```',
      '[def]: src/z.ts',
      `[repo](https://github.com/voelgoed/infrastructure/blob/main/packages/none.ts)`,
    ].join('\n');
    expect(unshippedLinks('packages/x/README.md', markdown, ['dist'])).toEqual([
      'packages/x/README.md:1: src/index.ts',
      'packages/x/README.md:1: ../../bench/README.md',
      'packages/x/README.md:6: src/z.ts',
    ]);
    expect(
      brokenRelativeLinks(repoRoot, 'README.md', '[d](../shared/DESIGN.md) [ok](docs/architecture.md)'),
    ).toEqual(['README.md:1: ../shared/DESIGN.md']);
    expect(brokenRepositoryLinks(repoRoot, 'README.md', markdown)).toEqual([
      'README.md:7: https://github.com/voelgoed/infrastructure/blob/main/packages/none.ts',
    ]);
  });
});
