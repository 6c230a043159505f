/**
 * NIP-13 proof of work: hashes per second of our `nip13.minePow` (on the calling thread, one worker,
 * two workers) against nostr-tools' `minePow`, for three event sizes, and the expected time to mine
 * 20 and 22 bits at each measured rate (2^bits / rate: the search is memoryless, so that is the
 * mean).
 *
 * How each side is measured over a fixed stretch of work that does not finish:
 * - nostr-tools' `minePow` is synchronous and cannot be stopped, so its event's `content` is a
 *   getter that counts reads — `minePow` reads it once per hash, to serialize — and throws after a
 *   fixed number of hashes, at a difficulty it never reaches. The getter costs a few nanoseconds
 *   against microseconds per hash.
 * - ours mines at difficulty 60 (never reached) for a fixed time, then aborts through the signal;
 *   the rate is taken between the first and the last progress report (hashes from every worker),
 *   so worker start-up is not counted against it.
 * Each round measures every configuration once, interleaved, with a fresh event; the first round
 * is a discarded warm-up; the table shows medians. Two more rows show the two hashing kernels alone
 * on the calling thread (the internal `createPowMiner`, a fixed number of hashes): the WebAssembly
 * SIMD kernel that `minePow` uses where it can, and the JavaScript one it falls back to.
 *
 * Run: node scripts/run-ts.mjs bench/pow.bench.ts [--quick]
 * (--quick: 5 measured rounds of shorter stretches, < 60 s; default: 9 rounds.)
 * With BENCH_JSON=<file>, also writes the rows as JSON (see the benchmark conventions).
 *
 * @module
 */
import { writeFileSync } from 'node:fs'
import { availableParallelism, cpus } from 'node:os'
import { minePow as ntMinePow } from 'nostr-tools/nip13'
import { minePow } from '../src/crypto/nip13.js'
import { createPowMiner } from '../src/crypto/pow-miner.js'

const quick = process.argv.includes('--quick')
const ROUNDS = quick ? 5 : 9
/** How long one of our runs mines before it is aborted. */
const OUR_MS = quick ? 300 : 1500
/** How long one nostr-tools run should take (its hash count is calibrated in the warm-up). */
const PEER_MS = quick ? 200 : 1000
const DIFFICULTY = 60
const PUBKEY = '7e7e9c42a91bfef19fa929e5fda1b72e0ebc1a4c1141673e2794234d86addf4e'

const SIZES = [
  { name: 'short note (32 B)', content: 'gm nostr, mining my own business' },
  { name: 'note (280 B)', content: 'a'.repeat(280) },
  { name: 'long note (1 KB)', content: 'b'.repeat(1024) },
]
const KERNELS = [
  { name: 'SIMD kernel, this thread', kernel: 'simd' as const },
  { name: 'JS kernel, this thread', kernel: 'js' as const },
]
const CONFIGS = [
  { name: 'ours, calling thread', workers: 0 },
  { name: 'ours, 1 worker', workers: 1 },
  { name: 'ours, 2 workers', workers: 2 },
]

const template = (content: string) => ({
  pubkey: PUBKEY,
  created_at: Math.floor(Date.now() / 1000),
  kind: 1,
  tags: [['t', 'nostr'], ['client', 'bench']],
  content,
})

/** nostr-tools' rate over `hashes` hashes. */
function peerRate(content: string, hashes: number): number {
  const stop = new Error('stop')
  let reads = 0
  const event = { ...template(content), id: '', sig: '' } as Record<string, unknown>
  delete event.content
  Object.defineProperty(event, 'content', {
    enumerable: true,
    get() {
      if (++reads > hashes) throw stop
      return content
    },
  })
  const started = performance.now()
  try {
    ntMinePow(event as unknown as Parameters<typeof ntMinePow>[0], DIFFICULTY)
  } catch (err) {
    if (err !== stop) throw err
  }
  return hashes / ((performance.now() - started) / 1000)
}

/** Our rate with `workers` workers over about {@link OUR_MS}, from the progress reports. */
async function ourRate(content: string, workers: number): Promise<number> {
  const controller = new AbortController()
  const reports: { at: number; hashes: number }[] = []
  let timer: NodeJS.Timeout | undefined
  const run = minePow(template(content), DIFFICULTY, {
    workers,
    signal: controller.signal,
    progressIntervalMs: 50,
    onProgress: ({ hashes }) => {
      reports.push({ at: performance.now(), hashes })
      // The clock starts at the first report: the workers are up and mining.
      if (reports.length === 1) timer = setTimeout(() => controller.abort(), OUR_MS)
    },
  })
  try {
    await run
    throw new Error('mined 60 bits?')
  } catch (err) {
    if ((err as { code?: string }).code !== 'NIP13_ABORTED') throw err
  } finally {
    clearTimeout(timer)
  }
  const first = reports[0]!
  const last = reports.at(-1)!
  if (reports.length < 3) throw new Error('too few progress reports to measure a rate')
  return (last.hashes - first.hashes) / ((last.at - first.at) / 1000)
}

