// Writes one JSON file per package run into the report folder, so that `./dev test` can
// print a single "N passed, N failed" line summed over every package.
const fs = require('node:fs');
const path = require('node:path');

function reportDir() {
  if (process.env.VOELGOED_REPORT_DIR) return process.env.VOELGOED_REPORT_DIR;
  return path.resolve(__dirname, '..', '..', '.reports');
}

class VoelgoedReporter {
  constructor(_globalConfig, options) {
    this.packageName = options?.packageName || path.basename(process.cwd());
  }

  onRunComplete(_contexts, results) {
    const dir = reportDir();
    fs.mkdirSync(dir, { recursive: true });
    const file = path.join(dir, `${this.packageName.replace(/[@/]/g, '_')}.json`);
    const summary = {
      package: this.packageName,
      passed: results.numPassedTests,
      failed: results.numFailedTests,
      skipped: results.numPendingTests + results.numTodoTests,
      // A suite that could not even run (syntax error, failing import) counts as a failure.
      suitesFailedToRun: results.numRuntimeErrorTestSuites,
      finishedAt: new Date().toISOString(),
    };
    fs.writeFileSync(file, `${JSON.stringify(summary, null, 2)}\n`);
  }
}

module.exports = VoelgoedReporter;
