#!/usr/bin/env node
// Runs a TypeScript script (a benchmark, a simulation) without a TS loader: esbuild bundles it with
// its src/ and test/helpers imports into a temporary ESM file, packages stay external, then Node
// runs that file with the remaining arguments.
// Usage: node scripts/run-ts.mjs bench/selection.bench.ts [args...]
import { build } from 'esbuild'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { spawnSync } from 'node:child_process'

const [entry, ...args] = process.argv.slice(2)
if (!entry) {
  console.error('usage: node scripts/run-ts.mjs <file.ts> [args...]')
  process.exit(2)
}
// The bundle lives inside the project so that its bare imports resolve from node_modules.
const dir = mkdtempSync(join(resolve('node_modules'), '.run-ts-'))
const outfile = join(dir, 'entry.mjs')
try {
  await build({
    entryPoints: [entry],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    outfile,
    sourcemap: 'inline',
    logLevel: 'warning',
  })
  // Ctrl-C reaches the child too, which cleans up and exits; this process must outlive it so that
  // the finally below removes the bundle directory.
  process.on('SIGINT', () => {})
  process.on('SIGTERM', () => {})
  const run = spawnSync(process.execPath, ['--enable-source-maps', outfile, ...args], { stdio: 'inherit' })
  process.exitCode = run.status ?? 1
} finally {
  rmSync(dir, { recursive: true, force: true })
}