/** One kernel alone on this thread over about {@link PEER_MS}, after a warm-up chunk. */
function kernelRate(content: string, kernel: 'js' | 'simd', hashes: number): number {
  const serialized = JSON.stringify([0, PUBKEY, 1_700_000_000, 1, [['t', 'nostr'], ['client', 'bench'], ['nonce', '', '60']], content])
  const suffix = `","60"]],${JSON.stringify(content)}]`
  const encoder = new TextEncoder()
  const miner = createPowMiner({
    prefix: encoder.encode(serialized.slice(0, serialized.length - suffix.length)),
    suffix: encoder.encode(suffix),
    target: DIFFICULTY,
    lane: 0,
    lanes: 1,
    kernel,
  })
  miner.run(20_000)
  if (miner.kernel !== kernel) throw new Error(`the ${kernel} kernel is not available here`)
  const started = performance.now()
  miner.run(hashes)
  return hashes / ((performance.now() - started) / 1000)
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}
const fmt = (n: number): string => Math.round(n).toLocaleString('en-US')
const seconds = (s: number): string => (s < 10 ? s.toFixed(2) : s < 100 ? s.toFixed(1) : s.toFixed(0))

interface Row {
  metric: string
  unit: 'ops/s' | 'KB' | 'MB' | 's'
  ours: number
  peers: Record<string, number>
  goal: string
  met: boolean | null
}
const rows: Row[] = []

console.log(`NIP-13 proof of work: hashes/s, medians of ${ROUNDS} rounds (+1 warm-up)`)
console.log(`node ${process.version}, ${availableParallelism()} cores (${cpus()[0]?.model ?? 'unknown CPU'})`)
console.log('The machine may be shared: compare ratios from one run, not absolute figures across runs.\n')

for (const size of SIZES) {
  let peerHashes = 20_000
  const kernelHashes = new Map<string, number>(KERNELS.map((k) => [k.name, 100_000]))
  const names = ['nostr-tools', ...KERNELS.map((k) => k.name), ...CONFIGS.map((c) => c.name)]
  const samples = new Map<string, number[]>(names.map((name) => [name, []]))
  for (let round = 0; round <= ROUNDS; round++) {
    const peer = peerRate(size.content, peerHashes)
    const kernels = KERNELS.map((k) => kernelRate(size.content, k.kernel, kernelHashes.get(k.name)!))
    const configs: number[] = []
    for (const config of CONFIGS) configs.push(await ourRate(size.content, config.workers))
    if (round === 0) {
      // Warm-up: size each fixed stretch to about PEER_MS from this first rate.
      peerHashes = Math.max(5_000, Math.round((peer * PEER_MS) / 1000))
      KERNELS.forEach((k, i) => kernelHashes.set(k.name, Math.max(20_000, Math.round((kernels[i]! * PEER_MS) / 1000))))
      continue
    }
    samples.get('nostr-tools')!.push(peer)
    KERNELS.forEach((k, i) => samples.get(k.name)!.push(kernels[i]!))
    CONFIGS.forEach((c, i) => samples.get(c.name)!.push(configs[i]!))
  }
  const peer = median(samples.get('nostr-tools')!)
  console.log(`${size.name}`)
  console.log(`  ${'configuration'.padEnd(24)} ${'hashes/s'.padStart(11)} ${'x nostr-tools'.padStart(14)} ${'20 bits (s)'.padStart(12)} ${'22 bits (s)'.padStart(12)}`)
  const line = (name: string, rate: number): void =>
    console.log(
      `  ${name.padEnd(24)} ${fmt(rate).padStart(11)} ${(rate / peer).toFixed(1).padStart(14)} ${seconds(2 ** 20 / rate).padStart(12)} ${seconds(2 ** 22 / rate).padStart(12)}`,
    )
  line('nostr-tools minePow', peer)
  for (const { name } of KERNELS) {
    const rate = median(samples.get(name)!)
    line(name, rate)
    rows.push({
      metric: `PoW hashes/s, ${size.name}, ${name}`,
      unit: 'ops/s',
      ours: Math.round(rate),
      peers: { 'nostr-tools': Math.round(peer) },
      goal: 'informative (one thread, kernel alone)',
      met: null,
    })
  }
  for (const config of CONFIGS) {
    const rate = median(samples.get(config.name)!)
    line(`minePow, ${config.name.replace('ours, ', '')}`, rate)
    const both = config.workers === 2
    rows.push({
      metric: `PoW hashes/s, ${size.name}, minePow ${config.name.replace('ours, ', '')}`,
      unit: 'ops/s',
      ours: Math.round(rate),
      peers: { 'nostr-tools': Math.round(peer) },
      goal: both ? '>= 10x nostr-tools minePow (both cores)' : 'informative',
      met: both ? rate >= 10 * peer : null,
    })
    if (both) {
      for (const bits of [20, 22]) {
        rows.push({
          metric: `PoW expected time for ${bits} bits, ${size.name}, minePow 2 workers`,
          unit: 's',
          ours: Number((2 ** bits / rate).toFixed(2)),
          peers: { 'nostr-tools': Number((2 ** bits / peer).toFixed(2)) },
          goal: 'informative (2^bits / measured rate)',
          met: null,
        })
      }
    }
  }
  console.log()
}

if (process.env.BENCH_JSON) {
  writeFileSync(process.env.BENCH_JSON, `${JSON.stringify({ bench: 'pow', rows }, null, 2)}\n`)
  console.log(`wrote ${process.env.BENCH_JSON}`)
}
