/**
 * NIP-44 encryption and NIP-59/NIP-17 gift wraps: operations per second, ours against nostr-tools
 * on the same inputs in the same run.
 *
 * - NIP-44 encrypt and decrypt of 100 bytes and 1 KB with a conversation key computed beforehand
 *   (`nip44.encrypt` vs nostr-tools `nip44.v2.encrypt`), and with the key derived for every
 *   message: to the same peer each time (a conversation, what a caller without a key cache does;
 *   from the third derivation on we multiply with a precomputed table of the peer's point), and to
 *   a new peer each time (nothing to reuse). Plus our signer, which caches conversation keys.
 * - Gift wraps of a short chat message to one recipient, again and again (a conversation): NIP-59
 *   `wrapEvent` (one wrap) and NIP-17 (the recipient's wrap and the sender's own copy: ours
 *   `wrapDirectMessage`, nostr-tools `nip17.wrapManyEvents`). Ours seals with a signer (cached
 *   conversation key); nostr-tools takes the secret key.
 * - Opening them: both libraries open the same wraps (fresh copies each; no wrap is opened twice by
 *   one side, made ahead outside the timed stretches). nostr-tools does not
 *   verify the wrap's signature (only the seal's); ours does by default, and skips it with
 *   `wrapVerified: true` — what a client passes for events its relay pool already verified. Both
 *   rows are shown.
 *
 * Each round runs every row once, interleaved, over a fixed number of operations (sized in the
 * warm-up round, which is discarded); the table shows medians.
 *
 * Run: node scripts/run-ts.mjs bench/nip44.bench.ts [--quick]
 * (--quick: 5 measured rounds of shorter stretches, < 60 s; default: 9 rounds.)
 * With BENCH_JSON=<file>, also writes the rows as JSON (see the benchmark conventions).
 *
 * @module
 */
import { writeFileSync } from 'node:fs'
import { availableParallelism, cpus } from 'node:os'
import * as ntNip17 from 'nostr-tools/nip17'
import * as ntNip44 from 'nostr-tools/nip44'
import * as ntNip59 from 'nostr-tools/nip59'
import { getPublicKey as ntGetPublicKey } from 'nostr-tools/pure'
import type { NostrEvent } from '../src/crypto/event.js'
import { generateSecretKey, getPublicKey } from '../src/crypto/keys.js'
import * as nip17 from '../src/crypto/nip17.js'
import * as nip44 from '../src/crypto/nip44.js'
import * as nip59 from '../src/crypto/nip59.js'
import { createSecretKeySigner } from '../src/crypto/secret-key-signer.js'

const quick = process.argv.includes('--quick')
const ROUNDS = quick ? 5 : 9
/** Target duration of one side of one row in one round. */
const STRETCH_MS = quick ? 150 : 500

interface Row {
  metric: string
  unit: 'ops/s' | 'KB' | 'MB' | 's'
  ours: number
  peers: Record<string, number>
  goal: string
  met: boolean | null
}

/** One side of a row: runs `count` operations (the i-th gets index `start + i`). */
type Side = (start: number, count: number) => void | Promise<void>
interface Case {
  name: string
  ours: Side
  peer: Side
  goal: boolean
  /** Opens wraps: both sides get the same, never opened before by that side. */
  opens?: boolean
}

const aliceSk = generateSecretKey()
const bobSk = generateSecretKey()
const bob = getPublicKey(bobSk)
if (ntGetPublicKey(bobSk) !== bob) throw new Error('key mismatch')
const aliceSigner = createSecretKeySigner(aliceSk)
const bobSigner = createSecretKeySigner(bobSk)
const conversationKey = nip44.getConversationKey(aliceSk, bob)
const text100 = 'x'.repeat(100)
const text1k = 'y'.repeat(1024)
// Fresh inputs: payloads and wraps are made ahead, a distinct one per operation.
const PAYLOADS = 4096
const payloads100 = Array.from({ length: PAYLOADS }, () => nip44.encrypt(text100, conversationKey))
const payloads1k = Array.from({ length: PAYLOADS }, () => nip44.encrypt(text1k, conversationKey))
const strangers = Array.from({ length: 600 }, () => getPublicKey(generateSecretKey()))
const chat = { kind: 14, content: 'Hola, que tal? Want to grab lunch tomorrow?', tags: [['p', bob]] }
const wraps: NostrEvent[] = []
const wrapAt = (i: number): NostrEvent => structuredClone(wraps[i % wraps.length]!)

