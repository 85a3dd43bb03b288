#!/usr/bin/env node
// Runs Jest with the Node flags this workspace needs: --experimental-vm-modules lets Jest's
// CommonJS runtime load ESM-only packages (got 16) through require(esm) on Node >= 22.
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const jestBin = require.resolve('jest/bin/jest');
const flags = ['--experimental-vm-modules', '--disable-warning=ExperimentalWarning'];
const nodeOptions = [process.env.NODE_OPTIONS ?? '', ...flags].join(' ').trim();

const child = spawn(process.execPath, [jestBin, ...process.argv.slice(2)], {
  stdio: 'inherit',
  env: { ...process.env, NODE_OPTIONS: nodeOptions },
});
child.on('exit', (code, signal) => {
  if (signal) process.kill(process.pid, signal);
  else process.exit(code ?? 1);
});
