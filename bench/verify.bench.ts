/**
 * Signature verification: events verified per second by nostr-tools' `verifyEvent` (pure noble,
 * and with nostr-wasm's libsecp256k1), our `verifyEvent`, and our `verifyEvents` (BIP-340 batch
 * verification) at batch sizes 16, 64, 256 and 512, with few and with many distinct authors; then
 * the adversarial cases (one bad signature per batch, every signature bad) as work against plain
 * individual verification of the same events, and the batch size below which batching does not pay.
 *
 * Inputs: kind-1 notes with realistic content and tags, signed once with nostr-wasm (fast) from
 * deterministic keys. Every verification gets a fresh object (nostr-tools caches a verdict on the
 * object it verified). "Few authors": 8 authors whose keys the verifier has already seen (a feed in
 * steady state). "Many authors": every event by a new author, never seen before by the verifier
 * (each round uses new authors): the worst case for the cache of lifted keys.
 * Bad signatures keep r and change s to s + 1: in range, so nothing but the group equation can
 * reject them (the expensive case; a signature whose R or key is off the curve is rejected before
 * any group arithmetic). Adversarial rows: one bad signature in every 256 events; every signature
 * bad in one call of 256 (the worst case of one batch: the batch check, the search, then every
 * signature alone); and a sustained flood (the verifier drops to single verification after the
 * first batch). Each is reported as work against verifying each event alone with our verifyEvent.
 *
 * Each round measures every row once, interleaved; the first round is a discarded warm-up; the
 * table shows medians. Rates are in CPU time of this process (see `rate`).
 *
 * Run: node scripts/run-ts.mjs bench/verify.bench.ts [--quick]
 * (--quick: 5 measured rounds over fewer events, < 60 s; default: 9 rounds.)
 * With BENCH_JSON=<file>, also writes the rows as JSON (see the benchmark conventions).
 *
 * @module
 */
import { writeFileSync } from 'node:fs'
import { cpus } from 'node:os'
import { sha256 } from '@noble/hashes/sha2.js'
import { initNostrWasm } from 'nostr-wasm'
import { verifyEvent as ntVerify } from 'nostr-tools/pure'
import { setNostrWasm, verifyEvent as ntWasmVerify } from 'nostr-tools/wasm'
import { type BatchVerifier, createBatchVerifier } from '../src/crypto/batch-verify.js'
import { type NostrEvent, verifyEvent } from '../src/crypto/index.js'

const quick = process.argv.includes('--quick')
const ROUNDS = quick ? 5 : 9
/** Events per batched row and round (a multiple of every batch size). */
const BATCH_EVENTS = quick ? 512 : 1024
/** Events per round for the slow single verifiers (pure JS). */
const SINGLE_EVENTS = quick ? 48 : 128
const BATCH_SIZES = [16, 64, 256, 512]
/** The batch size the adversarial rows use: the default of `createBatchVerifier`. */
const ADVERSARIAL_BATCH = 256
const ADVERSARIAL_EVENTS = quick ? 512 : 1024
/** A flood of bad signatures: 4 calls of 256 in either mode (the first one pays the batch check). */
const SUSTAINED_EVENTS = 1024
const SMALL_SIZES = [2, 3, 4, 6, 8, 12, 16, 24, 32]
const FEW_AUTHORS = 8

const wasm = await initNostrWasm()
setNostrWasm(wasm)

const encoder = new TextEncoder()
const keyOf = (label: string): Uint8Array => sha256(encoder.encode(`rendezvous verify bench ${label}`))

/** Deterministic pseudo-random numbers (mulberry32), so every run verifies the same events. */
function prng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32
  }
}
const random = prng(340)
const WORDS = ['gm', 'nostr', 'relay', 'zap', 'outbox', 'bitcoin', 'coffee', 'the', 'a', 'is', 'and', 'today', 'why', '🤙', 'ñandú']

