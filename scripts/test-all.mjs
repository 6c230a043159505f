#!/usr/bin/env node
// The README's test command (`npm test`): type checks, build, unit and wire tests, package checks
// (publint, arethetypeswrong esm-only) and typedoc with warnings as errors. Every step runs even if
// an earlier one failed, so one red run shows everything that is wrong. The last line is the totals:
// vitest's test counts plus one entry per check step, as `N passed, N failed[, N skipped]`.
import { spawnSync } from 'node:child_process'
import { readFileSync, rmSync } from 'node:fs'

const resultsFile = '.vitest-results.json'
const steps = [
  ['typecheck', 'npx', ['tsc', '--noEmit', '-p', 'tsconfig.json']],
  ['build', 'npx', ['tsup']],
  ['tests', 'npx', ['vitest', 'run', '--reporter=default', '--reporter=json', `--outputFile.json=${resultsFile}`]],
  ['publint', 'npx', ['publint', '--strict']],
  ['attw', 'npx', ['attw', '--pack', '.', '--profile', 'esm-only']],
  ['typedoc', 'npx', ['typedoc', '--logLevel', 'Warn']],
]

let passed = 0
let failed = 0
let skipped = 0
const failures = []
rmSync(resultsFile, { force: true })

for (const [name, cmd, args] of steps) {
  console.log(`\n=== ${name}: ${cmd} ${args.join(' ')}`)
  const started = Date.now()
  const run = spawnSync(cmd, args, { stdio: 'inherit', env: { ...process.env, FORCE_COLOR: '0' } })
  const seconds = ((Date.now() - started) / 1000).toFixed(1)
  if (name === 'tests') {
    let counts
    try {
      counts = JSON.parse(readFileSync(resultsFile, 'utf8'))
    } catch {
      counts = undefined
    }
    if (counts) {
      passed += counts.numPassedTests
      failed += counts.numFailedTests
      skipped += counts.numPendingTests + counts.numTodoTests
      // A file that fails to load has no tests to count; count it as a failure.
      const brokenSuites = counts.testResults.filter((r) => r.status === 'failed' && r.assertionResults.length === 0)
      failed += brokenSuites.length
      if (counts.numFailedTests > 0 || brokenSuites.length > 0 || run.status !== 0) failures.push(name)
      if (run.status !== 0 && counts.numFailedTests === 0 && brokenSuites.length === 0) failed += 1
    } else {
      failed += 1
      failures.push(name)
    }
  } else if (run.status === 0) {
    passed += 1
  } else {
    failed += 1
    failures.push(name)
  }
  console.log(`=== ${name}: ${run.status === 0 ? 'ok' : `FAILED (exit ${run.status})`} in ${seconds}s`)
}
rmSync(resultsFile, { force: true })

if (failures.length) console.log(`\nFailed steps: ${failures.join(', ')}`)
console.log(`\n${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`)
process.exit(failed === 0 ? 0 : 1)
