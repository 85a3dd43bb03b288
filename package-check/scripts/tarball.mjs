// What a tarball must carry besides code: the licence, where the source and the issues live,
// dependency ranges a consumer can dedupe, and declarations without @internal members.
import path from 'node:path';
import { record, run } from './util.mjs';

const REPOSITORY = 'git+https://github.com/voelgoed/infrastructure.git';
const WEB = 'https://github.com/voelgoed/infrastructure';

/**
 * Vendor libraries pinned exactly because we use their internals; each is confined to one file,
 * guarded by a test that fails if the internal changes. Every other dependency takes a caret range.
 */
export const EXACT_FOR_INTERNALS = {
  redis: { '@redis/client': 'src/typed-commands.ts (deep imports of its command definitions and parser)' },
  telemetry: { 'prom-client': 'src/prom-internals.ts (writes its series map directly)' },
};

/** Declarations that are the packages' own plumbing and must not reach users. */
const INTERNAL_NAMES = /\b(finished|expired|runWithDeadline|sendParsed|markReleased|markLost|extendWith)\(/;

export function checkTarball(name, tarball) {
  const list = run('tar', ['-tzf', tarball]);
  const files = list.stdout.split('\n').filter(Boolean);
  const read = (file) => run('tar', ['-xzOf', tarball, `package/${file}`]).stdout;

  const license = files.includes('package/LICENSE') ? read('LICENSE') : '';
  record(
    `${name}: the tarball ships LICENSE (MIT, Voelgoed contributors)`,
    /^MIT License/.test(license) && license.includes('Copyright (c) 2026 Voelgoed contributors'),
    license ? '' : `no package/LICENSE among ${files.length} files`,
  );

  const pkg = JSON.parse(read('package.json') || '{}');
  const expected = {
    license: 'MIT',
    repository: { type: 'git', url: REPOSITORY, directory: `packages/${name}` },
    homepage: `${WEB}/tree/main/packages/${name}#readme`,
    bugs: { url: `${WEB}/issues` },
  };
  const wrong = Object.entries(expected).filter(([k, v]) => JSON.stringify(pkg[k]) !== JSON.stringify(v));
  record(
    `${name}: the packed package.json has license, repository, homepage and bugs`,
    wrong.length === 0,
    wrong.map(([k]) => `${k}: ${JSON.stringify(pkg[k])}`).join('; '),
  );

  const exact = EXACT_FOR_INTERNALS[name] ?? {};
  const badRanges = Object.entries({ ...pkg.dependencies, ...pkg.peerDependencies })
    .filter(([dep, range]) => {
      if (range.startsWith('workspace:')) return true;
      if (exact[dep]) return !/^\d+\.\d+\.\d+$/.test(range);
      return !(range.startsWith('^') || range.startsWith('>='));
    })
    .map(([dep, range]) => `${dep}@${range}${exact[dep] ? ' (must stay exact)' : ''}`);
  record(
    `${name}: dependency ranges are carets, exact only for vendor internals we use`,
    badRanges.length === 0,
    badRanges.join(', '),
  );

  const declarations = files.filter((f) => /\.d\.c?ts$/.test(f));
  const leaks = declarations.filter((f) => {
    const text = read(f.slice('package/'.length));
    return text.includes('@internal') || INTERNAL_NAMES.test(text);
  });
  record(
    `${name}: no @internal member in the shipped declarations (${declarations.length} files)`,
    declarations.length > 0 && leaks.length === 0,
    leaks.map((f) => path.basename(f)).join(', '),
  );
  if (name === 'lock' || name === 'queue') {
    record(
      `${name}: takes @voelgoed/redis as a peer dependency (users hand it their own clients)`,
      Boolean(pkg.peerDependencies?.['@voelgoed/redis']) && !pkg.dependencies?.['@voelgoed/redis'],
      JSON.stringify({ dependencies: pkg.dependencies, peerDependencies: pkg.peerDependencies }),
    );
  }
}
