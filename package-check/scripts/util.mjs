// Shared by check-packages.mjs and consumers.mjs: the result list, process helpers, npm settings.
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';

export const results = [];
export function record(name, ok, detail = '') {
  results.push({ name, ok, detail });
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${name}${detail ? `: ${detail}` : ''}`);
}

export function run(cmd, args, options = {}) {
  const out = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, ...options });
  return {
    status: out.status,
    stdout: out.stdout ?? '',
    stderr: out.stderr ?? '',
    output: `${out.stdout ?? ''}${out.stderr ?? ''}`,
  };
}

/**
 * Like `run`, without blocking: output goes to `logFile` (not a pipe, so a child is never stalled
 * by a full pipe while this process runs something synchronously), read back when it exits.
 */
export function runAsync(cmd, args, { logFile, timeout, ...options }) {
  return new Promise((resolve) => {
    const fd = openSync(logFile, 'w');
    const child = spawn(cmd, args, { ...options, stdio: ['ignore', fd, fd] });
    closeSync(fd);
    const timer = timeout ? setTimeout(() => child.kill('SIGKILL'), timeout) : undefined;
    const done = (status) => {
      clearTimeout(timer);
      resolve({ status, output: existsSync(logFile) ? readFileSync(logFile, 'utf8') : '' });
    };
    child.on('error', (error) => done(null, error));
    child.on('close', (code) => done(code));
  });
}

export const readJson = (file) => JSON.parse(readFileSync(file, 'utf8'));

/**
 * `npm install` as a consumer runs it. npm on a bootstrapped Node trusts only Node's bundled CAs:
 * pass the machine's bundle on (turbo forwards NODE_EXTRA_CA_CERTS). `--prefer-offline` reuses
 * npm's cache, so a repeated run downloads nothing.
 */
export const NPM_INSTALL = [
  'install',
  '--no-audit',
  '--no-fund',
  '--loglevel=error',
  '--ignore-scripts',
  '--prefer-offline',
];
export function npmEnv() {
  const caFile = ['/etc/ssl/certs/ca-certificates.crt', '/etc/pki/tls/certs/ca-bundle.crt'].find((f) =>
    existsSync(f),
  );
  return {
    ...process.env,
    npm_config_nodedir: '',
    ...(process.env.NODE_EXTRA_CA_CERTS || !caFile ? {} : { NODE_EXTRA_CA_CERTS: caFile }),
  };
}

/** The environment a consumer's test runner sees: none of this repository's Node options. */
export function consumerEnv(extra = {}) {
  const env = { ...process.env, ...extra };
  delete env.NODE_OPTIONS;
  for (const key of Object.keys(env)) {
    if (key.startsWith('JEST_') || key.startsWith('VITEST') || key === 'NODE_TEST_CONTEXT') delete env[key];
  }
  return env;
}
