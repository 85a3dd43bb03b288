// Writes one JSON file per package run into the report folder, so that `./dev test` can
// print a single "N passed, N failed" line summed over every package.
const fs = require('node:fs');
const path = require('node:path');
const { stripVTControlCharacters } = require('node:util');

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
      // What failed, so that the closing lines of `./dev test` name it (CI keeps only the tail
      // of a run's output).
      failures: failures(results),
      finishedAt: new Date().toISOString(),
    };
    fs.writeFileSync(file, `${JSON.stringify(summary, null, 2)}\n`);
  }
}

const MESSAGE_LINES = 12;

/** Each failed test (file › name, the first lines of its message) and each file that failed to run. */
function failures(results) {
  const list = [];
  for (const file of results.testResults) {
    const relative = path.relative(process.cwd(), file.testFilePath);
    if (file.testExecError || (file.failureMessage && file.numFailingTests === 0)) {
      list.push({ test: relative, message: excerpt(file.testExecError?.message ?? file.failureMessage) });
    }
    for (const test of file.testResults) {
      if (test.status !== 'failed') continue;
      list.push({
        test: `${relative} › ${test.fullName}`,
        message: excerpt(test.failureMessages.join('\n')),
      });
    }
  }
  return list;
}

function excerpt(text) {
  return (
    stripVTControlCharacters(String(text ?? ''))
      .split('\n')
      // The test's own lines, not Jest's or Node's internals.
      .filter((line) => line.trim() !== '' && !/^\s+at .*(node_modules|<anonymous>|node:internal)/.test(line))
      .slice(0, MESSAGE_LINES)
      .join('\n')
  );
}

module.exports = VoelgoedReporter;
