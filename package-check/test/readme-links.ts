import { existsSync } from 'node:fs';
import path from 'node:path';
import { extractFencedBlocks } from './readme-code-checker.js';

/** Where the repository lives on GitHub; links to unshipped files (src/, bench/) point here. */
export const REPOSITORY_BLOB = 'https://github.com/voelgoed/infrastructure/blob/main/';
const REPOSITORY_TREE = 'https://github.com/voelgoed/infrastructure/tree/main/';

/** What npm and pnpm put in every tarball, whatever `files` says (matched on the first path segment). */
const ALWAYS_SHIPPED = [/^package\.json$/i, /^readme(\..*)?$/i, /^licen[cs]e(\..*)?$/i];

export interface Link {
  target: string;
  /** 1-based line in the markdown file. */
  line: number;
}

/** Links and images of markdown (inline, reference definitions, HTML href/src), outside code. */
export function extractLinks(markdown: string): Link[] {
  const lines = markdown.split(/\r?\n/);
  const inCode = new Set<number>();
  for (const block of extractFencedBlocks(markdown)) {
    const count = block.code === '' ? 0 : block.code.split('\n').length;
    for (let line = block.line - 1; line <= block.line + count; line++) inCode.add(line);
  }
  const links: Link[] = [];
  lines.forEach((raw, index) => {
    const line = index + 1;
    if (inCode.has(line)) return;
    const text = raw.replace(/(`+)[^`]*?\1/g, (span) => ' '.repeat(span.length)); // code spans
    for (const match of text.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) {
      links.push({ target: match[1] ?? '', line });
    }
    const definition = /^ {0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)/.exec(text);
    if (definition) links.push({ target: definition[1] ?? '', line });
    for (const match of text.matchAll(/\b(?:href|src)\s*=\s*["']([^"']+)["']/gi)) {
      links.push({ target: match[1] ?? '', line });
    }
  });
  return links;
}

/** A link that leaves the page for another file of the repository (no scheme, not `#anchor`). */
export function isRelative(target: string): boolean {
  return !/^[a-z][a-z0-9+.-]*:/i.test(target) && !target.startsWith('#') && !target.startsWith('//');
}

function withoutAnchor(target: string): string {
  return decodeURIComponent(target.replace(/[#?].*$/, ''));
}

/** Relative links of a markdown file (path from the repository root) that name no existing file in the repository. */
export function brokenRelativeLinks(root: string, markdownPath: string, markdown: string): string[] {
  return extractLinks(markdown)
    .filter((link) => isRelative(link.target))
    .filter((link) => {
      const resolved = path.resolve(root, path.dirname(markdownPath), withoutAnchor(link.target));
      return path.relative(root, resolved).startsWith('..') || !existsSync(resolved);
    })
    .map((link) => `${markdownPath}:${link.line}: ${link.target}`);
}

/**
 * Relative links of a package README that point at something its tarball does not carry
 * (anything outside the package, or inside it but not under `files`): broken on the npm page.
 */
export function unshippedLinks(readmePath: string, markdown: string, files: readonly string[]): string[] {
  const shipped = files.map((entry) => path.posix.normalize(entry).replace(/\/$/, ''));
  return extractLinks(markdown)
    .filter((link) => isRelative(link.target))
    .filter((link) => {
      const inPackage = path.posix.normalize(withoutAnchor(link.target)).replace(/^\.\//, '');
      if (inPackage.startsWith('..') || inPackage === '.' || inPackage === '') return true;
      const first = inPackage.split('/')[0] ?? '';
      if (!inPackage.includes('/') && ALWAYS_SHIPPED.some((name) => name.test(first))) return false;
      return !shipped.some((entry) => inPackage === entry || inPackage.startsWith(`${entry}/`));
    })
    .map((link) => `${readmePath}:${link.line}: ${link.target}`);
}

/** Links to this repository on GitHub whose path does not exist in the working tree. */
export function brokenRepositoryLinks(root: string, markdownPath: string, markdown: string): string[] {
  return extractLinks(markdown)
    .filter((link) => link.target.startsWith(REPOSITORY_BLOB) || link.target.startsWith(REPOSITORY_TREE))
    .filter((link) => {
      const inRepo = withoutAnchor(link.target.slice(REPOSITORY_BLOB.length));
      return inRepo === '' || !existsSync(path.join(root, inRepo));
    })
    .map((link) => `${markdownPath}:${link.line}: ${link.target}`);
}
