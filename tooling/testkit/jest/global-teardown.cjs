// Jest global teardown: kills any server a test worker left running (a crashed worker, a test
// that forgot to stop what it started) and says so, then removes the run's state dir.
const { reap } = require('../reaper.cjs');

module.exports = async function globalTeardown() {
  const dir = process.env.VOELGOED_TESTKIT_STATE_DIR;
  if (!dir) return;
  const killed = reap(dir);
  if (killed.length > 0) {
    process.stderr.write(
      `[testkit] reaped ${killed.length} server process(es) left running: ${killed.join(', ')}\n`,
    );
  }
};
