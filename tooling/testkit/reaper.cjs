// Kills what the test kit started and a crashed process left behind. Plain CommonJS with no
// build step, so Jest's global teardown and other tools can load it directly.
// Records are written by src/registry.ts: <stateDir>/<pid>.json = { pid, kind, tempDir, owner }.
const fs = require('node:fs');
const path = require('node:path');

/** True while `pid` runs; a zombie (exited, unreaped) counts as gone. */
function isAlive(pid) {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.charAt(stat.lastIndexOf(')') + 2) !== 'Z';
  } catch {
    return true;
  }
}

/** True when `pid` still runs the program the record says (pids get reused). */
function runs(pid, kind) {
  try {
    const cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    return cmdline.includes(kind === 'redis-server' ? 'redis-server' : kind);
  } catch {
    return isAlive(pid);
  }
}

/**
 * Kills every recorded process that still runs, removes its temp dir and the records.
 * @param {string} stateDir
 * @returns {number[]} pids that had to be killed
 */
function reap(stateDir) {
  const killed = [];
  let entries = [];
  try {
    entries = fs.readdirSync(stateDir);
  } catch {
    return killed;
  }
  for (const entry of entries) {
    if (!entry.endsWith('.json')) continue;
    const file = path.join(stateDir, entry);
    try {
      const record = JSON.parse(fs.readFileSync(file, 'utf8'));
      if (isAlive(record.pid) && runs(record.pid, record.kind)) {
        process.kill(record.pid, 'SIGKILL');
        killed.push(record.pid);
      }
      if (record.tempDir) fs.rmSync(record.tempDir, { recursive: true, force: true });
    } catch {
      // unreadable record: nothing we can safely kill
    }
    fs.rmSync(file, { force: true });
  }
  fs.rmSync(stateDir, { recursive: true, force: true });
  return killed;
}

module.exports = { reap };
