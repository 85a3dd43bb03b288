// Jest global setup (wired in by @voelgoed/jest-preset for packages that use the test kit):
// gives this run its own state dir, inherited by the test workers through process.env.
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

module.exports = async function globalSetup() {
  const dir = path.join(os.tmpdir(), 'voelgoed-testkit', `run-${process.pid}-${Date.now()}`);
  fs.mkdirSync(dir, { recursive: true });
  process.env.VOELGOED_TESTKIT_STATE_DIR = dir;
};