function signedNote(key: Uint8Array, i: number): NostrEvent {
  const words = Array.from({ length: 5 + Math.floor(random() * 60) }, () => WORDS[Math.floor(random() * WORDS.length)]!)
  const tags: string[][] = [['t', 'nostr']]
  if (random() < 0.5) tags.push(['e', sha256(encoder.encode(`e${i}`)).reduce((s, b) => s + b.toString(16).padStart(2, '0'), ''), 'wss://relay.example.com', 'reply'])
  if (random() < 0.5) tags.push(['p', sha256(encoder.encode(`p${i}`)).reduce((s, b) => s + b.toString(16).padStart(2, '0'), '')])
  const template = { kind: 1, created_at: 1_700_000_000 + i, tags, content: words.join(' ') } as unknown as NostrEvent
  wasm.finalizeEvent(template as never, key)
  return { id: template.id, pubkey: template.pubkey, created_at: template.created_at, kind: 1, tags, content: template.content, sig: template.sig }
}

const fewKeys = Array.from({ length: FEW_AUTHORS }, (_, i) => keyOf(`few ${i}`))
const few = Array.from({ length: Math.max(BATCH_EVENTS, ADVERSARIAL_EVENTS) }, (_, i) => signedNote(fewKeys[i % FEW_AUTHORS]!, i))
let manyCounter = 0
/** Events by authors never used before in this process. */
function newAuthors(count: number): NostrEvent[] {
  return Array.from({ length: count }, () => {
    const i = manyCounter++
    return signedNote(keyOf(`many ${i}`), 1_000_000 + i)
  })
}
const N_ORDER = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n
/** s + 1: still in range, so only the group equation rejects it. */
function badSig(event: NostrEvent): NostrEvent {
  const s = (BigInt('0x' + event.sig.slice(64)) + 1n) % N_ORDER
  return { ...event, sig: event.sig.slice(0, 64) + s.toString(16).padStart(64, '0') }
}
const fresh = (events: readonly NostrEvent[]): NostrEvent[] => events.map((e) => ({ ...e }))

/**
 * Items per second of `run` over `count` items, in CPU time of this process (user + system): the
 * same as wall time on an idle machine (everything here runs on one thread), and much less
 * disturbed when other processes share the cores. The input copy is made outside the timing.
 */
function rate(count: number, run: () => void): number {
  const started = process.cpuUsage()
  run()
  const used = process.cpuUsage(started)
  return count / ((used.user + used.system) / 1e6)
}
function expectAll(results: boolean[], expected: (i: number) => boolean, what: string): void {
  results.forEach((ok, i) => {
    if (ok !== expected(i)) throw new Error(`${what}: wrong verdict at ${i}`)
  })
}

type Sample = Record<string, number[]>
const samples: Sample = {}
const record = (name: string, value: number): void => {
  ;(samples[name] ??= []).push(value)
}

// One verifier per batch size for the few-author rows: warm across rounds, like a running client.
const fewVerifiers = new Map<number, BatchVerifier>(BATCH_SIZES.map((size) => [size, createBatchVerifier({ batchSize: size })]))
for (const verifier of fewVerifiers.values()) verifier.verifyEvents(fresh(few))

