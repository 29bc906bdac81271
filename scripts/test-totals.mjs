// Sums vitest JSON reports in a folder and prints "N passed, N failed" on its own line.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const dir = process.argv[2];
let passed = 0;
let failed = 0;
let files = 0;
for (const f of readdirSync(dir).filter((n) => n.endsWith('.json'))) {
  const r = JSON.parse(readFileSync(join(dir, f), 'utf8'));
  passed += r.numPassedTests;
  // A test file that fails to load has no failed tests of its own: count it as one failure.
  const brokenFiles = (r.testResults ?? []).filter((t) => t.status === 'failed' && t.assertionResults.length === 0).length;
  failed += r.numFailedTests + brokenFiles;
  files++;
}
console.log(`${passed} passed, ${failed} failed`);
if (files === 0 || passed === 0) {
  console.error('no test results were found');
  process.exit(1);
}
process.exit(failed > 0 ? 1 : 0);