const cases: Case[] = [
  {
    name: 'NIP-44 encrypt 100 B, key cached',
    ours: (_, n) => { for (let i = 0; i < n; i++) nip44.encrypt(text100, conversationKey) },
    peer: (_, n) => { for (let i = 0; i < n; i++) ntNip44.v2.encrypt(text100, conversationKey) },
    goal: true,
  },
  {
    name: 'NIP-44 decrypt 100 B, key cached',
    ours: (s, n) => { for (let i = 0; i < n; i++) nip44.decrypt(payloads100[(s + i) % PAYLOADS]!, conversationKey) },
    peer: (s, n) => { for (let i = 0; i < n; i++) ntNip44.v2.decrypt(payloads100[(s + i) % PAYLOADS]!, conversationKey) },
    goal: true,
  },
  {
    name: 'NIP-44 encrypt 1 KB, key cached',
    ours: (_, n) => { for (let i = 0; i < n; i++) nip44.encrypt(text1k, conversationKey) },
    peer: (_, n) => { for (let i = 0; i < n; i++) ntNip44.v2.encrypt(text1k, conversationKey) },
    goal: true,
  },
  {
    name: 'NIP-44 decrypt 1 KB, key cached',
    ours: (s, n) => { for (let i = 0; i < n; i++) nip44.decrypt(payloads1k[(s + i) % PAYLOADS]!, conversationKey) },
    peer: (s, n) => { for (let i = 0; i < n; i++) ntNip44.v2.decrypt(payloads1k[(s + i) % PAYLOADS]!, conversationKey) },
    goal: true,
  },
  {
    name: 'NIP-44 encrypt 100 B, key derived per message (same peer)',
    ours: (_, n) => { for (let i = 0; i < n; i++) nip44.encrypt(text100, nip44.getConversationKey(aliceSk, bob)) },
    peer: (_, n) => { for (let i = 0; i < n; i++) ntNip44.v2.encrypt(text100, ntNip44.v2.utils.getConversationKey(aliceSk, bob)) },
    goal: true,
  },
  {
    name: 'NIP-44 encrypt 100 B, key derived per message (new peer)',
    ours: (s, n) => { for (let i = 0; i < n; i++) nip44.encrypt(text100, nip44.getConversationKey(aliceSk, strangers[(s + i) % strangers.length]!)) },
    peer: (s, n) => { for (let i = 0; i < n; i++) ntNip44.v2.encrypt(text100, ntNip44.v2.utils.getConversationKey(aliceSk, strangers[(s + i) % strangers.length]!)) },
    goal: true,
  },
  {
    name: 'NIP-44 encrypt 100 B, our signer (cached key) vs derived per message',
    ours: async (_, n) => { for (let i = 0; i < n; i++) await aliceSigner.nip44.encrypt(bob, text100) },
    peer: (_, n) => { for (let i = 0; i < n; i++) ntNip44.v2.encrypt(text100, ntNip44.v2.utils.getConversationKey(aliceSk, bob)) },
    goal: false,
  },
  {
    name: 'NIP-59 gift wrap (one wrap)',
    ours: async (_, n) => { for (let i = 0; i < n; i++) await nip59.wrapEvent(chat, aliceSigner, bob) },
    peer: (_, n) => { for (let i = 0; i < n; i++) ntNip59.wrapEvent(chat, aliceSk, bob) },
    goal: true,
  },
  {
    name: 'NIP-17 message (recipient wrap + own copy)',
    ours: async (_, n) => { for (let i = 0; i < n; i++) await nip17.wrapDirectMessage({ signer: aliceSigner, recipients: [bob], content: chat.content }) },
    peer: (_, n) => { for (let i = 0; i < n; i++) ntNip17.wrapManyEvents(aliceSk, [{ publicKey: bob }], chat.content) },
    goal: true,
  },
  {
    name: 'NIP-59 unwrap (ours verifies wrap + seal, nostr-tools seal only)',
    ours: async (s, n) => { for (let i = 0; i < n; i++) await nip59.unwrapEvent(wrapAt(s + i), bobSigner) },
    peer: (s, n) => { for (let i = 0; i < n; i++) ntNip59.unwrapEvent(wrapAt(s + i), bobSk) },
    goal: true,
    opens: true,
  },
  {
    name: 'NIP-59 unwrap, wrap already verified (both: seal only)',
    ours: async (s, n) => { for (let i = 0; i < n; i++) await nip59.unwrapEvent(wrapAt(s + i), bobSigner, { wrapVerified: true }) },
    peer: (s, n) => { for (let i = 0; i < n; i++) ntNip59.unwrapEvent(wrapAt(s + i), bobSk) },
    goal: true,
    opens: true,
  },
  {
    name: 'NIP-17 unwrap to a message (ours verifies wrap + seal)',
    ours: async (s, n) => { for (let i = 0; i < n; i++) await nip17.unwrapDirectMessage(wrapAt(s + i), bobSigner) },
    peer: (s, n) => { for (let i = 0; i < n; i++) ntNip17.unwrapEvent(wrapAt(s + i), bobSk) },
    goal: true,
    opens: true,
  },
]