function round(): void {
  // Single verification, the same (few-author) events for every library.
  const singles = few.slice(0, SINGLE_EVENTS)
  let input = fresh(singles)
  record('nostr-tools (pure)', rate(input.length, () => expectAll(input.map((e) => ntVerify(e)), () => true, 'nostr-tools')))
  input = fresh(few)
  record('nostr-tools + nostr-wasm', rate(input.length, () => expectAll(input.map((e) => ntWasmVerify(e)), () => true, 'nostr-wasm')))
  input = fresh(singles)
  record('verifyEvent, few authors', rate(input.length, () => expectAll(input.map((e) => verifyEvent(e)), () => true, 'verifyEvent')))
  input = newAuthors(SINGLE_EVENTS)
  record('verifyEvent, many authors', rate(input.length, () => expectAll(input.map((e) => verifyEvent(e)), () => true, 'verifyEvent')))

  // Batches.
  for (const size of BATCH_SIZES) {
    const verifier = fewVerifiers.get(size)!
    input = fresh(few.slice(0, BATCH_EVENTS))
    record(`verifyEvents ${size}, few authors`, rate(input.length, () => {
      for (let at = 0; at < input.length; at += size) expectAll(verifier.verifyEvents(input.slice(at, at + size)), () => true, 'batch')
    }))
    const cold = createBatchVerifier({ batchSize: size })
    input = newAuthors(BATCH_EVENTS)
    record(`verifyEvents ${size}, many authors`, rate(input.length, () => {
      for (let at = 0; at < input.length; at += size) expectAll(cold.verifyEvents(input.slice(at, at + size)), () => true, 'batch')
    }))
  }

  // Adversarial, against individual verification of the same events; a fresh verifier (default
  // options) per row, since each adapts its chunk size to the bad signatures it has seen.
  const events = few.slice(0, ADVERSARIAL_EVENTS)
  // One bad signature at a different place in every stretch of 256.
  const badAt = new Set(Array.from({ length: ADVERSARIAL_EVENTS / ADVERSARIAL_BATCH }, (_, b) => b * ADVERSARIAL_BATCH + ((b * 97 + 31) % ADVERSARIAL_BATCH)))
  const cases: [string, NostrEvent[], (i: number) => boolean][] = [
    ['one bad per 256', events.map((e, i) => (badAt.has(i) ? badSig(e) : e)), (i) => !badAt.has(i)],
    ['all bad, first batch', events.slice(0, ADVERSARIAL_BATCH).map(badSig), () => false],
    ['all bad, sustained', Array.from({ length: SUSTAINED_EVENTS }, (_, i) => badSig(few[i % few.length]!)), () => false],
  ]
  for (const [name, list, good] of cases) {
    input = fresh(list)
    const verifier = createBatchVerifier()
    record(`${name}: verifyEvents`, rate(input.length, () => {
      for (let at = 0; at < input.length; at += ADVERSARIAL_BATCH) {
        expectAll(verifier.verifyEvents(input.slice(at, at + ADVERSARIAL_BATCH)), (i) => good(at + i), name)
      }
    }))
    input = fresh(list)
    record(`${name}: individual`, rate(input.length, () => expectAll(input.map((e) => verifyEvent(e)), good, name)))
  }

  // Below which size batching does not pay: a batch of k against k single verifications.
  const small = createBatchVerifier({ minBatch: 1 })
  const singly = createBatchVerifier({ minBatch: Number.MAX_SAFE_INTEGER })
  for (const size of SMALL_SIZES) {
    const reps = Math.ceil(64 / size)
    input = fresh(few.slice(0, size * reps))
    record(`small ${size}: batch`, rate(input.length, () => {
      for (let at = 0; at < input.length; at += size) small.verifyEvents(input.slice(at, at + size))
    }))
    input = fresh(few.slice(0, size * reps))
    record(`small ${size}: singles`, rate(input.length, () => {
      for (let at = 0; at < input.length; at += size) singly.verifyEvents(input.slice(at, at + size))
    }))
  }
}

console.log(`verify bench: ${quick ? 'quick, ' : ''}${ROUNDS} rounds after a warm-up; ${cpus()[0]?.model ?? 'cpu'}, Node ${process.version}`)
round()
for (const key of Object.keys(samples)) delete samples[key]
for (let r = 0; r < ROUNDS; r++) round()

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}
const m = (name: string): number => median(samples[name]!)
const fmt = (n: number): string => Math.round(n).toLocaleString('en')
const pure = m('nostr-tools (pure)')
const wasmRate = m('nostr-tools + nostr-wasm')

interface Row {
  metric: string
  unit: 'ops/s'
  ours: number
  peers: Record<string, number>
  goal: string
  met: boolean | null
}
const rows: Row[] = []

