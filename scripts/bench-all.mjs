#!/usr/bin/env node
// `npm run bench`: runs every performance benchmark against its peers (nostr-tools pure and with
// nostr-wasm, NDK, applesauce) in this process's machine, one after another so they do not compete
// for the cores, collects the JSON each writes (BENCH_JSON), and writes bench/RESULTS.md: the table
// the README's "Speed" section is made from, with the machine, Node version and date.
//
// Usage: node scripts/bench-all.mjs [--full] [--only name,name]
//   --full  runs each bench without --quick (more repetitions, slower)
//   --only  runs the named benches only (verify, ingest, pow, nip44, bundle, memory)
import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { cpus, tmpdir, totalmem } from 'node:os'
import { join } from 'node:path'

const BENCHES = ['verify', 'ingest', 'pow', 'nip44', 'bundle', 'memory']
const full = process.argv.includes('--full')
const onlyIndex = process.argv.indexOf('--only')
const only = onlyIndex >= 0 ? new Set((process.argv[onlyIndex + 1] ?? '').split(',')) : undefined
const selected = BENCHES.filter((name) => (only === undefined || only.has(name)) && existsSync(`bench/${name}.bench.ts`))

// The bundle and memory benches read dist/: build it first, as `npm test` does.
const build = spawnSync('npx', ['tsup'], { stdio: ['ignore', 'ignore', 'inherit'] })
if (build.status !== 0) {
  console.error('bench: the build failed')
  process.exit(1)
}

const dir = mkdtempSync(join(tmpdir(), 'rendezvous-bench-'))
const results = []
const failures = []
try {
  for (const name of selected) {
    const out = join(dir, `${name}.json`)
    console.log(`\n=== bench ${name}${full ? '' : ' (--quick)'}`)
    const started = Date.now()
    const args = ['scripts/run-ts.mjs', `bench/${name}.bench.ts`, ...(full ? [] : ['--quick'])]
    const run = spawnSync(process.execPath, args, { stdio: 'inherit', env: { ...process.env, BENCH_JSON: out } })
    const seconds = ((Date.now() - started) / 1000).toFixed(0)
    if (run.status !== 0 || !existsSync(out)) {
      failures.push(name)
      console.log(`=== bench ${name}: FAILED (exit ${run.status}) after ${seconds} s`)
      continue
    }
    results.push(JSON.parse(readFileSync(out, 'utf8')))
    console.log(`=== bench ${name}: done in ${seconds} s`)
  }
} finally {
  rmSync(dir, { recursive: true, force: true })
}

/** A number as people read it: 3 significant digits, thousands separated. */
function human(n) {
  if (typeof n !== 'number' || !Number.isFinite(n)) return String(n ?? '–')
  const rounded = Math.abs(n) >= 100 ? Math.round(n) : Number(n.toPrecision(3))
  return rounded.toLocaleString('en-US')
}

function ratio(row, peer) {
  const theirs = row.peers?.[peer]
  if (typeof theirs !== 'number' || typeof row.ours !== 'number' || theirs === 0) return ''
  // For sizes, memory and times smaller is better: the ratio says how many times smaller ours is.
  const smallerIsBetter = ['KB', 'MB', 'B', 's', 'ms'].includes(row.unit)
  const r = smallerIsBetter ? theirs / row.ours : row.ours / theirs
  return `${r.toFixed(2)}x`
}

const lines = []
lines.push('# Benchmark results')
lines.push('')
lines.push(
  `Machine: ${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB; ` +
    `Node ${process.version}; ${new Date().toISOString().slice(0, 10)}; ${full ? 'full runs' : '`--quick` runs'}. ` +
    'Ratios compare with the peer measured in the same run (for sizes and memory: how many times smaller ours is).',
)
lines.push('')
lines.push('| bench | metric | ours | peers | ratio | goal | met |')
lines.push('|---|---|---|---|---|---|---|')
for (const result of results) {
  for (const row of result.rows ?? []) {
    const peers = Object.entries(row.peers ?? {})
    const peerText = peers.map(([peer, value]) => `${peer}: ${human(value)}`).join('<br>') || '–'
    const ratioText = peers.map(([peer]) => ratio(row, peer)).filter(Boolean).join('<br>') || '–'
    const met = row.met === true ? 'yes' : row.met === false ? '**no**' : '–'
    lines.push(`| ${result.bench} | ${row.metric} | ${human(row.ours)} ${row.unit ?? ''} | ${peerText} | ${ratioText} | ${row.goal ?? '–'} | ${met} |`)
  }
}
if (failures.length > 0) lines.push('', `Benches that failed in this run: ${failures.join(', ')}.`)
writeFileSync('bench/RESULTS.md', lines.join('\n') + '\n')
console.log(`\n${lines.join('\n')}\n\nwritten to bench/RESULTS.md`)
process.exit(failures.length === 0 ? 0 : 1)