async function rate(side: Side, start: number, count: number): Promise<number> {
  const started = performance.now()
  await side(start, count)
  return count / ((performance.now() - started) / 1000)
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}
const fmt = (n: number): string => (n >= 100 ? Math.round(n).toLocaleString('en-US') : n.toFixed(1))

console.log(`NIP-44 and gift wraps: ops/s, medians of ${ROUNDS} rounds (+1 warm-up)`)
console.log(`node ${process.version}, ${availableParallelism()} cores (${cpus()[0]?.model ?? 'unknown CPU'})`)
console.log('The machine may be shared: compare ratios from one run, not absolute figures across runs.\n')

/** Makes wraps to open until there are `count` (outside any timed stretch). */
async function makeWraps(count: number): Promise<void> {
  while (wraps.length < count) {
    const { wrap } = await nip59.wrapEvent(chat, aliceSigner, bob)
    if (ntNip59.unwrapEvent(structuredClone(wrap), bobSk).content !== chat.content) throw new Error('nostr-tools cannot open our wrap')
    wraps.push(wrap)
  }
}
await makeWraps(60) // for the warm-up round; the measured rounds get fresh ones

const counts = cases.map(() => ({ ours: 4, peer: 4 }))
const samples = cases.map(() => ({ ours: [] as number[], peer: [] as number[] }))
let cursor = 0
let wrapCursor = 0
for (let round = 0; round <= ROUNDS; round++) {
  if (round === 1) {
    // Every wrap is opened once per side (a cache of lifted keys must not see a wrap key twice).
    const perRound = cases.reduce((sum, c, i) => sum + (c.opens ? Math.max(counts[i]!.ours, counts[i]!.peer) : 0), 0)
    const started = performance.now()
    wrapCursor = wraps.length
    await makeWraps(wraps.length + ROUNDS * perRound)
    console.log(`(made ${ROUNDS * perRound} wraps to open in ${((performance.now() - started) / 1000).toFixed(1)} s)\n`)
  }
  for (const [i, c] of cases.entries()) {
    const n = counts[i]!
    const start = c.opens ? wrapCursor : cursor
    const ours = await rate(c.ours, start, n.ours)
    const peer = await rate(c.peer, start, n.peer)
    if (c.opens) wrapCursor += Math.max(n.ours, n.peer)
    else cursor += Math.max(n.ours, n.peer)
    if (round === 0) {
      n.ours = Math.max(4, Math.round((ours * STRETCH_MS) / 1000))
      n.peer = Math.max(4, Math.round((peer * STRETCH_MS) / 1000))
      continue
    }
    samples[i]!.ours.push(ours)
    samples[i]!.peer.push(peer)
  }
}

const rows: Row[] = []
const width = Math.max(...cases.map((c) => c.name.length))
console.log(`${'operation'.padEnd(width)} ${'ours'.padStart(10)} ${'nostr-tools'.padStart(12)} ${'ours/peer'.padStart(10)}`)
for (const [i, c] of cases.entries()) {
  const ours = median(samples[i]!.ours)
  const peer = median(samples[i]!.peer)
  console.log(`${c.name.padEnd(width)} ${fmt(ours).padStart(10)} ${fmt(peer).padStart(12)} ${(ours / peer).toFixed(2).padStart(10)}`)
  rows.push({
    metric: c.name,
    unit: 'ops/s',
    ours: Number(ours.toFixed(1)),
    peers: { 'nostr-tools': Number(peer.toFixed(1)) },
    goal: c.goal ? '>= nostr-tools' : 'informative',
    met: c.goal ? ours >= peer : null,
  })
}

if (process.env.BENCH_JSON) {
  writeFileSync(process.env.BENCH_JSON, `${JSON.stringify({ bench: 'nip44', rows }, null, 2)}\n`)
  console.log(`\nwrote ${process.env.BENCH_JSON}`)
}
