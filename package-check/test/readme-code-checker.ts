import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

/** The package-check folder and the repository root above it. */
export const packageCheckDir = path.join(__dirname, '..');
export const repoRoot = path.join(packageCheckDir, '..');

/** Blocks are compiled as if they were files in this folder, so they resolve packages as it does. */
const blocksDir = path.join(packageCheckDir, 'readme-code', 'blocks');

/** Directories that hold no README of ours. */
const SKIPPED_DIRS = new Set(['node_modules', '.git', '.toolchain', '.turbo', 'dist', 'coverage']);

const TS_LANGUAGES = new Set(['ts', 'typescript']);

export interface CodeBlock {
  /** The markdown file, relative to the repository root. */
  readme: string;
  /** 1-based line of the block's first code line in the markdown file. */
  line: number;
  /** The block's text, verbatim (less the indentation of its fence, as markdown does). */
  code: string;
  /** `ts continued`: compiled after the block before it in the same file. */
  continued: boolean;
}

export interface BlockDiagnostic {
  readme: string;
  /** Line of the block's first code line in the README. */
  blockLine: number;
  /** Line and column of the diagnostic in the README. */
  line: number;
  column: number;
  code: number;
  message: string;
}

/** Every README.md of the repository (and every markdown file under docs/), relative paths, sorted. */
export function findMarkdownFiles(root = repoRoot): string[] {
  const found: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (entry.isDirectory()) {
        if (!SKIPPED_DIRS.has(entry.name)) walk(path.join(dir, entry.name));
        continue;
      }
      const relative = path.relative(root, path.join(dir, entry.name)).split(path.sep).join('/');
      if (entry.name === 'README.md' || (relative.startsWith('docs/') && entry.name.endsWith('.md'))) {
        found.push(relative);
      }
    }
  };
  walk(root);
  return found.sort();
}

interface Fence {
  char: string;
  length: number;
  indent: number;
  info: string;
  start: number;
  lines: string[];
}

