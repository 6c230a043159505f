/**
 * Bundle size against the peers: what each library's typical import costs an app, bundled the
 * same way (esbuild, minified, browser platform, ESM, tree-shaken, NODE_ENV=production; gzip
 * level 9; KB = 1,000 bytes). Ours is measured from the published files (dist/, through the
 * package's `exports` map), the peers from their installed packages.
 *
 * - client: `import { createClient } from 'nostr-rendezvous'` against nostr-tools' typical
 *   `SimplePool, finalizeEvent, verifyEvent, nip19` (from the root, and from its subpaths
 *   `nostr-tools/pool`, `/pure`, `/nip19`, which tree-shake better), NDK's default export, and
 *   applesauce's `EventStore` + `RelayPool` (core + relay, rxjs included). Not the same features:
 *   ours includes the outbox model, a durable publish queue, DMs and memory storage.
 * - pool + sign/verify + nip19: the same job on both sides (`createRelayPool` against `SimplePool`).
 * - crypto: the `nostr-rendezvous/crypto` budgets, measured beyond noble (`@noble/*` external).
 * - each subpath (everything it exports), for the README.
 *
 * Sizes are deterministic: one build per pattern, `--quick` or not (a "median of 5" would repeat
 * the same number). The budgets themselves are checked by test/bundle-size.test.ts; this prints
 * them beside the peers.
 *
 * Run: node scripts/run-ts.mjs bench/bundle.bench.ts [--quick]   (BENCH_JSON=file: JSON too)
 * Needs a build: `npm run build` first.
 *
 * @module
 */
import { existsSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'

interface Measured {
  minified: number
  gzip: number
}
interface Entry {
  name: string
  code: string
  budget?: { kb: number; beyondNoble: boolean }
  goal?: { kb: number; beyondNoble: boolean }
  external?: string[]
  platform?: 'browser' | 'node'
}
interface SizeScript {
  ENTRIES: readonly Entry[]
  NOBLE_EXTERNAL: string[]
  measureBundle(options: { code: string; root: string; external?: string[]; platform?: string }): Promise<Measured>
}

interface JsonRow {
  metric: string
  unit: 'KB'
  ours: number
  peers: Record<string, number>
  goal: string
  met: boolean | null
}

const root = process.cwd()
if (!existsSync(join(root, 'dist', 'index.js'))) {
  console.error('bundle.bench: dist/ has no build; run `npm run build` first (from the project root)')
  process.exit(2)
}
// The script is plain .mjs without type declarations, loaded at run time from the project root
// (benchmarks run from there; this file is bundled elsewhere by scripts/run-ts.mjs).
const sizes = (await import(pathToFileURL(join(root, 'scripts', 'bundle-size.mjs')).href)) as SizeScript

const KB = (bytes: number): number => Math.round(bytes / 100) / 10

async function gzipOf(code: string, beyondNoble = false, extra: Partial<Entry> = {}): Promise<number> {
  const external = [...(extra.external ?? []), ...(beyondNoble ? sizes.NOBLE_EXTERNAL : [])]
  const platform = extra.platform ?? 'browser'
  return (await sizes.measureBundle({ code, root, external, platform })).gzip
}

const PEER_CLIENT: Record<string, string> = {
  'nostr-tools (root import)': "export { SimplePool, finalizeEvent, verifyEvent, nip19 } from 'nostr-tools'",
  'nostr-tools (subpath imports)':
    "export { SimplePool } from 'nostr-tools/pool'; export { finalizeEvent, verifyEvent } from 'nostr-tools/pure'; export * as nip19 from 'nostr-tools/nip19'",
  NDK: "export { default as NDK } from '@nostr-dev-kit/ndk'",
  applesauce: "export { EventStore } from 'applesauce-core'; export { RelayPool } from 'applesauce-relay'",
}
const NT_CRYPTO_TYPICAL = "export { generateSecretKey, getPublicKey, finalizeEvent, verifyEvent, nip19 } from 'nostr-tools'"
const OURS_POOL_TYPICAL =
  "export { createRelayPool } from 'nostr-rendezvous/relay-pool'; export { finalizeEvent, verifyEvent, nip19 } from 'nostr-rendezvous/crypto'"

const entry = (name: string): Entry => {
  const found = sizes.ENTRIES.find((e) => e.name === name)
  if (!found) throw new Error(`scripts/bundle-size.mjs has no entry ${name}`)
  return found
}

const rows: JsonRow[] = []
const budgetRow = async (metric: string, name: string, peers: Record<string, number>): Promise<void> => {
  const e = entry(name)
  // The issue's goal where there is one; else the regression budget (size reached + ~10%).
  const limit = e.goal ?? e.budget
  const beyond = limit?.beyondNoble ?? false
  const ours = await gzipOf(e.code, beyond, e)
  const what = e.goal ? 'goal' : 'budget'
  rows.push({
    metric,
    unit: 'KB',
    ours: KB(ours),
    peers,
    goal: limit ? `${what} <= ${limit.kb} KB gzipped${beyond ? ' beyond noble' : ', noble included'}` : 'size, for comparison',
    met: limit ? ours <= limit.kb * 1000 : null,
  })
}

const peerClient: Record<string, number> = {}
for (const [peer, code] of Object.entries(PEER_CLIENT)) peerClient[peer] = KB(await gzipOf(code))
await budgetRow('gzip, client: createClient (peers: their typical client import)', 'createClient', peerClient)
rows.push({
  metric: 'gzip beyond noble, client: createClient',
  unit: 'KB',
  ours: KB(await gzipOf(entry('createClient').code, true)),
  peers: Object.fromEntries(await Promise.all(Object.entries(PEER_CLIENT).map(async ([p, c]) => [p, KB(await gzipOf(c, true))] as const))),
  goal: 'size, for comparison',
  met: null,
})
rows.push({
  metric: 'gzip, pool + finalizeEvent + verifyEvent + nip19',
  unit: 'KB',
  ours: KB(await gzipOf(OURS_POOL_TYPICAL)),
  peers: {
    'nostr-tools (root import)': peerClient['nostr-tools (root import)']!,
    'nostr-tools (subpath imports)': peerClient['nostr-tools (subpath imports)']!,
  },
  goal: 'size, for comparison',
  met: null,
})
await budgetRow('gzip beyond noble, crypto: everything', 'crypto (everything)', {})
await budgetRow('gzip beyond noble, crypto: generateSecretKey getPublicKey finalizeEvent verifyEvent nip19', 'crypto (typical)', {
  'nostr-tools (root import)': KB(await gzipOf(NT_CRYPTO_TYPICAL, true)),
})
for (const e of sizes.ENTRIES) {
  if (['createClient', 'crypto (everything)', 'crypto (typical)'].includes(e.name)) continue
  rows.push({ metric: `gzip, ${e.name}`, unit: 'KB', ours: KB(await gzipOf(e.code, false, e)), peers: {}, goal: 'size, for the README', met: null })
}

const peerNames = [...new Set(rows.flatMap((r) => Object.keys(r.peers)))]
const width = Math.max(...rows.map((r) => r.metric.length))
console.log('Bundle size, KB gzipped (1 KB = 1,000 bytes; esbuild minified browser ESM; gzip -9). Ratio = ours / peer: below 1 is smaller.')
console.log(`${'pattern'.padEnd(width)}  ${'ours'.padStart(6)}  ${peerNames.map((p) => p.padStart(Math.max(p.length, 14))).join('  ')}  goal`)
for (const r of rows) {
  const cells = peerNames.map((p) => {
    const v = r.peers[p]
    const text = v === undefined ? '' : `${v.toFixed(1)} (${(r.ours / v).toFixed(2)}x)`
    return text.padStart(Math.max(p.length, 14))
  })
  const verdict = r.met === null ? '' : r.met ? ' (met)' : ' (NOT met)'
  console.log(`${r.metric.padEnd(width)}  ${r.ours.toFixed(1).padStart(6)}  ${cells.join('  ')}  ${r.goal}${verdict}`)
}

if (process.env.BENCH_JSON) writeFileSync(process.env.BENCH_JSON, `${JSON.stringify({ bench: 'bundle', rows }, null, 2)}\n`)