console.log(`\n  ${'events verified per second (median)'.padEnd(44)} ${'ops/s'.padStart(9)} ${'x nostr-tools'.padStart(14)} ${'x nostr-wasm'.padStart(13)}`)
const line = (name: string, value: number): void =>
  console.log(`  ${name.padEnd(44)} ${fmt(value).padStart(9)} ${(value / pure).toFixed(2).padStart(14)} ${(value / wasmRate).toFixed(2).padStart(13)}`)
line('nostr-tools verifyEvent (pure)', pure)
line('nostr-tools verifyEvent + nostr-wasm', wasmRate)
for (const authors of ['few', 'many'] as const) {
  const ours = m(`verifyEvent, ${authors} authors`)
  line(`ours verifyEvent, ${authors} authors`, ours)
  rows.push({
    metric: `verify one event (verifyEvent), ${authors === 'few' ? 'few authors' : 'new authors'}`,
    unit: 'ops/s',
    ours,
    peers: { 'nostr-tools (pure)': pure, 'nostr-tools + nostr-wasm': wasmRate },
    goal: '>= nostr-tools (pure)',
    met: ours >= pure,
  })
}
for (const authors of ['few', 'many'] as const) {
  for (const size of BATCH_SIZES) {
    const ours = m(`verifyEvents ${size}, ${authors} authors`)
    line(`ours verifyEvents, batches of ${size}, ${authors} authors`, ours)
    rows.push({
      metric: `verifyEvents, batches of ${size}, ${authors === 'few' ? `${FEW_AUTHORS} authors` : 'new authors'}`,
      unit: 'ops/s',
      ours,
      peers: { 'nostr-tools (pure)': pure, 'nostr-tools + nostr-wasm': wasmRate },
      goal: '>= 2.3x nostr-tools (pure) (the issue\'s plain noble batch figure)',
      met: ours >= 2.3 * pure,
    })
  }
}

console.log(`\n  ${`adversarial, batches of ${ADVERSARIAL_BATCH}`.padEnd(44)} ${'ops/s'.padStart(9)} ${'individual'.padStart(11)} ${'work ratio'.padStart(11)}`)
const GOALS: Record<string, [string, number]> = {
  'one bad per 256': ['work < 1x individual verification', 1],
  'all bad, first batch': ['work <= 1.5x individual verification (bound: 1 + 1.5 x batch/single cost)', 1.5],
  'all bad, sustained': ['work <= 1.25x individual verification (the first batch amortised over 4 calls)', 1.25],
}
for (const [name, [goal, limit]] of Object.entries(GOALS)) {
  const ours = m(`${name}: verifyEvents`)
  const individual = m(`${name}: individual`)
  const ratio = individual / ours
  console.log(`  ${name.padEnd(44)} ${fmt(ours).padStart(9)} ${fmt(individual).padStart(11)} ${ratio.toFixed(2).padStart(11)}`)
  rows.push({
    metric: `adversarial: ${name} (calls of ${ADVERSARIAL_BATCH}); work ratio ${ratio.toFixed(2)} of individual verification`,
    unit: 'ops/s',
    ours,
    peers: { 'individual (our verifyEvent)': individual, 'nostr-tools (pure)': pure },
    goal,
    met: limit === 1 ? ratio < 1 : ratio <= limit,
  })
}

console.log(`\n  ${'small inputs: batch of k vs k singles'.padEnd(44)} ${'batch/s'.padStart(9)} ${'singles/s'.padStart(11)} ${'ratio'.padStart(11)}`)
for (const size of SMALL_SIZES) {
  const batch = m(`small ${size}: batch`)
  const singles = m(`small ${size}: singles`)
  console.log(`  ${`k = ${size}`.padEnd(44)} ${fmt(batch).padStart(9)} ${fmt(singles).padStart(11)} ${(batch / singles).toFixed(2).padStart(11)}`)
}
console.log('\n  (work ratio = time of verifyEvents / time of verifying each event alone; below 1 is less work)')

if (process.env.BENCH_JSON) writeFileSync(process.env.BENCH_JSON, `${JSON.stringify({ bench: 'verify', rows }, null, 2)}\n`)