/** Splits markdown into its fenced code blocks (``` or ~~~, as CommonMark opens and closes them). */
export function extractFencedBlocks(markdown: string): { info: string; line: number; code: string }[] {
  const blocks: { info: string; line: number; code: string }[] = [];
  let open: Fence | undefined;
  markdown.split(/\r?\n/).forEach((text, index) => {
    if (open === undefined) {
      const start = /^( {0,3})(`{3,}|~{3,})(.*)$/.exec(text);
      if (start && !(start[2]?.startsWith('`') && start[3]?.includes('`'))) {
        const fence = start[2] ?? '';
        open = {
          char: fence[0] ?? '`',
          length: fence.length,
          indent: start[1]?.length ?? 0,
          info: (start[3] ?? '').trim(),
          start: index + 2,
          lines: [],
        };
      }
      return;
    }
    const close = /^ {0,3}(`{3,}|~{3,})\s*$/.exec(text);
    if (close?.[1]?.[0] === open.char && (close[1]?.length ?? 0) >= open.length) {
      blocks.push({ info: open.info, line: open.start, code: open.lines.join('\n') });
      open = undefined;
      return;
    }
    // A fenced block's lines lose up to the fence's own indentation.
    const strip = Math.min(open.indent, /^ */.exec(text)?.[0].length ?? 0);
    open.lines.push(text.slice(strip));
  });
  return blocks;
}

/** The ```ts blocks of one markdown file; the language is the info string's first word. */
export function extractTsBlocks(readme: string, markdown: string): CodeBlock[] {
  return extractFencedBlocks(markdown)
    .map(({ info, line, code }) => ({ words: info.split(/\s+/), line, code }))
    .filter(({ words }) => TS_LANGUAGES.has((words[0] ?? '').toLowerCase()))
    .map(({ words, line, code }) => ({
      readme,
      line,
      code,
      continued: words.slice(1).includes('continued'),
    }));
}

/** The consumer's compiler options: readme-code/tsconfig.json. */
export function readmeCompilerOptions(): ts.CompilerOptions {
  const configPath = path.join(packageCheckDir, 'readme-code', 'tsconfig.json');
  const json = ts.parseConfigFileTextToJson(configPath, readFileSync(configPath, 'utf8'));
  if (json.error) throw new Error(ts.flattenDiagnosticMessageText(json.error.messageText, '\n'));
  const converted = ts.convertCompilerOptionsFromJson(json.config.compilerOptions, path.dirname(configPath));
  if (converted.errors.length > 0) {
    throw new Error(
      converted.errors.map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n')).join('\n'),
    );
  }
  return converted.options;
}

/**
 * Lib, @types and dist declaration files parsed once per test run and shared by every program
 * (as the language service's document registry does): parsing them is most of a check's cost.
 */
const parsedFiles = new Map<string, ts.SourceFile>();

interface Segment {
  block: CodeBlock;
  /** First line of this block within the compiled file (0-based). */
  fromLine: number;
}

/**
 * Type-checks each block as its own module with the consumer's settings, in one program. A
 * `ts continued` block is compiled with the blocks it continues written above it, verbatim;
 * nothing else is added. Returns every diagnostic, placed at its README line.
 */
export function checkBlocks(
  blocks: readonly CodeBlock[],
  options = readmeCompilerOptions(),
): BlockDiagnostic[] {
  const files = new Map<string, { text: string; segments: Segment[] }>();
  const chains = new Map<string, CodeBlock[]>();
  for (const block of blocks) {
    const previous = chains.get(block.readme) ?? [];
    const chain = block.continued ? [...previous, block] : [block];
    chains.set(block.readme, chain);
    if (block.continued && previous.length === 0) {
      throw new Error(`${block.readme}:${block.line}: a \`ts continued\` block follows no ts block`);
    }
    const segments: Segment[] = [];
    let fromLine = 0;
    for (const part of chain) {
      segments.push({ block: part, fromLine });
      fromLine += part.code.split('\n').length;
    }
    const name = `${block.readme.replace(/[^A-Za-z0-9]+/g, '_')}_L${block.line}.ts`;
    files.set(path.join(blocksDir, name), { text: chain.map((part) => part.code).join('\n'), segments });
  }

  const host = ts.createCompilerHost(options, true);
  const getSourceFile = host.getSourceFile.bind(host);
  const fileExists = host.fileExists.bind(host);
  const readFile = host.readFile.bind(host);
  host.getSourceFile = (fileName, language, onError, shouldCreate) => {
    const virtual = files.get(path.resolve(fileName));
    if (virtual) return ts.createSourceFile(fileName, virtual.text, language, true);
    const key = `${fileName}\0${JSON.stringify(language)}`;
    const cached = parsedFiles.get(key);
    if (cached) return cached;
    const parsed = getSourceFile(fileName, language, onError, shouldCreate);
    if (parsed) parsedFiles.set(key, parsed);
    return parsed;
  };
  host.fileExists = (fileName) => files.has(path.resolve(fileName)) || fileExists(fileName);
  host.readFile = (fileName) => files.get(path.resolve(fileName))?.text ?? readFile(fileName);
  host.resolveModuleNameLiterals = (literals, containingFile, redirected, compilerOptions, sourceFile) =>
    literals.map((literal) => {
      const mode = ts.getModeForUsageLocation(sourceFile, literal, compilerOptions);
      const resolve = (from: string) =>
        ts.resolveModuleName(literal.text, from, compilerOptions, host, undefined, redirected, mode);
      const own = resolve(containingFile);
      if (
        own.resolvedModule ||
        !files.has(path.resolve(containingFile)) ||
        !isVendorSpecifier(literal.text)
      ) {
        return own;
      }
      // A block may import a library one of our packages is built on (prom-client, minio, …), as
      // a user who installed it next to ours would; it resolves to the version that package uses.
      for (const dir of vendorSearchDirs()) {
        const vendor = resolve(path.join(dir, 'index.ts'));
        if (vendor.resolvedModule) return vendor;
      }
      return own;
    });

  const program = ts.createProgram({ rootNames: [...files.keys()], options, host });
  const seen = new Set<string>();
  const results: BlockDiagnostic[] = [];
  for (const diagnostic of ts.getPreEmitDiagnostics(program)) {
    const message = ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n');
    const virtual = diagnostic.file ? files.get(path.resolve(diagnostic.file.fileName)) : undefined;
    if (!diagnostic.file || !virtual) {
      const where = diagnostic.file
        ? path.relative(repoRoot, diagnostic.file.fileName)
        : '(compiler options)';
      results.push({ readme: where, blockLine: 0, line: 0, column: 0, code: diagnostic.code, message });
      continue;
    }
    const at = diagnostic.file.getLineAndCharacterOfPosition(diagnostic.start ?? 0);
    const segment = virtual.segments.findLast((s) => s.fromLine <= at.line) ?? virtual.segments[0];
    if (!segment) continue;
    const result: BlockDiagnostic = {
      readme: segment.block.readme,
      blockLine: segment.block.line,
      line: segment.block.line + at.line - segment.fromLine,
      column: at.character + 1,
      code: diagnostic.code,
      message,
    };
    // A block's own error shows up again in every block that continues it: report it once.
    const key = `${result.readme}:${result.line}:${result.column}:${result.code}:${message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    results.push(result);
  }
  return results.sort((a, b) => a.readme.localeCompare(b.readme) || a.line - b.line || a.column - b.column);
}

/** A bare specifier of someone else's package: not `node:`, not relative, not ours. */
function isVendorSpecifier(specifier: string): boolean {
  return !/^(\.|\/|node:|@voelgoed\/)/.test(specifier);
}

/** The published packages' folders, whose own dependencies blocks may import. */
function vendorSearchDirs(): string[] {
  const packagesDir = path.join(repoRoot, 'packages');
  return readdirSync(packagesDir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => path.join(packagesDir, entry.name, 'src'));
}

/** One line per diagnostic: `README:line:column (block at line N) TSxxxx message`. */
export function formatDiagnostic(d: BlockDiagnostic): string {
  if (d.blockLine === 0) return `${d.readme}: TS${d.code}: ${d.message}`;
  return `${d.readme}:${d.line}:${d.column} (\`\`\`ts block opened at line ${d.blockLine - 1}) TS${d.code}: ${d.message}`;
}

/** The file a module specifier resolves to from a README block, as the compiler resolves it. */
export function resolveFromBlock(specifier: string, options = readmeCompilerOptions()): string | undefined {
  const containing = path.join(blocksDir, 'resolve.ts');
  return ts.resolveModuleName(
    specifier,
    containing,
    options,
    ts.sys,
    undefined,
    undefined,
    ts.ModuleKind.ESNext,
  ).resolvedModule?.resolvedFileName;
}
